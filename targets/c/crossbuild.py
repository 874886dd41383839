"""Build a generated model for an emulated Cortex-M board (targets/tflm/boards.py) and run it
under QEMU: the model file, the kernel back-end's sources (targets/c/kernels.py), a main that
reads samples over semihosting (firmware/templates/c/main.c.j2), and the TFLM firmware's
start-up code, linker script and instruction timer (firmware/templates/project/).

Flags are the TFLM firmware's for the same board, so the two builds compare like for like:
the kernels at its kernel -O2 and its defines (no NDEBUG: TFLM's DCHECKs stay in, as in its
firmware), TFLM's own files taken from (or compiled into) its object cache with exactly its
flags, the model file and main at its application -Os. Measured from the linked ELF (map file:
flash and static RAM per component) and one QEMU run (stack high-water mark, instructions).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path

from edgekit import __version__
from targets.c.hostbuild import WARN, Toolchain, compile_model, kernel_objects, run_tool
from targets.c.kernels import KernelSet, kernel_set
from targets.tflm.boards import Board, Flags, flags_for, get_board
from targets.tflm.firmware import INPUTS_FILE, STACK_SIZE
from targets.tflm.fwbuild import compiler_version, elf_sizes, object_key
from targets.tflm.fwsize import components
from targets.tflm.sources import c_comment, template_env
from targets.tflm.toolchain import cache_lock, cache_root, require_tools

SIZES = "size.json"
_TFLM_KERNELS = {"portable": "reference", "cmsis-nn": "cmsis-nn"}  # the TFLM build with the same kernels
_MICRO_KERNELS = "tensorflow/lite/micro/kernels/"
_CMSIS_NN_LIB = "third_party/cmsis_nn/"  # TFLM's firmware compiles CMSIS-NN's library with its kernels' -O
# The TFLM firmware's defines, TF_LITE_MCU_DEBUG_LOG included: a failed DCHECK halts through
# TFLM's AbortImpl (MicroPrintf "HALTED") as in its firmware. Measured: with newlib's abort()
# instead, GCC lays out the kernels' loops differently (ConvPerChannel 14 B longer, KWS +0.7%
# instructions). MicroPrintf comes with TFLM's own log files (_LOG_SOURCES).
_DROP = ("-DPROJECT_GENERATION",)
# Per-op instruction counts (the model file's EK_OP_TICK, printed by main.c like the TFLM
# firmware's profiler): the counter reads between the ops are in the measured inference, as
# TFLM's profiler calls are in its firmware's count.
OP_TICKS = "-DEDGEKIT_OP_TICKS"
_LOG_SOURCES = ("tensorflow/lite/micro/micro_log.cc", "tensorflow/lite/micro/cortex_m_generic/debug_log.cc")


def tflm_flags(board: Board, kernels: str) -> Flags:
    """The TFLM firmware's flags of ``board`` with the TFLM kernels matching c ``kernels``."""
    return flags_for(board, _TFLM_KERNELS[kernels])


def cross_toolchain(board: Board, kernels: str = "portable") -> Toolchain:
    """arm-none-eabi-gcc with the TFLM firmware's flags of ``board``."""
    f = tflm_flags(board, kernels)
    defines = tuple(d for d in f.defines if d not in _DROP)
    common = (*f.cpu, *defines, *f.common)
    return Toolchain(f"{board.name}", "arm-none-eabi-gcc", "arm-none-eabi-g++",
                     (*common, *f.c, f.kernel_opt), (*common, *f.cxx, f.kernel_opt, *WARN),
                     (*f.cpu, *f.common, "-std=c99", f.app_opt, *WARN))  # fmt: skip


def tflm_objects(root: Path, board: Board, kernels: str, rels: list[str]) -> list[Path]:
    """TFLM's own files (paths relative to ``root``) as the TFLM firmware compiles them: the
    objects of its cache (targets/tflm/fwbuild.py, same key), compiled there when missing with
    the project Makefile's command (kernels at its kernel -O, the rest at its runtime -O)."""
    f = tflm_flags(board, kernels)
    out = cache_root() / object_key(root, f, compiler_version())
    includes = [f"-I{root / inc}" if inc else f"-I{root}" for inc in f.includes]
    objects = [out / Path(rel).with_suffix(".o") for rel in rels]
    if all(obj.is_file() for obj in objects):
        return objects
    with cache_lock(out):
        for rel, obj in zip(rels, objects):
            _compile_tflm_object(root, rel, obj, f, includes)
    return objects


