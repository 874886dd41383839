"""Validation throughput, measured as ratios in one run on the digits example.

1. LiteRT: edgekit's batched runner against a per-sample invoke loop over the same artifact
   and data (target: at least 5x).
2. TFLM: the runner with two worker processes against one (TFLM runs one sample at a time;
   with 2 cores the target is a clear gain, ideally close to 2x).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EXAMPLE = ROOT / "examples" / "digits"
REPEAT = 3
BATCH = 1024  # validation batch (edgekit validate --batch-size)


def _best(fn) -> float:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> int:
    from edgekit.pipeline import ExportOptions, export
    from edgekit.runtime.litert import LiteRTRunner
    from targets.tflm.runner import TFLMRunner

    x = np.load(EXAMPLE / "eval.npz")["x"]
    x = np.concatenate([x] * 10)  # 5,400 samples
    with tempfile.TemporaryDirectory() as tmp:
        res = export(ExportOptions(model=EXAMPLE / "digits.keras", out=Path(tmp) / "b", target=("tflite", "tflm"),
                                   quant="int8", calib=str(EXAMPLE / "calib.npz")))  # fmt: skip
        tfl = next(a for a in res.artifacts if a.target == "tflite")
        tflm = next(a for a in res.artifacts if a.target == "tflm")

        batched = LiteRTRunner(num_threads=os.cpu_count())
        batched.load(tfl)
        loop = LiteRTRunner()
        loop.load(tfl)

        def run_batched():
            for s in range(0, len(x), BATCH):
                batched.run([x[s : s + BATCH]])

        def run_loop():
            for i in range(len(x)):
                loop.run([x[i : i + 1]])

        b, _ = _best(run_batched)
        p, _ = _best(run_loop)
        print(f"LiteRT, {len(x)} samples: batched ({BATCH}) {b:.3f} s, per-sample loop {p:.3f} s -> {p / b:.1f}x (target >= 5x)")

        one, two = TFLMRunner(workers=1), TFLMRunner(workers=2)
        one.load(tflm)
        two.load(tflm)
        t1, _ = _best(lambda: [one.run([x[s : s + 512]]) for s in range(0, len(x), 512)])
        t2, _ = _best(lambda: [two.run([x[s : s + 512]]) for s in range(0, len(x), 512)])
        one.close()
        two.close()
        print(f"TFLM, {len(x)} samples: 1 worker {t1:.3f} s, 2 workers {t2:.3f} s -> {t1 / t2:.2f}x")
    return 0 if p / b >= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
