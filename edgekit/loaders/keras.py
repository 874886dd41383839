"""Keras models: ``.keras`` (Keras 3) and ``.h5`` (Keras 3 or legacy Keras 2 via tf_keras).

Keras 2 HDF5 files are loaded with ``tf_keras``, the maintained Keras 2 implementation:
Keras 3's legacy reader rejects some of their layer configs (for example the ``groups``
argument old DepthwiseConv2D configs carry). Keras 3 files go through Keras 3.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from edgekit.errors import ModelFileError, UnsafeModelError
from edgekit.loaders.safety import check_keras_config
from edgekit.tensors import TensorInfo, image_layout, resolve_shape


def _h5_header(path: Path) -> tuple[str | None, str | bytes | None]:
    """(keras_version, model_config JSON) of an HDF5 model file."""
    try:
        import h5py

        with h5py.File(path, "r") as f:
            attrs = dict(f.attrs)
    except OSError as e:
        raise ModelFileError(
            f"{path}: not a readable HDF5 file (truncated or not a Keras model?)"
        ) from e

    def text(v):
        return v.decode(errors="replace") if isinstance(v, bytes) else (str(v) if v is not None else None)

    config = attrs.get("model_config")
    return text(attrs.get("keras_version")), config if isinstance(config, bytes) else text(config)


def _keras_zip_config(path: Path) -> bytes:
    try:
        with zipfile.ZipFile(path) as z:
            return z.read("config.json")
    # zlib.error: corrupt deflate data; NotImplementedError: unknown compression; RuntimeError: encrypted
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError) as e:
        raise ModelFileError(
            f"{path}: not a Keras 3 model file (a .keras file is a zip with config.json); "
            "re-save it with model.save('model.keras')"
        ) from e


def _dtype_name(dtype) -> str:
    return getattr(dtype, "name", None) or str(dtype)


def _image(t: TensorInfo) -> TensorInfo:
    """Keras images are channels last (a rank-4 tensor is NHWC)."""
    return replace(t, layout=image_layout(t.shape, channels_first=False))


class KerasBackend:
    def __init__(self, model, kind: str, batch: int, input_shapes: dict):
        self.model = model
        self.kind = kind
        self._fixed = None
        names = [t.name.split(":")[0] for t in model.inputs]
        self.inputs = tuple(
            _image(TensorInfo(n, resolve_shape(n, tuple(t.shape), batch, input_shapes), _dtype_name(t.dtype)))
            for n, t in zip(names, model.inputs)
        )
        out_names = list(getattr(model, "output_names", None) or [])
        if len(out_names) != len(model.outputs):
            out_names = [f"output_{i}" for i in range(len(model.outputs))]
        out_batch = self.inputs[0].shape[0] if self.inputs else batch
        self.outputs = tuple(
            _image(TensorInfo(n, tuple(out_batch if d is None else int(d) for d in t.shape), _dtype_name(t.dtype)))
            for n, t in zip(out_names, model.outputs)
        )

    def predict(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        out = self.model(arrays[0] if len(arrays) == 1 else arrays, training=False)
        if isinstance(out, dict):
            out = [out[k] for k in sorted(out)]
        elif not isinstance(out, (list, tuple)):
            out = [out]
        return [np.asarray(o) for o in out]

    def fixed_keras_model(self):
        """The model behind Input layers with the resolved fixed shapes."""
        if self._fixed is not None:
            return self._fixed
        declared = [tuple(t.shape) for t in self.model.inputs]
        if all(d == t.shape for d, t in zip(declared, self.inputs)):
            self._fixed = self.model
            return self._fixed
        if self.kind == "tf_keras":
            import tf_keras as K
        else:
            import keras as K
        ins = [K.Input(batch_shape=t.shape, dtype=t.dtype, name=t.name) for t in self.inputs]
        out = self.model(ins[0] if len(ins) == 1 else ins, training=False)
        self._fixed = K.Model(ins, out, name=self.model.name)
        return self._fixed


def load_keras(path: Path, *, batch: int, input_shapes: dict, signature, unsafe: bool):
    """Load a .keras or .h5 file into a KerasBackend."""
    suffix = path.suffix.lower()
    if suffix == ".keras":
        check_keras_config(_keras_zip_config(path), path, unsafe, what="config.json")
        order = ["keras"]
    else:
        version, config = _h5_header(path)
        if config is None:
            raise ModelFileError(
                f"{path}: HDF5 file holds no model architecture (weights only?); "
                "save the whole model with model.save()"
            )
        check_keras_config(config, path, unsafe)
        order = ["tf_keras", "keras"] if (version or "").startswith("2.") else ["keras", "tf_keras"]

    errors = []
    for kind in order:
        try:
            model = _load_with(kind, path, unsafe)
        except ImportError as e:
            errors.append(f"{kind} unavailable ({e})")
            continue
        except UnsafeModelError:
            raise
        except Exception as e:  # the frameworks raise anything from ValueError to TypeError
            if not unsafe and "safe_mode" in str(e):
                raise UnsafeModelError(
                    f"{path}: the model holds Python code (a Lambda layer) that would run while "
                    "loading; refused. Pass --unsafe only if you trust the file."
                ) from e
            errors.append(f"{kind}: {type(e).__name__}: {_first_line(e)}")
            continue
        return KerasBackend(model, kind, batch, input_shapes)
    raise ModelFileError(f"{path}: could not load the Keras model ({'; '.join(errors)})")


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0][:300] if text else ""


def _load_with(kind: str, path: Path, unsafe: bool):
    if kind == "tf_keras":
        import tf_keras

        return tf_keras.models.load_model(str(path), compile=False, safe_mode=not unsafe)
    import keras

    return keras.models.load_model(str(path), compile=False, safe_mode=not unsafe)

