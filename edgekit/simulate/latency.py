"""Host latency of each artifact in its runtime: load time apart, then warm-up and enough
timed runs for stable percentiles, single-thread and all-threads where the runtime has
threads.

Batch 1, one sample at a time, as an application calls the model. Percentiles are of the
time around ``run`` (LiteRT, OpenVINO: set input, invoke, read output) or around the
interpreter's invoke itself (TFLM, timed inside its child process).
"""

from __future__ import annotations

import os
import time

import numpy as np

WARMUP = 10
MIN_RUNS = 30
MAX_RUNS = 2000


def percentiles(times: list[float]) -> dict:
    """p50/p90/p99/mean in milliseconds, and the number of runs."""
    t = np.asarray(times) * 1e3
    return {
        "runs": int(len(t)),
        "p50_ms": float(np.percentile(t, 50)),
        "p90_ms": float(np.percentile(t, 90)),
        "p99_ms": float(np.percentile(t, 99)),
        "mean_ms": float(t.mean()),
    }


def _timed_runs(runner, x: list[np.ndarray], seconds: float) -> list[float]:
    for _ in range(WARMUP):
        runner.run(x)
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < MIN_RUNS or (time.perf_counter() < deadline and len(times) < MAX_RUNS):
        start = time.perf_counter()
        runner.run(x)
        times.append(time.perf_counter() - start)
    return times


def variants(target: str) -> list[tuple[str, dict]]:
    """(label, runner options) to measure for artifacts of ``target``."""
    cores = os.cpu_count() or 1
    if target == "tflite":
        return [("xnnpack 1t", {"kernels": "xnnpack", "num_threads": 1}),
                (f"xnnpack {cores}t", {"kernels": "xnnpack", "num_threads": cores}),
                ("no xnnpack 1t", {"kernels": "builtin", "num_threads": 1})]  # fmt: skip
    if target == "openvino":
        return [("cpu 1t", {"num_threads": 1}), (f"cpu {cores}t", {"num_threads": cores})]
    if target == "tflm":
        return [("reference", {})]
    if target == "coreml":
        from targets.coreml.runner import runtime_available

        # Off macOS the runner is edgekit's NumPy interpreter: its time is not Core ML's.
        return [("core ml cpu" if runtime_available() else "numpy interpreter (not core ml)", {})]
    return [("default", {})]


def measure_artifact(artifact, seconds: float = 1.0, first_only: bool = False, trusted=()) -> list[dict]:
    """Latency rows for one artifact: one per runtime variant (only the first: ``first_only``;
    ``trusted``: digests of files the current export run wrote, loaded without a crash probe)."""
    import inspect

    from edgekit.simulate.runners import _RUNNERS
    from importlib import import_module

    module, name = _RUNNERS[artifact.target].split(":")
    cls = getattr(import_module(module), name)
    rows = []
    for label, options in variants(artifact.target)[: 1 if first_only else None]:
        accepted = inspect.signature(cls).parameters
        runner = cls(**{k: v for k, v in {**options, "trusted": trusted}.items() if k in accepted})
        start = time.perf_counter()
        runner.load(artifact)
        load_ms = (time.perf_counter() - start) * 1e3
        x = [np.zeros(t.shape, np.float32) for t in runner.inputs]
        try:
            if hasattr(runner, "time_invokes"):
                times = runner.time_invokes(x, seconds=seconds, min_runs=MIN_RUNS)
            else:
                times = _timed_runs(runner, x, seconds)
        finally:
            getattr(runner, "close", lambda: None)()
        rows.append({"variant": label, "load_ms": load_ms, **percentiles(times)})
    return rows


def host_latency(path, seconds: float = 1.0, targets: tuple[str, ...] = (), progress=None,
                 artifacts: list | None = None) -> dict:
    """Host latency of every artifact of a build directory, or of one .tflite / .xml file
    (``artifacts``: the ones ``artifacts_of(path, targets)`` already listed)."""
    import contextlib

    from edgekit.errors import CannotSimulate

    step = progress or (lambda text: contextlib.nullcontext())
    artifacts = artifacts_of(path, targets) if artifacts is None else artifacts
    result = {"host": _host(), "seconds_per_variant": seconds, "artifacts": {}}

    for a in artifacts:
        key = f"{a.target}/{a.scheme}"
        with step(f"Timing {key}"):
            try:
                result["artifacts"][key] = measure_artifact(a, seconds)
            except CannotSimulate as e:
                result.setdefault("not_timed", {})[key] = str(e)
    return result


def artifacts_of(path, targets: tuple[str, ...] = ()) -> list:
    """The artifacts of a build directory, or one .tflite / .xml / .mlpackage as an artifact."""
    from pathlib import Path

    from edgekit.errors import ModelFileError
    from edgekit.build import BuildDir
    from targets import select_targets
    from targets.base import Artifact

    path = Path(path)
    if path.suffix.lower() == ".mlpackage" and path.is_dir():
        return [Artifact("coreml", "as given", path.parent, (path.name,), (), ())]
    if path.is_file():
        target = {".tflite": "tflite", ".xml": "openvino"}.get(path.suffix.lower())
        if target is None:
            raise ModelFileError(f"{path}: give a build directory, a .tflite, an OpenVINO .xml or a .mlpackage")
        files = (path.name,) if target == "tflite" else (path.name, path.with_suffix(".bin").name)
        return [Artifact(target, "as given", path.parent, files, (), ())]
    artifacts = BuildDir(path).artifacts()
    return select_targets(artifacts, targets, path) if targets else artifacts


def _host() -> dict:
    import platform

    return {"machine": platform.machine(), "processor": platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "python": platform.python_version()}  # fmt: skip
