"""Accuracy metrics with the definitions users know.

Each function takes arrays with samples on the first axis. ``ref`` is the float model's
output, ``out`` the artifact's.
"""

from __future__ import annotations

import numpy as np


def _flat(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, np.float64).reshape(len(a), -1)


def top1(scores: np.ndarray) -> np.ndarray:
    """Predicted class per sample."""
    return _flat(scores).argmax(axis=1)


def top1_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples whose highest score is the label (labels as ids or one-hot)."""
    labels = np.asarray(labels)
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.reshape(len(labels), -1).argmax(axis=1)
    return float(np.mean(top1(scores) == labels.reshape(-1)))


def agreement(out: np.ndarray, ref: np.ndarray) -> float:
    """Fraction of samples where the artifact's top-1 equals the float model's top-1."""
    return float(np.mean(top1(out) == top1(ref)))


def cosine(out: np.ndarray, ref: np.ndarray) -> float:
    """Cosine similarity of the whole output tensors (flattened over all samples)."""
    a, r = np.asarray(out, np.float64).ravel(), np.asarray(ref, np.float64).ravel()
    denom = np.linalg.norm(a) * np.linalg.norm(r)
    if denom == 0:
        return 1.0 if np.array_equal(a, r) else 0.0
    return float(a @ r / denom)


def max_abs_error(out: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(out, np.float64) - np.asarray(ref, np.float64)))) if np.size(ref) else 0.0
