"""What every runner offers, and the in-process timing loop most of them share.

A runner runs one artifact in one runtime, float in and float out (quantized tensors are
(de)quantized at the boundary). Callers use only what ``Runner`` declares; ``RunnerBase``
gives the parts that are the same for every in-process runtime.
"""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np

from edgekit.runtime.io import to_layout
from edgekit.tensors import TensorInfo

WARMUP = 10  # untimed runs before timing: first invokes pay for allocation and caches
MAX_RUNS = 2000


class Runner(Protocol):
    """The runner interface of every format (see targets.base.Format.runner)."""

    name: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]

    def load(self, artifact) -> None:
        """Load (and where the runtime compiles, compile) the artifact's model."""

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Float outputs for a batch of float inputs."""

    def smoke_test(self) -> None:
        """One run on zeros: proves the loaded model allocates and runs."""

    def time_invokes(self, inputs: list[np.ndarray], seconds: float, min_runs: int) -> list[float]:
        """Seconds per run of ``inputs`` (batch 1): at least ``min_runs``, for about ``seconds``."""

    def close(self) -> None:
        """Release processes, files and native memory the runner holds."""


class RunnerBase:
    """Defaults for runners that run in this process: timing around ``run``, nothing to close."""

    name = "runner"
    inputs: tuple[TensorInfo, ...] = ()
    outputs: tuple[TensorInfo, ...] = ()

    def smoke_test(self) -> None:
        self.run([np.zeros(t.shape, np.float32) for t in self.inputs])

    def time_invokes(self, inputs: list[np.ndarray], seconds: float = 1.0, min_runs: int = 30) -> list[float]:
        for _ in range(WARMUP):
            self.run(inputs)
        times: list[float] = []
        deadline = time.perf_counter() + seconds
        while len(times) < min_runs or (time.perf_counter() < deadline and len(times) < MAX_RUNS):
            start = time.perf_counter()
            self.run(inputs)
            times.append(time.perf_counter() - start)
        return times

    def close(self) -> None:
        pass


class SourceLayout:
    """A loaded runner taking and returning data in the source model's layout when the
    artifact's I/O layout differs (an NHWC .tflite of an NCHW PyTorch/ONNX model): the one
    place data is transposed for a runtime. ``inputs``/``outputs`` are in the source layout;
    timing transposes once, before the timed runs. ``ins``/``outs``: (artifact layout, source
    layout) of each tensor."""

    def __init__(self, runner: Runner, ins: list[tuple], outs: list[tuple]):
        from dataclasses import replace

        self.runner = runner
        self.name = runner.name
        self._in, self._out = ins, outs
        self.inputs = tuple(replace(t, layout=a).in_layout(s) if a else t for t, (a, s) in zip(runner.inputs, ins))
        self.outputs = tuple(replace(t, layout=a).in_layout(s) if a else t for t, (a, s) in zip(runner.outputs, outs))

    def _to_artifact(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        return [to_layout(x, src, mine) for x, (mine, src) in zip(inputs, self._in)]

    def load(self, artifact) -> None:
        self.runner.load(artifact)

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        out = self.runner.run(self._to_artifact(inputs))
        return [to_layout(y, mine, src) for y, (mine, src) in zip(out, self._out)]

    def smoke_test(self) -> None:
        self.runner.smoke_test()

    def time_invokes(self, inputs: list[np.ndarray], seconds: float = 1.0, min_runs: int = 30) -> list[float]:
        return self.runner.time_invokes(self._to_artifact(inputs), seconds, min_runs)

    def close(self) -> None:
        self.runner.close()


def in_source_layout(runner: Runner, artifact) -> Runner:
    """``runner`` (loaded with ``artifact``), wrapped in SourceLayout when the artifact's I/O
    layouts differ from the source model's it records (``artifact.source_layouts``)."""
    if artifact.source_layouts is None:
        return runner
    ins = list(zip([t.layout for t in artifact.inputs], artifact.source_layouts[0]))
    outs = list(zip([t.layout for t in artifact.outputs], artifact.source_layouts[1]))
    if all(a is None or s is None or a == s for a, s in ins + outs):
        return runner
    return SourceLayout(runner, ins, outs)
