"""Export overhead: ``edgekit export`` (TFLite int8) against the plain TensorFlow script.

Both run as fresh processes on the digits example, alternating, so they share the machine's
state; the figure that matters is the ratio of medians, measured in this one run.
Target: edgekit <= 1.1x the plain script.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "digits"
RUNS = 5
TARGET = 1.10


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def main() -> int:
    py = sys.executable
    edgekit, plain = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(RUNS):
            plain.append(_time([py, str(ROOT / "benchmarks" / "plain_tflite_int8.py"),
                                str(EXAMPLE / "digits.keras"), str(EXAMPLE / "calib.npz"), f"{tmp}/plain.tflite"]))
            edgekit.append(_time([py, "-m", "edgekit.cli", "export", str(EXAMPLE / "digits.keras"),
                                  "-q", "int8", "--calib", str(EXAMPLE / "calib.npz"),
                                  "-o", f"{tmp}/build", "--force"]))  # fmt: skip
    e, p = statistics.median(edgekit), statistics.median(plain)
    ratio = e / p
    print(f"export digits.keras -> int8 .tflite, {RUNS} runs each (median, min-max):")
    print(f"  plain TensorFlow script: {p:6.2f} s  ({min(plain):.2f}-{max(plain):.2f})")
    print(f"  edgekit export:          {e:6.2f} s  ({min(edgekit):.2f}-{max(edgekit):.2f})")
    print(f"  ratio edgekit/plain:     {ratio:6.3f}x  (target <= {TARGET:.2f}x: {'ok' if ratio <= TARGET else 'MISSED'})")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