def _compile_tflm_object(root: Path, rel: str, obj: Path, f: Flags, includes: list[str]) -> None:
    """One TFLM file into the cache, unless it is there (another build may have made it)."""
    if obj.is_file():
        return
    obj.parent.mkdir(parents=True, exist_ok=True)
    opt = f.kernel_opt if rel.startswith((_MICRO_KERNELS, _CMSIS_NN_LIB)) else f.core_opt
    tool, lang = ("arm-none-eabi-gcc", f.c) if rel.endswith(".c") else ("arm-none-eabi-g++", f.cxx)
    tmp = obj.with_name(f"{obj.name}.tmp{os.getpid()}")
    run_tool([tool, opt, *f.cpu, *f.defines, *f.common, *lang, *includes, "-c", str(root / rel), "-o", str(tmp)], rel)
    os.replace(tmp, obj)


def _split(kset: KernelSet, model_c: Path) -> tuple[KernelSet, list[str]]:
    """(the back-end's own sources, the TFLM tree's files it lists, relative to the tree). Of
    CMSIS-NN's library only the files the model file calls into, transitively (as the TFLM
    firmware picks them: targets.tflm.firmware.cmsis_nn_sources)."""
    from targets.tflm.firmware import cmsis_nn_sources

    root = kset.root.resolve()
    tflm = [s for s in kset.sources if s.resolve().is_relative_to(root)]
    own = tuple(s for s in kset.sources if s not in tflm)
    rels = [s.resolve().relative_to(root).as_posix() for s in tflm]
    if any(r.startswith(_CMSIS_NN_LIB) for r in rels):
        used = set(cmsis_nn_sources(root, [str(model_c)]))
        rels = [r for r in rels if not r.startswith(_CMSIS_NN_LIB) or r in used]
    return replace(kset, sources=own), rels


@dataclass(frozen=True)
class CrossBuild:
    """A linked firmware of one generated model: ``elf`` and its measurements (``record``)."""

    directory: Path
    elf: Path
    board: Board
    record: dict


def render_app(model, graph, board: Board, model_name: str) -> dict:
    """main.c, startup.c, edgekit_timer.c and board.ld of a CModel ``model`` (of TFLiteGraph ``graph``)."""
    sg = graph.main
    ins = [{"name": n, "bytes": sg.tensors[t].nbytes} for n, t in zip(_io_names("input", len(sg.inputs)), sg.inputs)]
    outs = [{"name": n, "bytes": sg.tensors[t].nbytes} for n, t in zip(_io_names("output", len(sg.outputs)), sg.outputs)]
    name = model.name
    banner = (f"/* Generated by edgekit {__version__}: standalone C firmware for {c_comment(model_name)} on {board.name}.\n"
              " * Do not edit. */")  # fmt: skip
    common = {"banner": banner, "name": name, "NAME": name.upper(), "board": board, "model_name": c_comment(model_name),
              "inputs_file": INPUTS_FILE, "version": __version__}  # fmt: skip
    env = template_env()
    args = ", ".join(f"{name}_{t['name']}()" for t in (*ins, *outs))
    return {
        "main.c": env.get_template("c/main.c.j2").render(**common, inputs=ins, outputs=outs, args=args),
        "startup.c": env.get_template("project/startup.c.j2").render(**common),
        "edgekit_timer.c": env.get_template("project/edgekit_timer.c.j2").render(**common),
        "board.ld": env.get_template("project/board.ld.j2").render(**common, stack_size=STACK_SIZE),
    }


def _io_names(kind: str, n: int) -> list[str]:
    """The generated header's names of the inputs/outputs (targets/c/generate.py)."""
    return [kind] if n == 1 else [f"{kind}{k}" for k in range(n)]


