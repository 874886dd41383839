"""Calibration samples for post-training quantization.

Samples are read from the Dataset once, checked (shape, NaN/Inf) and kept in memory:
calibration needs a few hundred samples at most, and reading them before conversion starts
means bad data fails fast instead of deep inside a converter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from edgekit.errors import DataError


def calibration_samples(calib, count: int, batch: int = 1) -> list[list[np.ndarray]]:
    """Up to ``count`` samples from a Dataset, grouped into model-batch-sized lists."""
    samples = calib.take(count)
    if not samples:
        raise DataError(f"{calib.source}: no calibration samples")
    if batch == 1:
        return [[np.asarray(x, np.float32) if x.dtype.kind == "f" else x for x in s] for s in samples]
    groups = []
    for start in range(0, len(samples) - batch + 1, batch):
        chunk = samples[start : start + batch]
        groups.append([np.concatenate([s[i] for s in chunk]) for i in range(len(chunk[0]))])
    if not groups:
        raise DataError(f"{calib.source}: {len(samples)} calibration samples cannot fill one batch of {batch}")
    return groups


def representative_dataset(samples: list[list[np.ndarray]]) -> Callable[[], Iterator[list[np.ndarray]]]:
    """The generator function TensorFlow's converter calls for calibration."""

    def gen():
        yield from samples

    return gen


def calibration_record(calib, used: int) -> tuple[dict, str]:
    """What an artifact records about its calibration: manifest metadata and a note."""
    return (
        {"source": calib.source, "samples": used, "random": calib.random},
        f"calibrated on {used} samples from {calib.source}",
    )
