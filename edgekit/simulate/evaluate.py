"""Run artifacts over an evaluation Dataset next to the float model and score them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgekit.simulate import metrics


@dataclass
class _Accumulator:
    """Collects first-output predictions across batches (small: samples x classes)."""

    outs: list[np.ndarray] = field(default_factory=list)

    def add(self, out: list[np.ndarray]) -> None:
        self.outs.append(np.asarray(out[0], np.float32))

    def stacked(self) -> np.ndarray:
        return np.concatenate(self.outs)


def is_classifier(shape: tuple[int, ...]) -> bool:
    """A (batch, classes) output with more than one class: top-1 metrics make sense."""
    return len(shape) == 2 and shape[1] > 1


def evaluate(model, runners, dataset, batch_size: int = 64) -> dict:
    """Metrics for the float model and each artifact's runner on ``dataset``.

    Returns ``{"samples": n, "float": {...}, "artifacts": {key: {...}}}`` where key is
    ``target/scheme``. Top-1 metrics are given for classifier outputs only.
    """
    ref_acc = _Accumulator()
    accs = {key: _Accumulator() for key in runners}
    labels = []
    for batch in dataset.batches(batch_size):
        ref_acc.add(model.predict(batch.inputs))
        for key, runner in runners.items():
            accs[key].add(runner.run(batch.inputs))
        if batch.labels is not None:
            labels.append(np.asarray(batch.labels))
    ref = ref_acc.stacked()
    y = np.concatenate(labels) if labels else None
    classifier = is_classifier(tuple(model.outputs[0].shape))
    result = {"samples": int(len(ref)), "float": {}, "artifacts": {}}
    if classifier and y is not None:
        result["float"]["top1"] = metrics.top1_accuracy(ref, y)
    for key, acc in accs.items():
        out = acc.stacked()
        m = {"cosine": metrics.cosine(out, ref), "max_abs_error": metrics.max_abs_error(out, ref)}
        if classifier:
            m["agreement"] = metrics.agreement(out, ref)
            if y is not None:
                m["top1"] = metrics.top1_accuracy(out, y)
        result["artifacts"][key] = m
    return result
