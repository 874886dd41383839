"""SourceModel: the loaded float model every target starts from.

Loading picks a loader by file type (``edgekit.loaders``), resolves the input signature to
fixed shapes (batch 1 unless asked), and keeps a handle each target can ask for in the form
its converter wants: a Keras model, a concrete function, or TFLite bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from edgekit.errors import ModelFileError, OptionError


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


class Backend(Protocol):
    """What a loader hands the SourceModel: the framework object behind it."""

    kind: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]

    def predict(self, arrays: list[np.ndarray]) -> list[np.ndarray]: ...


@dataclass(frozen=True)
class SourceModel:
    """A loaded float model with fixed input signatures."""

    path: Path
    kind: str  # "keras", "tf_keras", "saved_model" or "tflite"
    name: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    batch: int
    backend: Backend = field(repr=False, compare=False)

    def predict(self, batch: np.ndarray | Sequence[np.ndarray] | Mapping[str, np.ndarray]):
        """Float reference outputs (one array per output) for a batch of inputs."""
        return self.backend.predict(self.as_input_list(batch))

    def as_input_list(self, batch) -> list[np.ndarray]:
        """Order a batch given as an array, a list or a name->array mapping by model input."""
        if isinstance(batch, Mapping):
            missing = [t.name for t in self.inputs if t.name not in batch]
            if missing:
                raise OptionError(f"batch lacks model input(s) {', '.join(missing)}")
            arrays = [batch[t.name] for t in self.inputs]
        elif isinstance(batch, np.ndarray):
            arrays = [batch]
        else:
            arrays = list(batch)
        if len(arrays) != len(self.inputs):
            raise OptionError(
                f"model {self.name} has {len(self.inputs)} input(s), got {len(arrays)} array(s)"
            )
        # A quantized input takes floats (quantized by the runner) or raw integers as stored.
        return [np.asarray(a) if t.quantized else np.asarray(a, dtype=t.dtype) for a, t in zip(arrays, self.inputs)]

    # Handles for targets, in the form each converter wants.
    def keras_model(self):
        """A Keras model with the fixed input signature (Keras 3 or tf_keras)."""
        getter = getattr(self.backend, "fixed_keras_model", None)
        if getter is None:
            raise ModelFileError(f"{self.path}: a {self.kind} model has no Keras form")
        return getter()

    def concrete_function(self):
        """``(tf ConcreteFunction with fixed signature, trackable owner)`` for TF converters."""
        getter = getattr(self.backend, "fixed_concrete_function", None)
        if getter is None:
            raise ModelFileError(f"{self.path}: a {self.kind} model has no TF function form")
        return getter()

    def tflite_bytes(self) -> bytes:
        getter = getattr(self.backend, "tflite_bytes", None)
        if getter is None:
            raise ModelFileError(f"{self.path}: a {self.kind} model is not a .tflite file")
        return getter()


def sanitize_name(text: str) -> str:
    """A file-name-safe model name (letters, digits, underscore)."""
    name = re.sub(r"[^0-9A-Za-z_]+", "_", text).strip("_")
    return name or "model"


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


def load_model(
    path: str | Path,
    *,
    batch: int = 1,
    input_shapes: Mapping[str | None, tuple[int, ...]] | None = None,
    signature: str | None = None,
    unsafe: bool = False,
) -> SourceModel:
    """Load ``.keras``, ``.h5``, a SavedModel directory or ``.tflite`` into a SourceModel."""
    from edgekit.loaders import pick_loader

    path = Path(path)
    if batch < 1:
        raise OptionError(f"--batch must be at least 1, got {batch}")
    if not path.exists():
        raise ModelFileError(f"{path}: no such file or directory")
    loader = pick_loader(path)
    backend = loader(
        path, batch=batch, input_shapes=dict(input_shapes or {}), signature=signature, unsafe=unsafe
    )
    stem = path.name if path.is_dir() else path.stem
    return SourceModel(
        path=path,
        kind=backend.kind,
        name=sanitize_name(stem),
        inputs=backend.inputs,
        outputs=backend.outputs,
        batch=batch,
        backend=backend,
    )
