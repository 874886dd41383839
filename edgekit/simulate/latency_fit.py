"""Fit the device latency cost model to published MLPerf Tiny results, and report how well
it predicts them (fit error and leave-one-model-out error per board).

Model: cycles(op) = sum_f theta_f * count_f(op) over the features of
``edgekit.simulate.op_features``. Boards of one kernel library share the *shape* of theta
(its ratios); each board has its own scale. The shape starts from a prior derived from the
kernels' loop structure and may move away from it under a log-normal penalty (LAMBDA): four
models per board cannot pin seven coefficients on their own. Residuals are in log space, so
a 20% miss on a 0.5 ms model counts as much as on a 700 ms one.

With measured instruction counts (cost_model/instruction_counts.json) the fit also gives
each board's cycles per instruction (edgekit.simulate.icount_fit).

Refit after editing edgekit/simulate/cost_model/published_latency.toml:

    python -m edgekit.simulate.latency_fit --models ../shared/models --write

then ``make docs`` rewrites the calibration table in docs/simulate.md (``make calibrate`` does
both).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from edgekit import jsontext
from edgekit.simulate.op_features import FEATURES, op_work, totals

COST_MODEL = Path(__file__).resolve().parent / "cost_model"
PUBLISHED = COST_MODEL / "published_latency.toml"
COEFFICIENTS = COST_MODEL / "latency_coefficients.json"
LAMBDA = 1.0
# Cycles per unit of each feature relative to one convolution MAC (FEATURES order).
# reference: plain C loops; a depthwise MAC pays a whole loop iteration and bounds check,
# a fully connected MAC is a tight dot product; requantizing an output costs tens of MACs.
# optimized: SIMD MACs are cheap, so per-output, per-entry and load-bound work weigh more.
PRIORS = {
    "reference": (1.0, 2.0, 0.8, 3.0, 20.0, 5.0, 500.0),
    "optimized": (1.0, 2.0, 2.0, 0.5, 20.0, 3.0, 1000.0),
}


def load_published(path: Path = PUBLISHED) -> dict:
    """The published results file, parsed."""
    from edgekit.config import read_toml

    return read_toml(path, "latency calibration data")


def model_graphs(published: dict, models_dir: Path) -> dict:
    """The calibration models' graphs (TFLiteGraph), read from ``models_dir``."""
    from edgekit.errors import OptionError
    from edgekit.tflite_graph import TFLiteGraph

    out = {}
    for key, rel in published["models"].items():
        path = Path(models_dir) / rel
        if not path.exists():
            raise OptionError(f"--models: {path} is missing; point --models at the shared models folder")
        out[key] = TFLiteGraph.from_file(path)
    return out


def model_features(published: dict, models_dir: Path, graphs: dict | None = None) -> dict[str, list[int]]:
    """Feature totals of each calibration model, read from ``models_dir``."""
    graphs = graphs if graphs is not None else model_graphs(published, models_dir)
    return {key: [totals(op_work(g))[f] for f in FEATURES] for key, g in graphs.items()}


def _fit_group(boards: list[dict], feats: dict[str, list[int]], models: list[str]) -> dict[str, np.ndarray]:
    """Coefficients (cycles per feature unit) per board, fitted on ``models`` only."""
    from scipy.optimize import least_squares

    prior = np.array(PRIORS[boards[0]["library"]])
    a = np.array([feats[m] for m in models], dtype=float)
    cycles = [np.array([b["ms"][m] * b["clock_mhz"] * 1e3 for m in models]) for b in boards]
    n = len(FEATURES) - 1

    def theta(p, i):
        return np.exp(p[n + i] + np.concatenate([[0.0], p[:n]])) * prior

    def residuals(p):
        r = [np.log(a @ theta(p, i) / y) for i, y in enumerate(cycles)]
        return np.concatenate(r + [np.sqrt(LAMBDA) * p[:n]])

    start = np.zeros(n + len(boards))
    for i, y in enumerate(cycles):  # start each scale where the prior shape alone puts it
        start[n + i] = np.log(np.median(y / (a @ prior)))
    p = least_squares(residuals, start, method="trf", x_scale="jac").x
    return {b["name"]: theta(p, i) for i, b in enumerate(boards)}


def _ms(theta: np.ndarray, feats: list[int], clock_mhz: float) -> float:
    return float(np.dot(theta, feats)) / (clock_mhz * 1e3)


def core_factors(published: dict) -> dict[str, dict]:
    """Cycles of each core relative to Cortex-M4 for the same stack: median over pairs and models."""
    ratios: dict[str, list[float]] = {}
    for pair in published.get("pair", []):
        m4, other = pair["m4"], pair["other"]
        for model, ms in other["ms"].items():
            if model in m4["ms"]:
                r = (ms * other["clock_mhz"]) / (m4["ms"][model] * m4["clock_mhz"])
                ratios.setdefault(other["core"], []).append(r)
    out = {"Cortex-M4": {"factor": 1.0, "points": 0, "min": 1.0, "max": 1.0}}
    for core, r in sorted(ratios.items()):
        out[core] = {"factor": _round(float(np.median(r))), "points": len(r),
                     "min": _round(min(r)), "max": _round(max(r))}  # fmt: skip
    return out


