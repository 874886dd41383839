"""SourceModel: the loaded float model every target starts from.

Loading picks a loader by file type (``edgekit.loaders``), resolves the input signature to
fixed shapes (batch 1 unless asked), and keeps a handle each target can ask for in the form
its converter wants: a Keras model, a concrete function, ONNX or TFLite bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from edgekit.errors import ModelFileError, OptionError
# Re-exported: the shape helpers are core types below the loaders (which model.py imports).
from edgekit.tensors import TensorInfo, parse_input_shapes, resolve_shape  # noqa: F401


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
    kind: str  # "keras", "tf_keras", "saved_model", "tflite", "onnx" or "torch"
    name: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    batch: int
    backend: Backend = field(repr=False, compare=False)

    @property
    def via_torch(self) -> bool:
        """TFLite and Core ML convert this model through PyTorch: PyTorch sources, and ONNX
        ones (onnx2torch makes their ExportedProgram; OpenVINO reads the ONNX itself)."""
        return self.kind in ("torch", "onnx")

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
    def _handle(self, getter: str, lacks: str):
        """The backend's ``getter()``, or one error saying this kind of model ``lacks`` that form."""
        get = getattr(self.backend, getter, None)
        if get is None:
            raise ModelFileError(f"{self.path}: a {self.kind} model {lacks}")
        return get()

    def keras_model(self):
        """A Keras model with the fixed input signature (Keras 3 or tf_keras)."""
        return self._handle("fixed_keras_model", "has no Keras form")

    def concrete_function(self):
        """``(tf ConcreteFunction with fixed signature, trackable owner)`` for TF converters."""
        return self._handle("fixed_concrete_function", "has no TF function form")

    def onnx_bytes(self) -> bytes:
        """The ONNX model with the fixed input shapes and its weights inline."""
        return self._handle("onnx_bytes", "is not an ONNX model")

    def exported_program(self):
        """The ``torch.export`` ExportedProgram with fixed input shapes (PyTorch sources; ONNX
        sources through onnx2torch)."""
        return self._handle("exported_program", "is not a PyTorch program")

    def example_inputs(self) -> tuple:
        """Torch tensors of the fixed input shapes, for converters that trace (PyTorch sources)."""
        return self._handle("example_inputs", "is not a PyTorch program")

    def tflite_bytes(self) -> bytes:
        return self._handle("tflite_bytes", "is not a .tflite file")


def sanitize_name(text: str) -> str:
    """A file-name-safe model name (letters, digits, underscore)."""
    name = re.sub(r"[^0-9A-Za-z_]+", "_", text).strip("_")
    return name or "model"


def model_name(path: Path) -> str:
    """The name artifacts of the model at ``path`` are called after (file stem or folder name)."""
    path = Path(path)
    return sanitize_name(path.name if path.is_dir() else path.stem)


def load_model(
    path,
    *,
    batch: int = 1,
    input_shapes: Mapping[str | None, tuple[int, ...]] | None = None,
    signature: str | None = None,
    unsafe: bool = False,
    example_inputs=None,
) -> SourceModel:
    """Load ``.keras``, ``.h5``, a SavedModel directory, ``.tflite``, ``.onnx`` or ``.pt2`` into a
    SourceModel; or a ``torch.nn.Module`` given with ``example_inputs`` (a tensor or a tuple of
    tensors, one per ``forward`` argument, whose shapes become the fixed input shapes)."""
    from edgekit.loaders import pick_loader

    if not isinstance(path, (str, Path)):
        return _from_module(path, example_inputs)
    if example_inputs is not None:
        raise OptionError("example_inputs is for a torch.nn.Module; a model file carries its own signature")
    path = Path(path)
    if batch < 1:
        raise OptionError(f"--batch must be at least 1, got {batch}")
    if not path.exists():
        raise ModelFileError(f"{path}: no such file or directory")
    loader = pick_loader(path)
    backend = loader(
        path, batch=batch, input_shapes=dict(input_shapes or {}), signature=signature, unsafe=unsafe
    )
    return SourceModel(
        path=path,
        kind=backend.kind,
        name=model_name(path),
        inputs=backend.inputs,
        outputs=backend.outputs,
        batch=batch,
        backend=backend,
    )


def _from_module(module, example_inputs) -> SourceModel:
    from edgekit.loaders.torch import from_module

    if example_inputs is None:
        raise OptionError(
            f"load_model got a {type(module).__name__}, not a path; give a torch.nn.Module with "
            "example_inputs=(tensor, ...)"
        )
    backend = from_module(module, example_inputs)
    name = sanitize_name(type(module).__name__)
    return SourceModel(path=Path(name), kind=backend.kind, name=name, inputs=backend.inputs,
                       outputs=backend.outputs, batch=backend.inputs[0].shape[0] if backend.inputs else 1,
                       backend=backend)  # fmt: skip
