"""The instruction-count feature of the device latency model: cycles = instructions x CPI.

Instructions per inference of the MLPerf Tiny models were measured on emulated Cortex-M
cores (QEMU ``-icount``; tools/measure_icount.py writes cost_model/instruction_counts.json
with how they were measured). For each calibration board whose core QEMU emulates (or a
stand-in of the same instruction set), the cycles per instruction (CPI) is fitted per kernel
library to the published latencies: the geometric mean of cycles / instructions over the
models; leave-one-model-out (LOO) refits without a model and predicts it.

The counts also show which kernel library a board ran: the library whose CPI is plausible
(at least MIN_CPI: no Cortex-M retires more than two instructions per cycle) and steadiest
across models.

Reference kernels have no published board (the v0.5 "reference" submission ran CMSIS-NN,
which the counts show), so their cycles are estimated as instructions x the CMSIS-NN CPI of
the same board, the instructions from op features fitted to per-op counts of the reference
kernels (``instruction_coefficients``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

COUNTS = Path(__file__).resolve().parent / "cost_model" / "instruction_counts.json"
MIN_CPI = 0.5
# Published core -> the emulated core whose counts stand in for it (same instruction set:
# the Cortex-M85 is Armv8.1-M with Helium like the M55, which QEMU 7.2 emulates; the M85 is not).
EMULATED = {"Cortex-M4": "Cortex-M4", "Cortex-M7": "Cortex-M7", "Cortex-M33": "Cortex-M33", "Cortex-M85": "Cortex-M55"}
# The published results' library groups and the firmware's kernel libraries.
LIBRARY_GROUP = {"reference": "reference", "cmsis-nn": "optimized"}


def load_counts(path: Path = COUNTS) -> dict:
    return json.loads(Path(path).read_text())


def _round(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}")


def _gmean(x) -> float:
    return float(np.exp(np.mean(np.log(x))))


def board_cpi(board: dict, counts: dict, models: list[str]) -> dict[str, dict]:
    """Per kernel library with counts for the board's core: CPI per model, fitted CPI, errors."""
    core = EMULATED.get(board["core"])
    out = {}
    if core is None:
        return out
    libraries = sorted({k for m in models for k in counts.get(m, {}).get(core, {})})
    for lib in libraries:
        if not all(lib in counts.get(m, {}).get(core, {}) for m in models):
            continue
        instr = {m: counts[m][core][lib]["instructions"] for m in models}
        cpi = {m: board["ms"][m] * board["clock_mhz"] * 1e3 / instr[m] for m in models}
        fit = _gmean(list(cpi.values()))
        loo = {m: _gmean([cpi[x] for x in models if x != m]) for m in models}
        rows = {m: {"instructions": instr[m], "cpi": _round(cpi[m]), "error": _round(fit / cpi[m] - 1),
                    "loo_error": _round(loo[m] / cpi[m] - 1)} for m in models}  # fmt: skip
        out[lib] = {
            "emulated_core": core, "cpi": _round(fit), "results": rows,
            "plausible": min(cpi.values()) >= MIN_CPI,
            "log_spread": _round(float(np.std(np.log(list(cpi.values()))))),
            "fit_median_abs_error": _round(float(np.median([abs(r["error"]) for r in rows.values()]))),
            "loo_median_abs_error": _round(float(np.median([abs(r["loo_error"]) for r in rows.values()]))),
        }  # fmt: skip
    return out


def library_shown(fits: dict[str, dict]) -> str | None:
    """The kernel library the counts say a board ran: plausible CPI, steadiest across models."""
    ok = [lib for lib, f in fits.items() if f["plausible"]]
    return min(ok, key=lambda lib: fits[lib]["log_spread"]) if ok else None


def instruction_model(published: dict, counts: dict, cost_model_boards: dict, graphs: dict | None = None) -> dict:
    """Per board with counts: the CPI fit per library, the library shown, the LOO error of the
    instruction-count model (measured counts x CPI; with ``graphs`` also op features ->
    instructions x CPI) beside the op-feature cost model's."""
    models = list(published["models"])
    out = {}
    for board in published["board"]:
        fits = board_cpi(board, counts["counts"], models)
        if not fits:
            continue
        shown = library_shown(fits)
        cost = cost_model_boards.get(board["name"], {})
        held = held_out_latency(board, counts, graphs, shown, models) if graphs and shown else {}
        theta = fit_instructions(counts, graphs, EMULATED[board["core"]], shown) if held else None
        out[board["name"]] = {
            "core": board["core"], "clock_mhz": board["clock_mhz"], "published_library": board["library"],
            "library_shown": shown, "fits": fits,
            "loo_median_abs_error": fits[shown]["loo_median_abs_error"] if shown else None,
            "features_loo_errors": held,
            "features_cpi": _round(features_cpi(board, graphs, theta, models)) if theta is not None else None,
            "features_loo_median_abs_error": _round(float(np.median(np.abs(list(held.values()))))) if held else None,
            "cost_model_loo_median_abs_error": cost.get("loo_median_abs_error"),
        }  # fmt: skip
    return out


def _op_rows(counts: dict, graphs: dict, core: str, lib: str, models) -> tuple[list, list]:
    """(op feature vector, measured instructions) of every op of ``models`` with per-op counts."""
    from edgekit.simulate.op_features import op_work

    feats, ys = [], []
    for model in models:
        rec = counts["counts"].get(model, {}).get(core, {}).get(lib)
        work = op_work(graphs[model])
        if rec is None or "ops" not in rec or [w.opcode for w in work] != [op for op, _ in rec["ops"]]:
            continue  # no per-op counts, or the firmware ran the ops differently
        for w, (_, n) in zip(work, rec["ops"]):
            if n > 0:
                feats.append(np.array(w.counts, float))
                ys.append(float(n))
    return feats, ys