def _round(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}")


def fit(published: dict, feats: dict[str, list[int]], counts: dict | None = None, graphs: dict | None = None) -> dict:
    """Fitted coefficients per board, with fit and leave-one-model-out errors; with measured
    instruction ``counts`` (and the models' ``graphs``) also the instruction-count model
    (edgekit.simulate.icount_fit)."""
    boards = published["board"]
    models = list(published["models"])
    result = {"features": list(FEATURES), "lambda": LAMBDA, "model_order": models, "priors": {k: list(v) for k, v in PRIORS.items()},
              "models": {m: dict(zip(FEATURES, feats[m])) for m in models}, "boards": {},
              "core_factors": core_factors(published), "basis": published.get("basis", [])}  # fmt: skip
    for library in sorted({b["library"] for b in boards}):
        group = [b for b in boards if b["library"] == library]
        full = _fit_group(group, feats, models)
        loo = {m: _fit_group(group, feats, [x for x in models if x != m]) for m in models}
        for b in group:
            theta = np.array([_round(t) for t in full[b["name"]]])
            rows = {}
            for m in models:
                published_ms = b["ms"][m]
                est = _ms(theta, feats[m], b["clock_mhz"])
                held_out = _ms(loo[m][b["name"]], feats[m], b["clock_mhz"])
                rows[m] = {"published_ms": published_ms, "estimate_ms": _round(est),
                           "error": _round(est / published_ms - 1), "loo_estimate_ms": _round(held_out),
                           "loo_error": _round(held_out / published_ms - 1)}  # fmt: skip
            result["boards"][b["name"]] = {
                "core": b["core"], "clock_mhz": b["clock_mhz"], "library": library, "stack": b["stack"],
                "cycles": dict(zip(FEATURES, theta.tolist())), "results": rows,
                "fit_median_abs_error": _round(float(np.median([abs(r["error"]) for r in rows.values()]))),
                "loo_median_abs_error": _round(float(np.median([abs(r["loo_error"]) for r in rows.values()]))),
            }  # fmt: skip
    if counts is not None:
        from edgekit.simulate import icount_fit

        result["instruction_model"] = icount_fit.instruction_model(published, counts, result["boards"], graphs)
        result["instruction_counts"] = counts["provenance"]
        if graphs is not None:
            result["instructions_per_feature"] = icount_fit.instruction_coefficients(counts, graphs)
    return result


def calibration_markdown(coeffs: dict) -> str:
    """The calibration table of docs/simulate.md (``make docs``): published latency, our estimate and error per board and model."""
    models = coeffs["model_order"]
    head = ["board", "core @ MHz", "kernels"] + [f"{m} pub / est (err)" for m in models]
    lines = ["| " + " | ".join(head + ["fit median", "LOO median"]) + " |", "|" + "---|" * (len(head) + 2)]
    for name, b in sorted(coeffs["boards"].items(), key=lambda kv: (kv[1]["library"] != "reference", kv[0])):
        cells = [name, f"{b['core']} @ {b['clock_mhz']:g}", b["library"]]
        for m in models:
            r = b["results"][m]
            cells.append(f"{r['published_ms']:g} / {r['estimate_ms']:.3g} ({r['error'] * 100:+.0f}%)")
        cells += [f"{b['fit_median_abs_error'] * 100:.0f}%", f"{b['loo_median_abs_error'] * 100:.0f}%"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def dumps(coeffs: dict) -> str:
    return jsontext.dumps(coeffs, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m edgekit.simulate.latency_fit", description=__doc__.split("\n")[0])
    repo = Path(__file__).resolve().parents[2]
    default_models = os.environ.get("EDGEKIT_SHARED_MODELS", str(repo.parent / "shared" / "models"))
    ap.add_argument("--models", default=default_models, help="folder holding mlperf_tiny/ (default: %(default)s)")
    ap.add_argument("--data", default=str(PUBLISHED), help="published results TOML")
    ap.add_argument("--counts", default=str(COST_MODEL / "instruction_counts.json"),
                    help="measured instruction counts (python -m tools.measure_icount)")
    ap.add_argument("--write", action="store_true", help=f"write {COEFFICIENTS.name} next to the data")
    args = ap.parse_args(argv)
    from edgekit.errors import EdgekitError

    from edgekit.simulate import icount_fit

    try:
        published = load_published(Path(args.data))
        graphs = model_graphs(published, Path(args.models))
        counts = icount_fit.load_counts(Path(args.counts)) if Path(args.counts).is_file() else None
        coeffs = fit(published, model_features(published, Path(args.models), graphs), counts, graphs)
    except EdgekitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(calibration_markdown(coeffs))
    if "instruction_model" in coeffs:
        print("\n" + icount_fit.markdown(coeffs))
    if args.write:
        COEFFICIENTS.write_text(dumps(coeffs))
        print(f"wrote {COEFFICIENTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
