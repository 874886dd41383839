"""OpenVINO: export overhead against a plain convert_model + nncf.quantize script (fresh
processes, alternating, same run), and host latency of the float32 vs int8 IR."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EXAMPLE = ROOT / "examples" / "digits"
RUNS = 3


def _time(cmd) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def _latency(runner, x, n=500) -> float:
    for _ in range(20):
        runner.run([x])
    times = []
    for _ in range(n):
        start = time.perf_counter()
        runner.run([x])
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        plain, edge = [], []
        for _ in range(RUNS):
            plain.append(_time([py, str(ROOT / "benchmarks" / "plain_openvino_int8.py"), str(EXAMPLE / "digits.keras"),
                                str(EXAMPLE / "calib.npz"), f"{tmp}/plain.xml"]))
            edge.append(_time([py, "-m", "edgekit.cli", "export", str(EXAMPLE / "digits.keras"), "-t", "openvino",
                               "-q", "int8", "--calib", str(EXAMPLE / "calib.npz"), "-o", f"{tmp}/b", "--force"]))  # fmt: skip
        p, e = statistics.median(plain), statistics.median(edge)
        print(f"openvino int8 export (edgekit also compiles and runs the IR once): plain {p:.2f} s, "
              f"edgekit {e:.2f} s -> {e / p:.2f}x")
        _time([py, "-m", "edgekit.cli", "export", str(EXAMPLE / "digits.keras"), "-t", "openvino", "-q", "float32,int8",
               "--calib", str(EXAMPLE / "calib.npz"), "-o", f"{tmp}/b", "--force"])  # fmt: skip

        from targets.openvino.runner import OpenVINORunner

        x = np.load(EXAMPLE / "eval.npz")["x"][:1]
        lat = {}
        for scheme in ("float32", "int8"):
            r = OpenVINORunner(num_threads=1)
            r.load_path(Path(tmp) / "b" / "openvino" / f"digits_{scheme}.xml")
            lat[scheme] = _latency(r, x)
        print(f"host latency (CPU, 1 thread, batch 1, p50 of 500): float32 {lat['float32'] * 1e6:.0f} us, "
              f"int8 {lat['int8'] * 1e6:.0f} us -> int8 {lat['float32'] / lat['int8']:.2f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
