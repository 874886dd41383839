"""Structured synthetic inputs for the MLPerf Tiny models (their datasets are not shipped).

Random noise is a poor stand-in for real inputs: a classifier's outputs on it are nearly
tied, so tiny quantization errors flip the top-1. These generators make inputs with the
structure of the real domain, inside the range the model was trained on:

- images: smooth colour fields (a coarse random grid upsampled bilinearly), linear
  gradients and filled rectangles/discs on a background, mixed per image;
- MFCC maps (KWS): a large negative c0 energy track and decaying higher coefficients,
  smoothed along time, clipped to the int8 reference model's input range;
- log-mel windows (AD): 640-value windows cut at random offsets from the one real
  feature file that ships, with a random gain and a little noise.
"""

from __future__ import annotations

import numpy as np


def _upsample(grid: np.ndarray, h: int, w: int) -> np.ndarray:
    gh, gw = grid.shape[:2]
    ys, xs = np.linspace(0, gh - 1, h), np.linspace(0, gw - 1, w)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, gh - 1), np.minimum(x0 + 1, gw - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x1] * fx
    bottom = grid[y1][:, x0] * (1 - fx) + grid[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


def images(n: int, h: int, w: int, c: int, seed: int, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """``n`` structured images in [lo, hi], shape (n, h, w, c), float32."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, h, w, c), np.float32)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    for i in range(n):
        kind = i % 3
        if kind == 0:
            g = rng.integers(2, 6)
            img = _upsample(rng.random((g, g, c)), h, w)
        elif kind == 1:
            a, b = rng.normal(size=(2, c))
            img = (a * yy[..., None] + b * xx[..., None]) + rng.random(c)
            img = (img - img.min()) / (np.ptp(img) + 1e-6)
        else:
            img = np.broadcast_to(rng.random(c), (h, w, c)).copy()
            for _ in range(rng.integers(1, 4)):
                cy, cx, r = rng.random(3) * [h, w, max(h, w) / 3]
                mask = ((np.arange(h)[:, None] - cy) ** 2 + (np.arange(w)[None] - cx) ** 2) < r**2
                if rng.random() < 0.5:
                    y0, x0 = rng.integers(0, h // 2), rng.integers(0, w // 2)
                    mask = np.zeros((h, w), bool)
                    mask[y0 : y0 + rng.integers(2, h // 2 + 2), x0 : x0 + rng.integers(2, w // 2 + 2)] = True
                img[mask] = rng.random(c)
        img = np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1)
        out[i] = lo + (hi - lo) * img
    return out


def image_classes(n: int, h: int, w: int, c: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``images`` with their kind as the label (0 smooth colour field, 1 linear gradient,
    2 shapes on a background): a 3-class task a classifier can be trained on in seconds."""
    return images(n, h, w, c, seed), np.arange(n) % 3


def mfcc(n: int, seed: int, frames: int = 49, coeffs: int = 10) -> np.ndarray:
    """MFCC-like maps (n, frames, coeffs, 1) in the KWS reference input range [-123, 26]."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, frames, coeffs, 1), np.float32)
    kernel = np.ones(5) / 5
    for i in range(n):
        base = np.concatenate([[rng.uniform(-110, -40)], rng.normal(0, 1, coeffs - 1) * 18 / np.arange(1, coeffs)])
        wiggle = rng.normal(0, 1, (frames + 4, coeffs)) * np.concatenate([[12], 6 / np.arange(1, coeffs)])
        smooth = np.stack([np.convolve(wiggle[:, k], kernel, "valid") for k in range(coeffs)], axis=1)
        burst = np.zeros((frames, 1))
        s = rng.integers(0, frames - 10)
        burst[s : s + rng.integers(5, 25)] = rng.uniform(10, 40)  # a spoken-word energy burst
        spec = base + smooth + burst * np.concatenate([[1], np.zeros(coeffs - 1)])
        out[i, :, :, 0] = np.clip(spec, -123, 26)
    return out


def logmel_windows(features: np.ndarray, n: int, seed: int, width: int = 5) -> np.ndarray:
    """(n, 128*width) windows from a (frames, 128) log-mel array, perturbed."""
    rng = np.random.default_rng(seed)
    frames = features.shape[0]
    out = np.empty((n, features.shape[1] * width), np.float32)
    for i in range(n):
        s = rng.integers(0, frames - width)
        win = features[s : s + width] + rng.normal(0, 0.5) + rng.normal(0, 0.3, (width, features.shape[1]))
        out[i] = win.reshape(-1)
    return out


def sharpen(predict_tf, x: np.ndarray, lo: float, hi: float, steps: int = 10) -> np.ndarray:
    """Nudge inputs toward the float model's own top-1 class until it is confident.

    Real test data sits where a trained classifier is confident; structured synthetic
    inputs often sit near decision boundaries, where any rounding flips the top-1 and
    agreement then measures the inputs rather than the quantization. Signed-gradient steps
    of 1% of the input range raise the log-probability of the class the float model already
    picks, keeping every value inside [lo, hi]. ``predict_tf`` maps a tf tensor batch to
    probabilities and must be differentiable (a Keras model or a SavedModel signature).
    """
    import tensorflow as tf

    x = tf.Variable(np.asarray(x, np.float32))
    target = tf.argmax(predict_tf(x), axis=1)
    step = 0.01 * (hi - lo)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            probs = predict_tf(x)
            loss = -tf.reduce_sum(tf.math.log(tf.gather(probs, target, batch_dims=1) + 1e-9))
        x.assign(tf.clip_by_value(x - step * tf.sign(tape.gradient(loss, x)), lo, hi))
    return x.numpy()
