"""Tensors of a model's signature: names, fixed shapes, dtypes and quantization, and the
rules that fix unknown dimensions. A core type: loaders, runners and formats all use it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from edgekit.errors import OptionError

# Image tensor layouts: channels last (TensorFlow, TFLite, TFLM) and channels first (PyTorch,
# ONNX). A tensor that is not a (batch, channels, height, width) image has layout None.
NHWC, NCHW = "NHWC", "NCHW"
LAYOUTS = (NHWC, NCHW)


@dataclass(frozen=True)
class TensorInfo:
    """Name, fixed shape and dtype of one model input or output (quantization if any, and
    the image layout, NHWC or NCHW, of a rank-4 image tensor)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float | None = None
    zero_point: int | None = None
    layout: str | None = None

    def __post_init__(self):
        if self.layout is not None and (self.layout not in LAYOUTS or len(self.shape) != 4):
            raise ValueError(f"tensor {self.name}: layout {self.layout!r} needs one of {LAYOUTS} and a rank-4 shape")

    @property
    def quantized(self) -> bool:
        return self.scale is not None and self.scale != 0.0

    @property
    def channel_axis(self) -> int:
        """The axis holding channels: 1 for NCHW, the last one otherwise."""
        return 1 if self.layout == NCHW else -1

    def in_layout(self, layout: str | None) -> TensorInfo:
        """This tensor as it looks in ``layout`` (shape permuted); unchanged for non-images."""
        perm = permutation(self.layout, layout)
        if perm is None:
            return self
        return replace(self, shape=tuple(self.shape[i] for i in perm), layout=layout)

    def to_json(self) -> dict:
        d: dict[str, Any] = {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}
        if self.quantized:
            d["scale"] = self.scale
            d["zero_point"] = self.zero_point
        if self.layout is not None:
            d["layout"] = self.layout
        return d

    @classmethod
    def from_json(cls, d: Mapping) -> TensorInfo:
        """The inverse of ``to_json``; entries older than the layout record have layout None."""
        return cls(str(d["name"]), tuple(int(s) for s in d["shape"]), str(d["dtype"]), d.get("scale"),
                   d.get("zero_point"), d.get("layout"))  # fmt: skip


def permutation(src: str | None, dst: str | None) -> tuple[int, ...] | None:
    """The axes permutation taking an image tensor from layout ``src`` to ``dst`` (for
    ``np.transpose``), or None when nothing moves (same layout, or either is not an image)."""
    if src is None or dst is None or src == dst:
        return None
    return (0, 2, 3, 1) if (src, dst) == (NCHW, NHWC) else (0, 3, 1, 2)


def describe_layouts(own, source=None) -> str:
    """An artifact's I/O layout in words for the summary and the report: "NCHW", "NHWC
    (source NCHW)", or "" when no input or output is an image. ``own``/``source``: the layout
    (or None) of each input and output."""
    mine = "/".join(dict.fromkeys(x for x in own if x))
    theirs = "/".join(dict.fromkeys(x for x in (source or ()) if x))
    return f"{mine} (source {theirs})" if mine and theirs and theirs != mine else mine


def image_layout(shape: Sequence, channels_first: bool) -> str | None:
    """The layout a source framework gives a rank-4 tensor (None for any other rank)."""
    if len(shape) != 4:
        return None
    return NCHW if channels_first else NHWC


def parse_input_shapes(text: str | None) -> dict[str | None, tuple[int, ...]]:
    """Read ``--input-shape``: ``1x96x96x3`` or ``name=1x96x96x3;other=1x10``."""
    if not text:
        return {}
    shapes: dict[str | None, tuple[int, ...]] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        name, sep, dims = part.rpartition("=")
        try:
            shape = tuple(int(d) for d in re.split(r"[x,]", dims.strip()))
        except ValueError:
            raise OptionError(
                f"--input-shape '{part}': write dimensions as 1x96x96x3 (optionally NAME=...)"
            ) from None
        if any(d < 1 for d in shape):
            raise OptionError(f"--input-shape '{part}': dimensions must be positive")
        shapes[name.strip() if sep else None] = shape
    return shapes


def resolve_shape(
    name: str, shape: Sequence[int | None], batch: int, overrides: Mapping[str | None, tuple]
) -> tuple[int, ...]:
    """Fix an input's shape: the user's override, else batch for a free first dim."""
    given = overrides.get(name, overrides.get(None) if len(overrides) == 1 else None)
    if given is not None:
        if len(given) != len(shape) or any(
            s is not None and s != g for s, g in zip(list(shape)[1:], given[1:])
        ):
            raise OptionError(
                f"--input-shape {'x'.join(map(str, given))} does not match input '{name}' "
                f"of shape {_fmt(shape)}"
            )
        return tuple(int(g) for g in given)
    dims = list(shape)
    if dims and dims[0] is None:
        dims[0] = batch
    if any(d is None for d in dims):
        raise OptionError(
            f"input '{name}' has shape {_fmt(shape)} with unknown dimensions; fix them with "
            f"--input-shape {name}={'x'.join('1' if d is None else str(d) for d in dims)}"
        )
    return tuple(int(d) for d in dims)


def _fmt(shape) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"
