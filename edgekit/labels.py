"""Evaluation labels checked against the model before any artifact runs.

Labels that do not fit the model (NaN, a class the model does not have, strings, no
columns) would otherwise give a meaningless accuracy that a gate then trusts, or crash
halfway through. Classification takes class ids, shape (N,) or (N, 1), or one-hot rows
(N, classes); the anomaly task takes 0 (normal) / 1 (anomaly); regression scores no labels.
"""

from __future__ import annotations

import numpy as np

from edgekit.errors import DataError


def check_labels(dataset, model, task: str | None = None, option: str = "--eval") -> None:
    """Raise DataError naming the file and the first bad sample when the labels of
    ``dataset`` cannot be scored for ``task`` (default: from the model's output)."""
    from edgekit.simulate.evaluate import default_task, is_classifier

    found = dataset.labels()
    task = task or default_task(model)
    shape = tuple(model.outputs[0].shape)
    if found is None or task == "regression" or (task == "classification" and not is_classifier(shape)):
        return  # nothing to check, or evaluate refuses the task itself
    where, y = found
    if y.dtype.kind not in "biuf":
        raise DataError(f"{option} {where}: labels of dtype {y.dtype} are not numbers; store class ids as integers")
    if task == "anomaly":
        ids = _column(y, where, option, "0 (normal) or 1 (anomaly), shape (N,)")
        _first_bad(ids, ~np.isin(ids, (0, 1)), where, option, "anomaly labels are 0 (normal) or 1 (anomaly)")
        return
    classes = shape[-1]
    if y.ndim == 2 and y.shape[1] == classes and classes > 1:  # one-hot (or soft) rows
        rows = y.astype(np.float64)
        bad = ~np.isfinite(rows).all(axis=1)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{option} {where}: sample {i} has a one-hot label row with NaN or Inf; clean the labels")
        return
    ids = _column(y, where, option, f"class ids (N,) or one-hot rows (N, {classes})")
    f = ids.astype(np.float64)
    _first_bad(ids, ~np.isfinite(f) | (f != np.round(f)), where, option, f"labels are whole class ids 0..{classes - 1}")
    _first_bad(ids, (f < 0) | (f >= classes), where, option, f"the model has {classes} classes (ids 0..{classes - 1})")


def _column(y: np.ndarray, where: str, option: str, want: str) -> np.ndarray:
    """One label per sample, or a DataError saying which shape was wanted."""
    if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
        return y.reshape(-1)
    raise DataError(f"{option} {where}: labels have shape {y.shape}; give {want}")


def _first_bad(ids: np.ndarray, bad: np.ndarray, where: str, option: str, rule: str) -> None:
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{option} {where}: sample {i} has label {ids[i].item()!r}; {rule}")