def fit_instructions(counts: dict, graphs: dict, core: str, lib: str, models=None) -> np.ndarray | None:
    """Instructions per op-feature unit of ``lib`` on ``core``: non-negative least squares on
    the relative error of each op's measured count (``models``: the ones to fit on)."""
    from scipy.optimize import nnls

    from edgekit.simulate.op_features import FEATURES

    feats, ys = _op_rows(counts, graphs, core, lib, list(graphs) if models is None else models)
    if len(feats) < len(FEATURES):  # fewer ops than coefficients: not determined
        return None
    theta, _ = nnls(np.array(feats) / np.array(ys)[:, None], np.ones(len(ys)))
    return theta


def _estimate(theta: np.ndarray, graph) -> float:
    from edgekit.simulate.op_features import op_work

    return sum(float(np.dot(theta, w.counts)) for w in op_work(graph))


def instruction_coefficients(counts: dict, graphs: dict) -> dict:
    """Per emulated core and library: instructions per feature unit and how well they sum to
    each model's measured count (in-sample and with the model left out of the fit)."""
    from edgekit.simulate.op_features import FEATURES

    out: dict = {}
    cores = sorted({c for m in counts["counts"].values() for c in m})
    for core in cores:
        for lib in sorted({k for m in counts["counts"].values() for k in m.get(core, {})}):
            theta = fit_instructions(counts, graphs, core, lib)
            if theta is None:
                continue
            rows = {}
            for model in graphs:
                rec = counts["counts"].get(model, {}).get(core, {}).get(lib)
                loo = fit_instructions(counts, graphs, core, lib, [x for x in graphs if x != model])
                if rec is None or loo is None:
                    continue
                got = rec["instructions"]
                rows[model] = {"instructions": got, "estimate": round(_estimate(theta, graphs[model])),
                               "error": _round(_estimate(theta, graphs[model]) / got - 1),
                               "loo_error": _round(_estimate(loo, graphs[model]) / got - 1)}  # fmt: skip
            out.setdefault(core, {})[lib] = {"instructions": dict(zip(FEATURES, map(_round, theta))), "results": rows}
    return out


def features_cpi(board: dict, graphs: dict, theta: np.ndarray, models: list[str]) -> float:
    """Cycles per instruction fitted to the instructions ``theta`` estimates from op features
    (what a model without a firmware build is costed with)."""
    return _gmean([board["ms"][m] * board["clock_mhz"] * 1e3 / _estimate(theta, graphs[m]) for m in models])


def held_out_latency(board: dict, counts: dict, graphs: dict, lib: str, models: list[str]) -> dict[str, float]:
    """Leave-one-model-out error of op features -> instructions -> x CPI (what a model without a
    firmware build gets): the instruction fit and the CPI both without the held-out model."""
    core = EMULATED[board["core"]]
    out = {}
    for m in models:
        rest = [x for x in models if x != m]
        theta = fit_instructions(counts, graphs, core, lib, rest)
        if theta is None:
            continue
        est_ms = _estimate(theta, graphs[m]) * features_cpi(board, graphs, theta, rest) / (board["clock_mhz"] * 1e3)
        out[m] = _round(est_ms / board["ms"][m] - 1)
    return out


def markdown(coeffs: dict) -> str:
    """docs/simulate.md's table of the instruction-count model (``make docs``)."""
    im = coeffs.get("instruction_model", {})
    lines = ["| board | core @ MHz | published as | counts show | CPI (reference) | CPI (CMSIS-NN) | "
             "LOO: op features x cycles | LOO: op features -> instructions x CPI | LOO: measured instructions x CPI |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, b in im.items():
        def cpi(lib):
            f = b["fits"].get(lib)
            return "-" if f is None else f"{f['cpi']:.3g}" + ("" if f["plausible"] else " (implausible)")
        def pct(x):
            return "-" if x is None else f"{x * 100:.0f}%"

        cells = [name, f"{b['core']} @ {b['clock_mhz']:g}", b["published_library"], b["library_shown"] or "neither",
                 cpi("reference"), cpi("cmsis-nn"), pct(b["cost_model_loo_median_abs_error"]),
                 pct(b["features_loo_median_abs_error"]), pct(b["loo_median_abs_error"])]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def counts_markdown(counts: dict) -> str:
    """docs/firmware.md's table of the measured counts: model x core x library (``make docs``)."""
    cols = sorted({(core, lib) for m in counts["counts"].values() for core, libs in m.items() for lib in libs},
                  key=lambda cl: (cl[1] != "reference", cl[0]))  # fmt: skip
    lines = ["| model | " + " | ".join(f"{core} {lib}" for core, lib in cols) + " | reference / CMSIS-NN (M4) |",
             "|---|" + "---|" * (len(cols) + 1)]  # fmt: skip
    for model, cores in counts["counts"].items():
        cells = []
        for core, lib in cols:
            rec = cores.get(core, {}).get(lib)
            cells.append("-" if rec is None else f"{rec['instructions'] / 1e6:,.2f}M")
        m4 = cores.get("Cortex-M4", {})
        ratio = m4["reference"]["instructions"] / m4["cmsis-nn"]["instructions"] if {"reference", "cmsis-nn"} <= set(m4) else None
        lines.append(f"| {model} | " + " | ".join(cells) + f" | {'-' if ratio is None else f'{ratio:.1f}x'} |")
    return "\n".join(lines)
