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

MIN_RUNS = 30


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


def variants(target: str) -> list[tuple[str, dict]]:
    """(label, runner options) to measure for artifacts of ``target``."""
    from targets import get_format

    return get_format(target).variants()


def measure_artifact(artifact, seconds: float = 1.0, first_only: bool = False, trusted=()) -> list[dict]:
    """Latency rows for one artifact: one per runtime variant (only the first: ``first_only``;
    ``trusted``: digests of files the current export run wrote, loaded without a crash probe)."""
    from targets import format_of

    fmt = format_of(artifact)
    rows = []
    for label, options in fmt.variants()[: 1 if first_only else None]:
        runner = fmt.make_runner(**options, trusted=trusted)
        try:
            start = time.perf_counter()
            runner.load(artifact)
            load_ms = (time.perf_counter() - start) * 1e3
            x = [np.zeros(t.shape, np.float32) for t in runner.inputs]
            times = runner.time_invokes(x, seconds=seconds, min_runs=MIN_RUNS)
        finally:
            runner.close()
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
    from targets import format_for_file, select_targets
    from targets.base import Artifact, build_artifacts
    from targets.registry import formats

    path = Path(path)
    fmt = format_for_file(path)
    if path.is_file() or (fmt is not None and fmt.directory and path.is_dir()):
        if fmt is None or fmt.directory != path.is_dir():
            kinds = ", ".join(f"a {s}" for f in formats().values() for s in f.suffixes)
            raise ModelFileError(f"{path}: give a build directory or one model file ({kinds})")
        files = (path.name, *(path.with_suffix(s).name for s in fmt.companions))
        return [Artifact(fmt.name, "as given", path.parent, files, (), ())]
    artifacts = build_artifacts(BuildDir(path))
    return select_targets(artifacts, targets, path) if targets else artifacts


def _host() -> dict:
    import platform

    return {"machine": platform.machine(), "processor": platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "python": platform.python_version()}  # fmt: skip
