"""What every runner applies at its boundary: float <-> integer conversions, and the
transposition between the source's image layout and the artifact's."""

from __future__ import annotations

import numpy as np

from edgekit.tensors import TensorInfo, permutation


_INT_RANGES = {
    "int8": (-128, 127),
    "uint8": (0, 255),
    "int16": (-32768, 32767),
    "int32": (-(2**31), 2**31 - 1),
}


def to_runtime(x: np.ndarray, info: TensorInfo) -> np.ndarray:
    """Bring a float array into a tensor's storage type (quantizing if it is quantized).

    An array that already has the tensor's integer dtype is taken as raw stored values.
    """
    x = np.asarray(x)
    if x.dtype == np.dtype(info.dtype):
        return x
    if info.quantized and info.dtype in _INT_RANGES:
        lo, hi = _INT_RANGES[info.dtype]
        q = np.round(x.astype(np.float64) / info.scale) + info.zero_point
        return np.clip(q, lo, hi).astype(info.dtype)
    return x.astype(info.dtype)


def from_runtime(y: np.ndarray, info: TensorInfo) -> np.ndarray:
    """A tensor's stored values as float32 (dequantized if it is quantized)."""
    if info.quantized:
        return ((y.astype(np.float64) - info.zero_point) * info.scale).astype(np.float32)
    return y.astype(np.float32) if y.dtype != np.float32 else y


def to_layout(x: np.ndarray, src: str | None, dst: str | None) -> np.ndarray:
    """An image batch in layout ``src`` rearranged into ``dst`` (contiguous); anything else
    (same layout, a non-image tensor) unchanged."""
    perm = permutation(src, dst)
    return x if perm is None else np.ascontiguousarray(np.transpose(x, perm))
