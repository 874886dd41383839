"""Latency estimate of an int8 TFLite Micro model on a device profile, op by op.

cycles(op) = sum_f cycles_per_unit_f * count_f(op) (features: edgekit.simulate.op_features),
with coefficients fitted to published MLPerf Tiny results (edgekit.simulate.latency_fit).
A profile is costed with the coefficients of the calibrated board its kernel library maps
to (``[[basis]]`` in edgekit/simulate/cost_model/published_latency.toml); a different core is scaled
by its cycles relative to that board's core, measured from stacks published on both.
Every estimate states that basis and the board's leave-one-model-out error, because that is
how far off it typically is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from edgekit.simulate.latency_fit import COEFFICIENTS
from edgekit.simulate.op_features import FEATURES, op_work

HOTTEST = 10


@lru_cache(maxsize=1)
def coefficients() -> dict:
    """The fitted coefficients shipped with edgekit."""
    return json.loads(COEFFICIENTS.read_text())


@dataclass(frozen=True)
class Basis:
    """How one device is costed: cycles per feature unit and where they come from."""

    cycles: np.ndarray
    board: str
    core_factor: float
    loo_error: float
    text: str


def _core_key(core: str) -> str:
    return core.strip().lower().replace("cortex-", "").replace(" ", "")


def basis_for(device) -> Basis | str:
    """The coefficients for ``device``, or the reason it cannot be estimated."""
    c = coefficients()
    rules = [b for b in c["basis"] if b["kernels"] == device.kernels]
    exact = [b for b in rules if "core" in b and _core_key(b["core"]) == _core_key(device.core)]
    generic = [b for b in rules if "core" not in b]
    rule = (exact or generic or [None])[0]
    if rule is None:
        return f"no calibration for {device.kernels} kernels (no published TFLM results use them)"
    board = c["boards"][rule["board"]]
    factors = {_core_key(k): v["factor"] for k, v in c["core_factors"].items()}
    same_core = _core_key(board["core"]) == _core_key(device.core)
    if same_core:
        factor = 1.0
    elif _core_key(device.core) in factors and _core_key(board["core"]) in factors:
        factor = factors[_core_key(device.core)] / factors[_core_key(board["core"])]
    else:
        return (f"no published results relate {device.core} to {board['core']} "
                f"(the core of {rule['board']}, calibrated for {device.kernels} kernels)")  # fmt: skip
    by_instructions = _instruction_basis(c, rule["board"], device, factor, same_core, rule.get("source") == "instructions")
    if by_instructions is not None:
        return by_instructions
    cycles = np.array([board["cycles"][f] for f in FEATURES]) * factor
    text = f"{rule['board']} ({board['core']}, {board['stack']})"
    if not same_core:
        text += f" x {factor:.3g} for {device.core} cycles (same-stack published ratios)"
    return Basis(cycles, rule["board"], factor, board["loo_median_abs_error"], text)


def _instruction_basis(c: dict, name: str, device, factor: float, same_core: bool, required: bool) -> Basis | str | None:
    """cycles = instructions x CPI: the instructions of ``device.kernels`` on the board's core
    per op-feature unit (fitted to per-op QEMU counts) x the board's cycles per instruction
    (fitted to its published latencies). None (use the op-feature cycles) where it is not
    ``required`` and its held-out error is not lower."""
    from edgekit.simulate.icount_fit import EMULATED

    im = c.get("instruction_model", {}).get(name) or {}
    shown = im.get("library_shown")
    per_feature = c.get("instructions_per_feature", {}).get(EMULATED.get(im.get("core", ""), ""), {}).get(device.kernels)
    if shown is None or per_feature is None:
        return f"no instruction counts to cost {device.kernels} kernels (tools/measure_icount.py, make calibrate)" if required else None
    if device.kernels == shown:
        typical = im["features_loo_median_abs_error"]
    else:  # another library's instructions at this library's CPI: both errors
        instr_loo = float(np.median([abs(r["loo_error"]) for r in per_feature["results"].values()]))
        typical = instr_loo + im["fits"][shown]["loo_median_abs_error"]
    if not required and not typical < c["boards"][name]["loo_median_abs_error"]:
        return None
    cpi = im["features_cpi"] if device.kernels == shown else im["fits"][shown]["cpi"]
    cycles = np.array([per_feature["instructions"][f] for f in FEATURES]) * cpi * factor
    text = (f"{device.kernels} instructions on {EMULATED[im['core']]} (op features fitted to QEMU counts) x {cpi:.3g} "
            f"cycles per instruction of {name} ({im['core']}, {shown}"
            + (")" if device.kernels == shown else f"; assumed alike for {device.kernels} code)"))  # fmt: skip
    if not same_core:
        text += f" x {factor:.3g} for {device.core} cycles (same-stack published ratios)"
    return Basis(cycles, name, factor, typical, text)


def estimate_graph(graph, device, hottest: int = HOTTEST) -> dict:
    """Estimated latency of ``graph`` (a TFLiteGraph) on ``device``, with the costliest ops."""
    scheme = graph.quant_scheme()
    if scheme != "int8":
        return {"applies": False, "why": f"{scheme} model: the cost model is calibrated on int8 kernels only"}
    basis = basis_for(device)
    if isinstance(basis, str):
        return {"applies": False, "why": basis}
    work = op_work(graph)
    per_op = [float(np.dot(basis.cycles, w.counts)) for w in work]
    total = sum(per_op)
    ms = total / (device.clock_mhz * 1e3)
    order = sorted(range(len(work)), key=lambda i: (-per_op[i], i))
    ops = [{"index": work[i].index, "op": work[i].opcode, "name": work[i].name, "cycles": round(per_op[i]),
            "ms": per_op[i] / (device.clock_mhz * 1e3), "share": per_op[i] / total if total else 0.0,
            "work": work[i].as_dict()} for i in order[:hottest]]  # fmt: skip
    uncalibrated = sorted({w.opcode for w in work if not w.calibrated})
    notes = []
    if uncalibrated:
        notes.append(f"ops outside the calibration models, costed by their family: {', '.join(uncalibrated)}")
    if any(len(sg.ops) and sg.index > 0 for sg in graph.subgraphs):
        notes.append("control-flow subgraphs counted once (loop trip counts are unknown)")
    return {
        "applies": True, "device": device.name, "latency_ms": ms, "cycles": round(total),
        "typical_error": basis.loo_error, "basis": basis.text, "ops_total": len(work),
        "hottest_ops": ops, "notes": notes,
    }  # fmt: skip


def instruction_cpi(device) -> tuple[float, float, str] | None:
    """(cycles per instruction, typical error, where from) for instructions counted on
    ``device``'s own core: the CPI fitted to the published latencies of a calibration board
    with that core, for the kernel library the board ran; None without such a board."""
    import re

    def key(core: str) -> str | None:
        m = re.match(r"cortex-(m\d+)", core.strip().lower())
        return m.group(1) if m else None

    for name, im in sorted(coefficients().get("instruction_model", {}).items()):
        shown = im.get("library_shown")
        fit = im.get("fits", {}).get(shown or "")
        if not fit or key(im.get("core", "")) != key(device.core) or key(device.core) is None:
            continue
        text = f"{fit['cpi']:.3g} cycles per instruction of {name} ({im['core']}, {shown}"
        text += ")" if device.kernels == shown else f"; assumed alike for {device.kernels} code)"
        return float(fit["cpi"]), float(fit["loo_median_abs_error"]), text
    return None


def measured_estimate(measured: dict, graph, device, hottest: int = HOTTEST) -> dict | None:
    """Latency from a firmware build's QEMU instruction count (per inference and per op) x the
    CPI of a calibration board of the same core; None where no board has that core."""
    cpi = instruction_cpi(device)
    if cpi is None or graph.quant_scheme() != "int8":
        return None
    per_cycle, typical, where = cpi
    total = measured["instructions"] * per_cycle
    per_op = measured.get("instructions_per_op") or []
    names = [w.name for w in op_work(graph)]
    rows = sorted(((n * per_cycle, i, op) for i, (op, n) in enumerate(per_op)), key=lambda r: (-r[0], r[1]))
    ops = [{"index": i, "op": op, "name": names[i] if len(names) == len(per_op) else "", "cycles": round(cyc),
            "ms": cyc / (device.clock_mhz * 1e3), "share": cyc / total if total else 0.0} for cyc, i, op in rows[:hottest]]  # fmt: skip
    return {
        "applies": True, "device": device.name, "latency_ms": total / (device.clock_mhz * 1e3), "cycles": round(total),
        "typical_error": typical, "ops_total": len(graph.ops), "hottest_ops": ops, "basis_kind": "measured instructions",
        "basis": f"{measured['instructions']:,} instructions counted under QEMU ({measured['source'].removeprefix('measured: ')}) x {where}",
        "notes": ["instructions of the firmware's compiled-in sample; kernels that branch on data vary a little"],
    }  # fmt: skip


def estimate_artifact(artifact, device, hottest: int = HOTTEST) -> dict:
    """Device latency estimate of one artifact that deploys a TFLite flatbuffer, keyed like the
    other results: from a firmware build's instruction count where one was measured for the
    device's core and kernels (``edgekit firmware BUILD --build``), else from op features."""
    from edgekit.tflite_graph import TFLiteGraph
    from targets import format_of

    key = f"{artifact.target}/{artifact.scheme}"
    fmt = format_of(artifact)
    data = fmt.call("flatbuffer", artifact)
    if data is None:
        return {"artifact": key, "applies": False, "why": "not a TFLite model (the cost model is for TFLite Micro)"}
    graph = TFLiteGraph(data, str(artifact.primary))
    estimate = estimate_graph(graph, device, hottest)
    measured = fmt.call("device_measurement", artifact, device)
    by_count = measured_estimate(measured, graph, device, hottest) if measured and "instructions" in measured else None
    if by_count is not None:
        if estimate.get("applies"):
            by_count["op_feature_estimate_ms"] = estimate["latency_ms"]
        return {"artifact": key, **by_count}
    return {"artifact": key, **estimate}
