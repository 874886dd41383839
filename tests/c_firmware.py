"""The standalone C next to the TFLM firmware of the same model on the emulated Cortex-M4
(issue 17 item 3c): flash, RAM and instructions per inference of each build, measured, and
the C's outputs against the Python TFLM interpreter.

- flash: the runtime + kernels + model components of the linked ELF's map (the issue's
  comparison; the application, C library and start-up are the same harness in both builds and
  are reported apart as ``flash_elf``, the whole image).
- RAM: arena + static data + the stack's high-water mark. TFLM: the exact 32-bit arena
  (bisected on the emulated core, targets/tflm/fwmeasure.py), the other .data/.bss without the
  measurement harness's per-op profiler (main.cc's ``profiler``: ~22 B per op); the C: the planned
  arena (exact by construction) and its other .data/.bss without its per-op counter's readings
  (``NAME_op_ticks``: 8 B per op + 8). The heap newlib's stdio takes is left
  out of both (the same harness).
- instructions: QEMU -icount timer ticks around Invoke / NAME_invoke, median over the samples;
  both with their per-op counts (TFLM's profiler; the C's counter reads between its ops), per
  op of the first sample in ``ops``.

Used by tests/targets/c/test_c_firmware.py and benchmarks/c_firmware.py (the docs table).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np

from tests import firmware_matrix
from tests.firmware_matrix import Case, built_project, model_bytes  # noqa: F401  (the same models and inputs)

# The firmware matrix's int8 models, and the digits example as int16x8 (the c target's other scheme).
_DIGITS = firmware_matrix.CASES["digits"]
CASES = {**firmware_matrix.CASES, "digits_int16x8": Case("digits_int16x8", None, _DIGITS.inputs, quant="int16x8")}

BOARD = "mps2-an386"
CONFIGS = (("tflm", "reference"), ("tflm", "cmsis-nn"), ("c", "portable"), ("c", "cmsis-nn"))
# (config, the configuration it is compared with: the TFLM build with the same kernels)
SAME_KERNELS = {("c", "portable"): ("tflm", "reference"), ("c", "cmsis-nn"): ("tflm", "cmsis-nn")}
_FLASH = ("model", "runtime", "kernels")


def _symbol_bytes(elf: Path, pattern: str) -> int:
    out = subprocess.run(["arm-none-eabi-nm", "-S", "-t", "d", str(elf)], capture_output=True, text=True, timeout=60).stdout
    return sum(int(m.group(1)) for m in re.finditer(rf"^\d+ (\d+) [bBdD] (\S*{pattern}\S*)$", out, re.M))


def _group(parts: dict, groups=_FLASH) -> int:
    return sum(sum(parts.get(g, {}).values()) for g in groups)


def _run(runner, inputs: list[np.ndarray]) -> tuple[list[np.ndarray], dict]:
    got = runner.run(inputs)
    s = runner.device_summary()
    ops = [[o["op"], o["instructions"]] for o in runner.first_run_ops() if o["depth"] == 0]
    return got, {"instructions": s["instructions_per_inference"], "stack": s["stack_high_water"], "ops": ops}


def measure_tflm(data: bytes, name: str, kernels: str, inputs, work: Path, bisect: bool = True) -> dict:
    """The TFLM firmware of ``data`` with ``kernels`` on the M4: sizes, exact arena, run."""
    from targets.tflm.fwmeasure import bisect_arena

    project = work / f"{name}-tflm-{kernels}"
    _, sizes, qemu = built_project(data, name, BOARD, kernels, project)
    got, run = _run(qemu, inputs)
    arena_array = sum(sizes["components"]["ram"].get("arena", {}).values())
    profiler = _symbol_bytes(project / "build" / "fw.elf", "profiler")
    arena = bisect_arena(project)["arena_32bit"] if bisect else qemu.arena_used
    static = sizes["ram_static"] - arena_array - profiler
    return {"config": f"tflm {kernels}", "flash": _group(sizes["components"]["flash"]), "flash_elf": sizes["flash"],
            "arena": arena, "static": static, "stack": run["stack"], "ram": arena + static + run["stack"],
            "instructions": run["instructions"], "ops": run["ops"], "harness_profiler_bytes": profiler, "outputs": got,
            "arena_exact": bisect}  # fmt: skip


def measure_c(data: bytes, name: str, kernels: str, inputs, work: Path) -> dict:
    """The standalone C of ``data`` with ``kernels`` on the M4: sizes and run."""
    from edgekit.tflite_graph import TFLiteGraph
    from targets.c.crossbuild import build
    from targets.c.generate import generate
    from targets.c.qemu_runner import CQemuRunner

    model = generate(data, name=name, model_name=f"{name}.tflite", kernels=kernels)
    graph = TFLiteGraph(data, name)
    fw = build(model, graph, work / f"{name}-c-{kernels}", board=BOARD, model_name=f"{name}.tflite")
    qemu = CQemuRunner()
    qemu.use_elf(fw.elf, fw.board, kernels, graph)
    got, run = _run(qemu, inputs)
    rec = fw.record
    arena = model.plan.size
    counter = _symbol_bytes(fw.elf, "_op_ticks")  # the per-op counter's readings, as TFLM's profiler: not counted
    static = rec["ram_static"] - sum(rec["components"]["ram"].get("arena", {}).values()) - counter
    return {"config": f"c {kernels}", "flash": _group(rec["components"]["flash"]), "flash_elf": rec["flash"],
            "arena": arena, "static": static, "harness_counter_bytes": counter, "stack": run["stack"], "ram": arena + static + run["stack"],
            "instructions": run["instructions"], "ops": run["ops"], "lower_bound": model.plan.lower_bound, "outputs": got}  # fmt: skip


def interpreter_outputs(data: bytes, inputs) -> list[np.ndarray]:
    from targets.tflm.runner import TFLMRunner

    host = TFLMRunner()
    host.load_bytes(data)
    try:
        return host.run(inputs)
    finally:
        host.close()


def run_model(case, data: bytes, work: Path, n: int, configs=CONFIGS, bisect: bool = True,
              known: dict | None = None) -> dict:  # fmt: skip
    """Every configuration of one model on the same ``n`` samples; per configuration its record
    (or ``error``), the C's differing output values against the TFLM interpreter, and the
    ratios to the TFLM build with the same kernels. ``known``: configuration -> a record of an
    earlier run on the same inputs, taken instead of building it again."""
    inputs, what = case.inputs(n)
    want = interpreter_outputs(data, inputs)
    out = {"model": case.name, "quant": case.quant, "inputs": what, "samples": n, "configs": {}}
    for fmt, kernels in configs:
        key = f"{fmt} {kernels}"
        if known and key in known:
            out["configs"][key] = known[key]
            continue
        try:
            rec = (measure_tflm(data, case.name, kernels, inputs, work, bisect) if fmt == "tflm"
                   else measure_c(data, case.name, kernels, inputs, work))  # fmt: skip
        except Exception as e:  # noqa: BLE001 - a failing build is a row of the table
            out["configs"][key] = {"config": key, "error": f"{type(e).__name__}: {e}"[:300]}
            continue
        got = rec.pop("outputs")
        rec["values_differing"] = int(sum((g != w).sum() for g, w in zip(got, want)))
        rec["values"] = int(sum(w.size for w in want))
        out["configs"][key] = rec
    for (fmt, kernels), (bfmt, bkernels) in SAME_KERNELS.items():
        rec, base = out["configs"].get(f"{fmt} {kernels}"), out["configs"].get(f"{bfmt} {bkernels}")
        if rec and base and "error" not in rec and "error" not in base:
            rec = out["configs"][f"{fmt} {kernels}"] = dict(rec)
            rec["ratio"] = {k: round(rec[k] / base[k], 3) for k in ("flash", "ram", "instructions", "flash_elf")}
    return out


def table(models: list[dict]) -> str:
    """The markdown table: model x configuration x {flash, RAM, instructions} with the C's ratios."""
    head = ("| model | build | flash: model + runtime + kernels | RAM: arena + static + stack | instructions / inference | "
            "c / TFLM (same kernels): flash, RAM, instructions | whole ELF | vs TFLM interpreter |\n"
            "|---|---|---|---|---|---|---|---|")  # fmt: skip
    rows = []
    for m in models:
        for key, r in m["configs"].items():
            if "error" in r:
                rows.append(f"| {m['model']} | {key} | {r['error']} | | | | | |")
                continue
            ratio = r.get("ratio")
            ratios = f"{ratio['flash']:.2f}x, {ratio['ram']:.2f}x, {ratio['instructions']:.3f}x" if ratio else ""
            agree = "identical" if not r["values_differing"] else f"{r['values_differing']} of {r['values']} differ"
            rows.append(f"| {m['model']} | {key} | {r['flash']:,} | {r['ram']:,} = {r['arena']:,} + {r['static']:,} + "
                        f"{r['stack']:,} | {r['instructions']:,} | {ratios} | {r['flash_elf']:,} | {agree} |")  # fmt: skip
    return "\n".join([head, *rows])


def summary(models: list[dict]) -> dict:
    """Median and worst ratio per quantity of each C configuration over the int8 models (the
    issue's targets are int8's; the int16x8 rows stand in the table on their own)."""
    out = {}
    int8 = [m for m in models if m.get("quant", "int8") == "int8"]
    for key in ("c portable", "c cmsis-nn"):
        ratios = [m["configs"][key]["ratio"] for m in int8 if "ratio" in m["configs"].get(key, {})]
        if ratios:
            out[key] = {q: {"median": float(np.median([r[q] for r in ratios])), "max": max(r[q] for r in ratios)}
                        for q in ("flash", "ram", "instructions")}  # fmt: skip
    return out
