"""Host latency of every artifact of the digits example, measured REPEATS times in one run:
p50/p90/p99 per runtime variant, the spread of p50 between repeats, and each artifact's p50
as a ratio to the float32 TFLite artifact (XNNPACK, 1 thread) measured in the same repeat."""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EXAMPLE = ROOT / "examples" / "digits"
REPEATS = 3
SECONDS = 1.0
BASELINE = ("tflite/float32", "xnnpack 1t")


def main() -> int:
    from edgekit.pipeline import ExportOptions, export
    from edgekit.simulate.latency import host_latency

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "b"
        export(ExportOptions(model=EXAMPLE / "digits.keras", out=out, target=("tflite", "tflm", "openvino"),
                             quant={"tflite": ["float32", "float16", "dynamic", "int8", "int16x8"],
                                    "tflm": ["int8"], "openvino": ["float32", "int8"]},
                             calib=str(EXAMPLE / "calib.npz"), latency=False))  # fmt: skip
        repeats = [host_latency(out, SECONDS) for _ in range(REPEATS)]
    host = repeats[0]["host"]
    print(f"host latency, digits example, batch 1 ({host['processor']}, {host['cores']} cores), "
          f"{REPEATS} repeats of {SECONDS:g} s per variant; ms")  # fmt: skip
    print(f"{'artifact':16s} {'runtime':14s} {'p50':>8s} {'p90':>8s} {'p99':>8s} {'p50 spread':>11s} {'vs base':>8s}")
    for key, rows in repeats[0]["artifacts"].items():
        for i, row in enumerate(rows):
            runs = [r["artifacts"][key][i] for r in repeats]
            p50s = [r["p50_ms"] for r in runs]
            ratios = [r["artifacts"][key][i]["p50_ms"] / _baseline(r) for r in repeats]
            spread = (max(p50s) - min(p50s)) / statistics.median(p50s)
            print(f"{key:16s} {row['variant']:14s} {statistics.median(p50s):8.4f} "
                  f"{statistics.median(r['p90_ms'] for r in runs):8.4f} {statistics.median(r['p99_ms'] for r in runs):8.4f} "
                  f"{spread * 100:10.1f}% {statistics.median(ratios):7.2f}x")  # fmt: skip
    print("p50 spread = (max - min) / median of the repeats' p50; vs base = p50 / p50 of "
          f"{BASELINE[0]} ({BASELINE[1]}) in the same repeat")
    return 0


def _baseline(result: dict) -> float:
    return next(r["p50_ms"] for r in result["artifacts"][BASELINE[0]] if r["variant"] == BASELINE[1])


if __name__ == "__main__":
    sys.exit(main())
