"""Compile a generated model: the kernel back-end's sources (targets/c/kernels.py) once per
(sources, flags, compiler) into the shared object cache, then the model's C file; for the
host, a shared library that ``ctypes`` loads (the Cortex-M build, crossbuild.py, links an ELF
from the same pieces with another Toolchain).

The kernel objects live in ``<tflm object cache>/c-<toolchain>-<key>/`` (targets.tflm.fwbuild's
cache root, EDGEKIT_TFLM_OBJECTS overrides it); each is written to a temporary name and
renamed, so concurrent builds sharing the cache never see half an object.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import ToolchainError
from targets.c.kernels import CMSIS_NN, KernelSet, kernel_set
from targets.tflm.toolchain import cache_lock, cache_root, require_tools

DEFINES = ("-DNDEBUG", "-DTF_LITE_STATIC_MEMORY")
WARN = ("-Wall", "-Wextra", "-Werror")
TIMEOUT = 600.0  # seconds for one compiler run


@dataclass(frozen=True)
class Toolchain:
    """Compilers and flags of one build kind; ``name`` names its folder in the object cache."""

    name: str
    cc: str
    cxx: str
    cflags: tuple[str, ...]  # C sources of a kernel back-end
    cxxflags: tuple[str, ...]  # C++ sources of a kernel back-end
    model_cflags: tuple[str, ...]  # the generated model file: C99, every warning an error (the target's promise)

    def flags_for(self, source: Path) -> tuple[str, tuple[str, ...]]:
        """(compiler, flags) of a kernel source, by its suffix."""
        return (self.cc, self.cflags) if source.suffix == ".c" else (self.cxx, self.cxxflags)


def host_toolchain() -> Toolchain:
    """gcc/g++ (or $CC/$CXX) for this machine, position-independent for a shared library."""
    cc, cxx = os.environ.get("CC", "gcc"), os.environ.get("CXX", "g++")
    require_tools(cc, cxx)
    return Toolchain("host", cc, cxx, ("-std=c99", "-O2", "-fPIC", *WARN, *DEFINES),
                     ("-std=c++17", "-O2", "-fPIC", "-fno-exceptions", "-fno-rtti", *WARN, *DEFINES),
                     ("-std=c99", "-O2", "-fPIC", *WARN))  # fmt: skip


def run_tool(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"{what}: the compiler ran for more than {TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        errors = [ln for ln in done.stderr.splitlines() if "error" in ln.lower()] or done.stderr.splitlines()[-3:]
        raise ToolchainError(f"{what} does not compile: {' | '.join(errors[:3])[:600]}")
    return done


def _version(tool: str) -> str:
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=60).stdout
    return out.splitlines()[0] if out else "unknown"


def kernel_key(kset: KernelSet, tc: Toolchain) -> str:
    """sha256 over every file the kernel objects are compiled from (the compilers' own
    dependency lists), the flags and the compilers' versions."""
    h = hashlib.sha256()
    for suffix in (".c", ".cc"):
        srcs = [s for s in kset.sources if s.suffix == suffix]
        if not srcs:
            continue
        tool, flags = tc.flags_for(srcs[0])
        deps = run_tool([tool, *flags, *kset.flags(), "-MM", *map(str, srcs)], f"{kset.kernels} kernel sources").stdout
        files = sorted({p for p in deps.replace("\\\n", " ").split() if not p.endswith(":")})
        for f in files:
            h.update(f.encode() + b"\0" + Path(f).read_bytes() + b"\0")
        h.update("\0".join([suffix, *flags, _version(tool)]).encode())
    h.update("\0".join(kset.defines).encode())
    return h.hexdigest()[:24]


def _object_names(sources: tuple[Path, ...]) -> list[str]:
    """One object name per source: its stem, or stem + a path digest where stems repeat."""
    stems = [s.stem for s in sources]
    return [f"{s.stem}.o" if stems.count(s.stem) == 1 else f"{s.stem}-{hashlib.sha256(str(s).encode()).hexdigest()[:8]}.o"
            for s in sources]  # fmt: skip


def kernel_objects(kset: KernelSet | None = None, tc: Toolchain | None = None, only=None) -> list[Path]:
    """The compiled kernel objects of ``kset`` (default: the portable back-end) for toolchain
    ``tc`` (default: the host), from the cache when present; of the sources in ``only`` alone
    when given (the cache folder is still the whole set's, so other models add to it)."""
    kset = kset if kset is not None else kernel_set("portable")
    tc = tc if tc is not None else host_toolchain()
    out = cache_root() / f"c-{tc.name}-{kernel_key(kset, tc)}"
    pairs = [(src, out / name) for src, name in zip(kset.sources, _object_names(kset.sources))
             if only is None or src in only]  # fmt: skip
    objects = [obj for _, obj in pairs]
    if all(obj.is_file() for obj in objects):
        return objects
    out.mkdir(parents=True, exist_ok=True)
    with cache_lock(out):  # a second build of the same kernels waits for these, not compiles them again
        for src, obj in pairs:
            if not obj.is_file():
                tmp = obj.with_name(f"{obj.name}.tmp{os.getpid()}")
                tool, flags = tc.flags_for(src)
                run_tool([tool, *flags, *kset.flags(), "-c", str(src), "-o", str(tmp)], str(src))
                os.replace(tmp, obj)
    return objects


def used_sources(kset: KernelSet, model_c: Path) -> set[Path]:
    """The sources of ``kset`` the model file needs: all but CMSIS-NN's library files, of which
    only those it calls into, transitively (as the firmware builds pick them)."""
    from targets.tflm.firmware import cmsis_nn_sources

    root = kset.root.resolve()
    library = root / CMSIS_NN / "Source"
    rest = [s for s in kset.sources if not s.resolve().is_relative_to(library)]
    callers = [str(Path(model_c).resolve()), *(str(s.resolve()) for s in rest)]
    used = {(root / rel).resolve() for rel in cmsis_nn_sources(root, callers)}
    return {*rest, *(s for s in kset.sources if s.resolve() in used)}


def compile_model(source: Path, out_dir: Path, kset: KernelSet, tc: Toolchain) -> Path:
    """The model's C file compiled (its header beside it) to ``out_dir/<stem>.c.o``."""
    obj = out_dir / f"{source.stem}.c.o"
    run_tool([tc.cc, *tc.model_cflags, *kset.flags(), f"-I{source.parent}", "-c", str(source), "-o", str(obj)], str(source))
    return obj


def shared_library(source: Path, out_dir: Path, root: Path | None = None, kernels: str = "portable") -> Path:
    """Compile the model's C file and link it with the back-end's kernel objects into
    ``out_dir/lib<stem>.so``."""
    tc = host_toolchain()
    kset = kernel_set(kernels, root)
    objects = kernel_objects(kset, tc, only=used_sources(kset, source))
    obj = compile_model(source, out_dir, kset, tc)
    lib = out_dir / f"lib{source.stem}.so"
    run_tool([tc.cxx, "-shared", "-o", str(lib), str(obj), *map(str, objects)], f"linking {source.name}")
    return lib