def build(model, graph, out: Path, *, board: str = "mps2-an386", model_name: str = "model",
          root: Path | None = None) -> CrossBuild:  # fmt: skip
    """Write and link the firmware of CModel ``model`` in ``out``; flash and static RAM per
    component from the map, in ``out/size.json``."""
    require_tools("arm-none-eabi-gcc", "arm-none-eabi-g++", "arm-none-eabi-size", "arm-none-eabi-nm")
    b = get_board(board)
    kernels = model.metadata()["kernels"]
    kset = kernel_set(kernels, root)
    tc = cross_toolchain(b, kernels)
    start = time.perf_counter()
    out = Path(out).resolve()
    (out / "build").mkdir(parents=True, exist_ok=True)
    files = {**model.files, **render_app(model, graph, b, model_name)}
    if model.measured_c:  # the same file with the per-op counter, which OP_TICKS turns on
        files[f"{model.name}.c"] = model.measured_c
    for fname, text in files.items():
        (out / fname).write_text(text)
    own, tflm_rels = _split(kset, out / f"{model.name}.c")
    kernel_objs = kernel_objects(own, tc) if own.sources else []
    tflm_objs = tflm_objects(kset.root, b, kernels, [*tflm_rels, *_LOG_SOURCES])
    ticks = (OP_TICKS,) if model.measured_c else ()
    model_obj = compile_model(out / f"{model.name}.c", out / "build", kset,
                              replace(tc, model_cflags=(*tc.model_cflags, *ticks)))  # fmt: skip
    app = []
    f = tflm_flags(b, kernels)
    for src in ("main.c", "startup.c", "edgekit_timer.c"):
        obj = out / "build" / f"{src}.o"
        run_tool([tc.cc, *f.cpu, *f.common, *f.c, f.app_opt, *ticks, f"-I{out}", "-c", str(out / src), "-o", str(obj)], src)
        app.append(obj)
    elf, fwmap = out / "build" / "fw.elf", out / "build" / "fw.map"
    linker = tc.cxx if any(s.suffix == ".cc" for s in kset.sources) else tc.cc
    objs = [*app, model_obj, *kernel_objs, *tflm_objs]
    run_tool([linker, *f.cpu, *f.ld, "-T", str(out / "board.ld"), f"-Wl,-Map={fwmap}", *map(str, objs), *f.libs,
              "-o", str(elf)], f"linking {model.name}")  # fmt: skip
    known = {str(model_obj): ("model", "model (weights, parameters, invoke)"),
             **{str(o): ("kernels", o.stem) for o in (*kernel_objs, *tflm_objs)}}  # fmt: skip
    known.update({str(o): ("application", o.name.removesuffix(".o")) for o in app})
    parts = components(fwmap.read_text(errors="replace"), name=model.name, objects="", known=known,
                       flash=(b.flash_origin, b.flash_size), ram=(b.ram_origin, b.ram_size), rodata=b.rodata,
                       arena=f"{model.name}_arena")  # fmt: skip
    sizes = elf_sizes(elf, f"{model.name}_arena")
    record = {"board": b.name, "core": b.core, "kernels": kernels, "compiler": compiler_version(),
              "build_seconds": round(time.perf_counter() - start, 1), "arena_size": model.plan.size,
              "stack_size": STACK_SIZE, "components": {"flash": parts["flash"], "ram": parts["ram"]},
              **{k: sizes[k] for k in ("text", "data", "bss", "flash", "ram_static")}}  # fmt: skip
    (out / "build" / SIZES).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return CrossBuild(out, elf, b, record)


_STACK = re.compile(r"^edgekit-fw stack (\d+) (\d+)$", re.M)
_HEAP = re.compile(r"^edgekit-fw heap (\d+)$", re.M)


def run_memory(text: str) -> dict:
    """Stack high-water mark and heap of a run's output (startup.c prints them after main)."""
    stack, heap = _STACK.search(text), _HEAP.search(text)
    return {"stack_used": int(stack.group(1)) if stack else None, "stack_size": int(stack.group(2)) if stack else None,
            "heap_used": int(heap.group(1)) if heap else None}  # fmt: skip
