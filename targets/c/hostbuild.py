"""Compile a generated model for the host: the kernel shim (and the TFLM file it links
against) once per (sources, flags, compiler) into the shared object cache, then the
model's C file and a shared library that ``ctypes`` loads.

The kernel objects live in ``<tflm object cache>/c-host-<key>/`` (targets.tflm.fwbuild's
cache root, EDGEKIT_TFLM_OBJECTS overrides it); each is written to a temporary name and
renamed, so concurrent builds sharing the cache never see half an object.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from edgekit.errors import OptionError, ToolchainError
from targets.tflm.firmware import check_tflm_root, default_tflm_root
from targets.tflm.toolchain import cache_root, require_tools
from targets.tflm.sources import firmware_root

SHIM = firmware_root() / "c" / "portable"
# The TFLM files the reference kernels call out of their headers (MultiplyByQuantizedMultiplier).
TFLM_SOURCES = ("tensorflow/lite/kernels/internal/common.cc",)
DEFINES = ("-DNDEBUG", "-DTF_LITE_STATIC_MEMORY")
CXXFLAGS = ("-std=c++17", "-O2", "-fPIC", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra", "-Werror", *DEFINES)
# The generated model file: C99, every warning an error (the target's promise to users).
CFLAGS = ("-std=c99", "-O2", "-fPIC", "-Wall", "-Wextra", "-Werror")
# CMSIS-NN: third-party C (its warnings are not the model's), built as its own CMake does.
CMSIS_NN = "third_party/cmsis_nn"
CMSIS_CFLAGS = ("-std=c99", "-O2", "-fPIC")
TIMEOUT = 600.0  # seconds for one compiler run


def _tools() -> tuple[str, str]:
    cc, cxx = os.environ.get("CC", "gcc"), os.environ.get("CXX", "g++")
    require_tools(cc, cxx)
    return cc, cxx


def _includes(root: Path) -> list[str]:
    # -isystem: warnings inside TFLM's headers are TFLM's, not the shim's.
    return [f"-I{SHIM}", "-isystem", str(root), *(a for d in ("gemmlowp", "ruy") for a in ("-isystem", str(root / "third_party" / d)))]


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess:
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


def kernel_sources(root: Path, kernels: str = "portable") -> list[Path]:
    """Every kernel source a model of the ``kernels`` back-end links against (the one list the
    host and the Cortex-M builds compile): the portable shim and the TFLM file it calls, and for
    cmsis-nn the CMSIS-NN library (``root`` is then a TFLM tree that holds it, see cmsis_root)."""
    out = [SHIM / "ek_kernels.cc", *(root / s for s in TFLM_SOURCES)]
    if kernels == "cmsis-nn":
        out += sorted((root / CMSIS_NN / "Source").rglob("*.c"))
    return out


def cmsis_root(root: Path | None = None) -> Path:
    """The TFLM tree with CMSIS-NN in third_party/ (../shared/tflm/cmsis_nn by default)."""
    root = check_tflm_root(root if root is not None else default_tflm_root("cmsis-nn"))
    if not (root / CMSIS_NN / "Include" / "arm_nnfunctions.h").is_file():
        raise OptionError(f"{root}: no {CMSIS_NN}/Include/arm_nnfunctions.h; give the TFLM tree made with "
                          "OPTIMIZED_KERNEL_DIR=cmsis_nn (../shared/tflm/cmsis_nn)")  # fmt: skip
    return root


def cmsis_includes(root: Path) -> list[str]:
    """The include folder the generated model file and CMSIS-NN's sources need."""
    return [f"-I{root / CMSIS_NN / 'Include'}", f"-I{root / CMSIS_NN}"]


def kernel_includes(root: Path, kernels: str = "portable") -> list[str]:
    """The include flags every source of kernel_sources(root, kernels) and the model file
    compile with (the Cortex-M builds use them too)."""
    return [*_includes(root), *(cmsis_includes(root) if kernels == "cmsis-nn" else [])]


def cmsis_key(root: Path, cc: str) -> str:
    """sha256 over the CMSIS-NN folder's files (its sources include only its own headers and
    the C library), the flags and the compiler version."""
    h = hashlib.sha256()
    base = root / CMSIS_NN
    for f in sorted(p for p in base.rglob("*") if p.is_file()):
        h.update(f.relative_to(base).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    h.update("\0".join([*CMSIS_CFLAGS, _version(cc)]).encode())
    return h.hexdigest()[:24]


def _compile_cached(out: Path, sources: list[Path], cmd) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    objects = []
    for src in sources:
        obj = out / (src.stem + ".o")
        if not obj.is_file():
            tmp = obj.with_name(f"{obj.name}.tmp{os.getpid()}")
            _run([*cmd, "-c", str(src), "-o", str(tmp)], str(src))
            os.replace(tmp, obj)
        objects.append(obj)
    return objects


def cmsis_objects(root: Path | None = None) -> list[Path]:
    """CMSIS-NN compiled as plain C for the host (no DSP/MVE: the reference code paths), cached."""
    cc, _ = _tools()
    root = cmsis_root(root)
    srcs = [s for s in kernel_sources(root, "cmsis-nn") if s.suffix == ".c"]
    out = cache_root() / f"cmsis-nn-host-{cmsis_key(root, cc)}"
    return _compile_cached(out, srcs, [cc, *CMSIS_CFLAGS, *cmsis_includes(root)])


def kernel_key(root: Path, cxx: str) -> str:
    """sha256 over every file the kernel objects are compiled from (the compiler's own
    dependency list), the flags and the compiler version."""
    h = hashlib.sha256()
    for src in kernel_sources(root):
        deps = _run([cxx, *CXXFLAGS, *_includes(root), "-MM", str(src)], str(src)).stdout
        files = sorted({p for p in deps.replace("\\\n", " ").split()[1:]})
        for f in files:
            h.update(f.encode() + b"\0" + Path(f).read_bytes() + b"\0")
    h.update("\0".join([*CXXFLAGS, _version(cxx)]).encode())
    return h.hexdigest()[:24]


def kernel_objects(root: Path | None = None) -> list[Path]:
    """The compiled kernel objects (from the cache when present)."""
    _, cxx = _tools()
    root = check_tflm_root(root if root is not None else default_tflm_root("reference"))
    out = cache_root() / f"c-host-{kernel_key(root, cxx)}"
    return _compile_cached(out, kernel_sources(root), [cxx, *CXXFLAGS, *_includes(root)])


def shared_library(source: Path, out_dir: Path, root: Path | None = None, kernels: str = "portable") -> Path:
    """Compile the model's C file (C99, -Wall -Wextra -Werror) and link it with the kernel
    objects (the portable shim always: ops CMSIS-NN lacks run there) into ``out_dir/lib<stem>.so``."""
    cc, cxx = _tools()
    objects = kernel_objects(root)
    extra = []
    if kernels == "cmsis-nn":
        objects += cmsis_objects()
        extra = cmsis_includes(cmsis_root())
    obj = out_dir / f"{source.stem}.o"
    _run([cc, *CFLAGS, f"-I{SHIM}", *extra, f"-I{source.parent}", "-c", str(source), "-o", str(obj)], str(source))
    lib = out_dir / f"lib{source.stem}.so"
    _run([cxx, "-shared", "-o", str(lib), str(obj), *map(str, objects)], f"linking {source.name}")
    return lib
