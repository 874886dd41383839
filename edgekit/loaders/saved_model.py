"""TensorFlow SavedModel directories (Keras-exported or plain ``tf.Module``).

The serving signature is re-traced as a concrete function with fixed input shapes. Going
through ``tf.saved_model.load`` rather than ``TFLiteConverter.from_saved_model`` also makes
old TF 2.x SavedModels work whose graphs carry training-only objects (optimizer slots) the
direct converter path trips on, and it gives TFLite/TFLM a static batch dimension.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.errors import ModelFileError, OptionError
from edgekit.loaders.saved_model_scan import check_saved_model
from edgekit.tensors import TensorInfo, image_layout, resolve_shape


class SavedModelBackend:
    kind = "saved_model"

    def __init__(self, loaded, signature_name: str, batch: int, input_shapes: dict):
        self.loaded = loaded
        self.signature_name = signature_name
        self.fn = loaded.signatures[signature_name]
        _, kwargs = self.fn.structured_input_signature
        self.input_names = sorted(kwargs)
        self.inputs = tuple(
            TensorInfo(
                n,
                resolve_shape(n, tuple(kwargs[n].shape.as_list()), batch, input_shapes),
                kwargs[n].dtype.name,
                layout=image_layout(kwargs[n].shape.as_list(), channels_first=False),  # TensorFlow: NHWC
            )
            for n in self.input_names
        )
        outs = self.fn.structured_outputs
        self.output_names = sorted(outs) if isinstance(outs, dict) else [f"output_{i}" for i in range(len(outs))]
        out_batch = self.inputs[0].shape[0] if self.inputs else batch
        self.outputs = tuple(
            TensorInfo(
                n,
                tuple(out_batch if d is None else int(d) for d in spec.shape.as_list()),
                spec.dtype.name,
                layout=image_layout(spec.shape.as_list(), channels_first=False),
            )
            for n, spec in zip(self.output_names, _ordered(outs, self.output_names))
        )
        self._fixed = None

    def predict(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        import tensorflow as tf

        out = self.fn(**{n: tf.constant(a) for n, a in zip(self.input_names, arrays)})
        return [np.asarray(o) for o in _ordered(out, self.output_names)]

    def fixed_concrete_function(self):
        """The signature traced at the fixed input shapes, and its owning object."""
        if self._fixed is None:
            import tensorflow as tf

            names, fn = self.input_names, self.fn

            def call(*args):
                out = fn(**dict(zip(names, args)))
                return {k: out[k] for k in self.output_names} if isinstance(out, dict) else out

            specs = [tf.TensorSpec(t.shape, t.dtype, name=t.name) for t in self.inputs]
            self._fixed = tf.function(call).get_concrete_function(*specs)
        return self._fixed, self.loaded


def _ordered(outs, names):
    if isinstance(outs, dict):
        return [outs[n] for n in names]
    return list(outs)


def load_saved_model(path: Path, *, batch: int, input_shapes: dict, signature, unsafe: bool):
    """Load a SavedModel directory's serving signature into a SavedModelBackend."""
    check_saved_model(path, unsafe)
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as e:  # TF raises its own error types for corrupt protos
        raise ModelFileError(
            f"{path}: not a loadable TensorFlow SavedModel ({type(e).__name__}: "
            f"{str(e).strip().splitlines()[0][:200] if str(e).strip() else ''})"
        ) from e
    names = sorted(getattr(loaded, "signatures", {}) or {})
    if not names:
        raise ModelFileError(
            f"{path}: the SavedModel has no serving signature; export it with "
            "tf.saved_model.save(obj, dir, signatures=...) or model.export(dir)"
        )
    if signature is None:
        signature = "serving_default" if "serving_default" in names else names[0]
    elif signature not in names:
        raise OptionError(f"--signature {signature}: {path} has only {', '.join(names)}")
    return SavedModelBackend(loaded, signature, batch, input_shapes)
