"""What every runner offers, and the in-process timing loop most of them share.

A runner runs one artifact in one runtime, float in and float out (quantized tensors are
(de)quantized at the boundary). Callers use only what ``Runner`` declares; ``RunnerBase``
gives the parts that are the same for every in-process runtime.
"""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np

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
