"""LiteRT outputs computed in a child process.

Some TFLM-only models (int8-state SVDF, for one) make LiteRT's kernels write out of bounds;
comparing against LiteRT in a child keeps such a crash from taking the test run down.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

_CODE = """
import sys, numpy as np
from edgekit.runtime.litert import LiteRTRunner
r = LiteRTRunner(kernels=sys.argv[2]); r.load(sys.argv[1])
with np.load(sys.argv[3]) as z:
    xs = [z[f"i{i}"] for i in range(len(z.files))]
outs = [r.run([x[s:s + 1] for x in xs]) for s in range(len(xs[0]))]
np.savez(sys.argv[4], **{f"o{k}": np.concatenate([o[k] for o in outs]) for k in range(len(outs[0]))})
"""


def litert_outputs(model: Path, inputs: list[np.ndarray], kernels: str = "xnnpack") -> list[np.ndarray] | str:
    """Outputs per output tensor, or the reason LiteRT could not produce them."""
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(f"{tmp}/in.npz", **{f"i{i}": x for i, x in enumerate(inputs)})
        res = subprocess.run(
            [sys.executable, "-c", _CODE, str(model), kernels, f"{tmp}/in.npz", f"{tmp}/out.npz"],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if res.returncode != 0:
            tail = (res.stderr.strip().splitlines() or [f"exit code {res.returncode}"])[-1]
            return f"LiteRT failed (exit {res.returncode}): {tail}"
        with np.load(f"{tmp}/out.npz") as z:
            return [z[f"o{k}"] for k in range(len(z.files))]
