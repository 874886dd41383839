"""Fine-tuning after pruning, on a labelled Dataset, with pruned weights held at zero.

The loss follows the labels and the model's output: integer class ids against scores use
sparse categorical cross-entropy (from logits unless the outputs are probabilities), one-hot
labels categorical cross-entropy, anything else mean squared error. After every training
batch the magnitude-pruning masks are applied again, so pruned weights stay exactly zero.
"""

from __future__ import annotations

import numpy as np

from edgekit.errors import DataError, OptionError, UnsupportedError
from quantize.prune.graph import keras_module

MAX_SAMPLES = 100_000


def _load(dataset) -> tuple[list[np.ndarray], np.ndarray]:
    if not dataset.has_labels:
        raise DataError(f"--finetune {dataset.source}: no labels; fine-tuning needs an .npz with 'y' (or class folders)")
    xs, ys = [], []
    for b in dataset.batches(256, MAX_SAMPLES):
        xs.append(b.inputs)
        ys.append(b.labels)
    return [np.concatenate([x[i] for x in xs]) for i in range(len(xs[0]))], np.concatenate(ys)


def _loss(K, model, x, y: np.ndarray):
    probe = np.asarray(model(x[0][:32] if len(x) == 1 else [a[:32] for a in x], training=False))
    probs = bool(probe.min() >= 0 and np.allclose(probe.sum(-1), 1, atol=1e-3))
    if y.dtype.kind in "iu" and probe.ndim == 2 and probe.shape[-1] > 1:
        return K.losses.SparseCategoricalCrossentropy(from_logits=not probs), "sparse categorical cross-entropy"
    if y.shape[1:] == probe.shape[1:] and probe.shape[-1] > 1 and np.isin(y, (0, 1)).all():
        return K.losses.CategoricalCrossentropy(from_logits=not probs), "categorical cross-entropy"
    return K.losses.MeanSquaredError(), "mean squared error"


def finetune(model, dataset, epochs: int, masks: dict | None = None, *, learning_rate: float = 1e-3,
             batch_size: int = 32, seed: int = 0) -> dict:  # fmt: skip
    """Train ``model`` in place for ``epochs``; returns what was done (loss per epoch)."""
    if epochs < 1:
        raise OptionError(f"--epochs must be at least 1, got {epochs}")
    if len(model.outputs) != 1:
        raise UnsupportedError("--finetune trains single-output models only")
    from quantize.prune.magnitude import apply_masks

    K = keras_module(model)

    x, y = _load(dataset)
    loss, loss_name = _loss(K, model, x, y)

    class KeepMasks(K.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            apply_masks(model, masks)

    K.utils.set_random_seed(seed)  # shuffling and dropout: same data, same fine-tuned model
    model.compile(optimizer=K.optimizers.Adam(learning_rate), loss=loss)
    hist = model.fit(
        x[0] if len(x) == 1 else x, y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0,
        callbacks=[KeepMasks()] if masks else [],
    )  # fmt: skip
    if masks:
        apply_masks(model, masks)
    return {
        "data": dataset.source, "samples": len(y), "epochs": epochs, "loss": loss_name,
        "learning_rate": learning_rate, "loss_per_epoch": [round(float(v), 5) for v in hist.history["loss"]],
    }  # fmt: skip
