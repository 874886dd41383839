"""Tensors of a model's signature: names, fixed shapes, dtypes and quantization, and the
rules that fix unknown dimensions. A core type: loaders, runners and formats all use it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from edgekit.errors import OptionError


@dataclass(frozen=True)
class TensorInfo:
    """Name, fixed shape and dtype of one model input or output (quantization if any)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float | None = None
    zero_point: int | None = None

    @property
    def quantized(self) -> bool:
        return self.scale is not None and self.scale != 0.0

    def to_json(self) -> dict:
        d: dict[str, Any] = {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}
        if self.quantized:
            d["scale"] = self.scale
            d["zero_point"] = self.zero_point
        return d


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
