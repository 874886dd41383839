"""Score artifacts against the float model and the labels in one streaming pass.

Every batch of the evaluation Dataset goes through the float model once and through each
artifact's Runner once; only running sums (and one score per sample for AUC) are kept, so
memory does not grow with the dataset. Three views, as ST's validator reports them:
artifact vs labels, float model vs labels, artifact vs float model.
"""

from __future__ import annotations

import math

import numpy as np

from edgekit.errors import ModelFileError, OptionError
from edgekit.simulate import metrics

TASKS = ("classification", "regression", "anomaly")


def is_classifier(shape: tuple[int, ...]) -> bool:
    """A (batch, classes) output with more than one class: top-1 metrics make sense."""
    return len(shape) == 2 and shape[1] > 1


def default_task(model) -> str:
    return "classification" if is_classifier(tuple(model.outputs[0].shape)) else "regression"


def _anomaly_scores(out: list[np.ndarray], inputs: list[np.ndarray]) -> np.ndarray:
    """Per-sample anomaly score: reconstruction MSE for autoencoders, else the mean output."""
    y = np.asarray(out[0], np.float64).reshape(len(out[0]), -1)
    x = np.asarray(inputs[0], np.float64).reshape(len(inputs[0]), -1)
    if y.shape == x.shape:
        return ((y - x) ** 2).mean(axis=1)
    return y.mean(axis=1)


class _Scores:
    def __init__(self):
        self.parts: list[np.ndarray] = []

    def add(self, s: np.ndarray) -> None:
        self.parts.append(np.asarray(s, np.float32))

    def auc(self, labels: np.ndarray) -> float:
        return metrics.roc_auc(np.concatenate(self.parts), labels)


def evaluate(model, runners: dict, dataset, batch_size: int = 64, task: str | None = None, top_k: int = 5) -> dict:
    """Metrics for the float model and each artifact's runner on ``dataset``.

    Returns ``{"samples", "task", "float": {...}, "artifacts": {key: {...}}}``; each artifact
    entry has flat headline keys (``top1``, ``agreement``, ``cosine``, ...) and ``outputs``,
    one comparison per output tensor.
    """
    task = task or default_task(model)
    if task not in TASKS:
        raise OptionError(f"--task {task}: choose one of {', '.join(TASKS)}")
    classify = task == "classification" and is_classifier(tuple(model.outputs[0].shape))
    if task == "classification" and not classify:
        raise OptionError(f"--task classification needs a (batch, classes) output; {model.name} has {model.outputs[0].shape}")
    float_cls = metrics.Classification(top_k)
    float_scores = _Scores()
    per = {
        key: {"cls": metrics.Classification(top_k), "cmp": [metrics.Comparison() for _ in model.outputs], "scores": _Scores()}
        for key in runners
    }
    for key, runner in runners.items():
        _check_inputs(key, runner, model)
    labels: list[np.ndarray] = []
    n = 0
    for batch in dataset.batches(batch_size):
        ref = model.predict(batch.inputs)
        y = batch.labels
        n += len(batch.inputs[0])
        if y is not None:
            labels.append(np.asarray(y))
        if classify:
            float_cls.update(ref[0], y)
        if task == "anomaly":
            float_scores.add(_anomaly_scores(ref, batch.inputs))
        for key, runner in runners.items():
            out = runner.run(batch.inputs)
            if [o.shape for o in out] != [r.shape for r in ref]:
                raise ModelFileError(
                    f"{key}: the artifact's outputs {[o.shape for o in out]} differ from the source model's "
                    f"{[r.shape for r in ref]}; it was not exported from this model, or it is corrupt (re-export)"
                )
            acc = per[key]
            for cmp, o, r in zip(acc["cmp"], out, ref):
                cmp.update(o, r)
            if classify:
                acc["cls"].update(out[0], y, ref[0])
            if task == "anomaly":
                acc["scores"].add(_anomaly_scores(out, batch.inputs))
    y_all = np.concatenate(labels) if labels else None
    result = {"samples": n, "task": task, "labels": y_all is not None, "float": {}, "artifacts": {}}
    if classify:
        result["float"].update(float_cls.result())
    if task == "anomaly" and y_all is not None:
        result["float"]["auc"] = float_scores.auc(y_all)
    for key, acc in per.items():
        outputs = [{"name": t.name, **c.result()} for t, c in zip(model.outputs, acc["cmp"])]
        entry = {k: outputs[0][k] for k in ("cosine", "l2_rel", "rmse", "mae", "max_abs", "nse", "snr_db", "psnr_db")}
        if classify:
            entry["agreement"] = acc["cls"].agreement()
            entry.update(acc["cls"].result())
        if task == "anomaly" and y_all is not None:
            entry["auc"] = acc["scores"].auc(y_all)
        entry["outputs"] = outputs
        result["artifacts"][key] = entry
    return _finite(result)


def _finite(obj):
    """JSON has no Infinity/NaN: write them as strings users can read."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return "inf" if obj > 0 else ("-inf" if obj < 0 else "nan")
    return obj


def _check_inputs(key: str, runner, model) -> None:
    """An artifact whose inputs cannot take the source model's samples is not from this model
    (or is corrupt): say so before the runtime refuses the first batch."""
    ins = getattr(runner, "inputs", None)
    if ins is None:
        return
    per_sample = [s[1:] for s in (tuple(t.shape) for t in ins)]
    if any(not all(isinstance(d, int) and d >= 0 for d in s) for s in per_sample):
        return  # dynamic dimensions: the runtime reshapes
    want = [tuple(t.shape)[1:] for t in model.inputs]
    if len(per_sample) != len(want) or any(int(np.prod(a)) != int(np.prod(b)) for a, b in zip(per_sample, want)):
        raise ModelFileError(
            f"{key}: the artifact's inputs {[tuple(t.shape) for t in ins]} do not fit the source model's "
            f"{[tuple(t.shape) for t in model.inputs]}; it was not exported from this model, or it is corrupt (re-export)"
        )
