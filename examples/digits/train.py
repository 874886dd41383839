"""Train the bundled example: a small CNN on scikit-learn's 8x8 digits (no download).

Writes, next to this script:
  digits.keras  the trained float model (input 8x8x1 in [0, 1], 10-class softmax)
  calib.npz     x: 200 training images for post-training quantization
  eval.npz      x, y: the 540 held-out images and their labels
  train.npz     x, y: the 1,257 training images and labels (fine-tuning after pruning)

Run from the repository root: ``.venv/bin/python examples/digits/train.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 1234


def load_digits_split():
    """Images scaled to [0, 1] as (N, 8, 8, 1) float32, split 70/30 with a fixed seed."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(SEED).permutation(len(x))
    x, y = x[order], y[order]
    n_train = len(x) - 540
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def build_model():
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input((8, 8, 1), name="image"),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(10, activation="softmax", name="probs"),
        ],
        name="digits",
    )


def main() -> None:
    import keras

    keras.utils.set_random_seed(SEED)
    (x_train, y_train), (x_eval, y_eval) = load_digits_split()
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=30, batch_size=32, verbose=0, validation_split=0.1)
    _, acc = model.evaluate(x_eval, y_eval, verbose=0)
    print(f"held-out accuracy: {acc:.4f} on {len(x_eval)} images")
    # Save an uncompiled copy: the optimizer state would triple the file for nothing.
    shipped = build_model()
    shipped.set_weights(model.get_weights())
    shipped.save(HERE / "digits.keras")
    np.savez_compressed(HERE / "calib.npz", x=x_train[:200])
    np.savez_compressed(HERE / "eval.npz", x=x_eval, y=y_eval)
    write_train_npz()


def write_train_npz() -> None:
    """The training split with labels, for ``--finetune`` (deterministic, no training)."""
    (x_train, y_train), _ = load_digits_split()
    np.savez_compressed(HERE / "train.npz", x=x_train, y=y_train)


if __name__ == "__main__":
    main()
