"""TFLite / LiteRT flatbuffers through TensorFlow's ``TFLiteConverter``.

Keras models go through ``from_keras_model`` (with the fixed-shape input layers the
SourceModel resolved), SavedModels through their fixed-signature concrete function. A
``.tflite`` source is re-emitted unchanged when it already is the requested scheme.
Every written file is loaded once in LiteRT and invoked, to prove it runs.
"""

from __future__ import annotations

from pathlib import Path

from edgekit.errors import ConversionError, EdgekitError, UnsupportedError
from edgekit.model import SourceModel
from edgekit.tflite_graph import TFLiteGraph
from quantize.calibration import calibration_record, calibration_samples, representative_dataset
from quantize.spec import QuantSpec
from targets.base import Artifact, check_scheme, tflite_source_scheme

_DESCRIBE = {
    "float32": "float32 weights and activations",
    "float16": "float16 weights (dequantized to float32 at load), float32 compute",
    "dynamic": "int8 weights (tensors of 1024+ elements), activations quantized on the fly",
    "int8": "int8 weights and activations (full integer)",
    "int16x8": "int8 weights, int16 activations (16x8)",
    "sparse": "float32 weights stored sparse where zero-heavy (prune first: --prune sparsity=0.8), float32 compute",
}


class TFLiteTarget:
    name = "tflite"
    schemes = frozenset(_DESCRIBE)
    suffix = ".tflite"

    def check(self, model: SourceModel | None, spec: QuantSpec) -> None:
        """Refuse schemes TFLite cannot produce, and re-quantizing a .tflite source."""
        check_scheme(self, spec)
        have = tflite_source_scheme(model)
        if have is not None:
            if spec.scheme != have:
                raise UnsupportedError(
                    f"{model.path} is already a {have} .tflite and can only be re-emitted as it is "
                    f"(--quant {have}); to get {spec.scheme}, export from the Keras or SavedModel source"
                )

    def describe(self, spec: QuantSpec) -> str:
        text = _DESCRIBE[spec.scheme]
        if spec.float_layers:
            text += f", float layers: {', '.join(spec.float_layers)}"
        if spec.scheme in ("dynamic", "int8", "int16x8"):
            text += {
                "all": ", per-channel weights",
                "conv": ", per-channel conv weights, per-tensor dense weights",
                "none": ", per-tensor weights",
            }[spec.per_channel]
        if spec.needs_calibration:
            text += f", I/O {spec.io}"
        return text

    def export(self, model: SourceModel, spec: QuantSpec, out_dir: Path, calib=None) -> Artifact:
        """Convert ``model`` for ``spec`` into ``out_dir/<name>_<scheme>.tflite``."""
        self.check(model, spec)
        notes = [self.describe(spec)]
        meta: dict = {}
        if model.kind == "tflite":
            content = model.tflite_bytes()
            notes.append("re-emitted unchanged from the .tflite source")
        else:
            content = convert_cached(model, spec, calib)
            if spec.needs_calibration:
                meta["calibration"], note = calibration_record(calib, _CACHE[_key(model, spec, calib)][1])
                notes.append(note)
        out_dir.mkdir(parents=True, exist_ok=True)
        filename = f"{model.name}_{spec.scheme}{self.suffix}"
        (out_dir / filename).write_bytes(content)

        from edgekit.simulate.litert import LiteRTRunner

        runner = LiteRTRunner()
        runner.load(content, filename)
        runner.smoke_test()
        graph = TFLiteGraph(content, filename)
        produced = graph.quant_scheme()
        if spec.scheme == "sparse":
            notes.append(_sparse_note(graph))
        elif produced != spec.scheme:
            notes.append(
                f"the converter left the model {produced}: "
                + ("TFLite quantizes only weight tensors of 1024+ elements" if spec.scheme == "dynamic" else "no tensor qualified")
            )
        meta["ops"] = graph.op_histogram()
        meta["macs"] = graph.macs
        return Artifact(
            target=self.name,
            scheme=spec.scheme,
            directory=out_dir,
            files=(filename,),
            inputs=runner.inputs,
            outputs=runner.outputs,
            notes=tuple(notes),
            metadata=meta,
        )


# (model backend, spec, calibration set) -> (bytes, calibration samples used, the objects keyed
# by id, kept alive so their ids cannot be reused). The TFLite and TFLM targets of one run
# share a conversion; a run holds a handful of entries at most.
_CACHE: dict[tuple, tuple] = {}


def _key(model: SourceModel, spec: QuantSpec, calib) -> tuple:
    return (id(model.backend), spec, id(calib) if spec.needs_calibration else None)


def convert_cached(model: SourceModel, spec: QuantSpec, calib=None) -> bytes:
    """The TFLite flatbuffer for ``spec``, converted once per model, spec and calibration set."""
    key = _key(model, spec, calib)
    if key not in _CACHE:
        samples = None
        if spec.needs_calibration:
            if calib is None:
                raise UnsupportedError(f"scheme {spec.scheme} needs calibration data (--calib)")
            samples = calibration_samples(calib, spec.calib_size, model.batch)
        if len(_CACHE) >= 8:
            _CACHE.pop(next(iter(_CACHE)))
        used = sum(len(s[0]) for s in samples) if samples else 0
        _CACHE[key] = (_convert(model, spec, samples), used, model.backend, calib)
        from edgekit.simulate.probe import trust

        trust(_CACHE[key][0])  # our converter's output goes to LiteRT without a crash probe
    return _CACHE[key][0]


def _converter(model: SourceModel):
    import tensorflow as tf

    if model.kind in ("keras", "tf_keras"):
        return tf.lite.TFLiteConverter.from_keras_model(model.keras_model())
    fn, owner = model.concrete_function()
    return tf.lite.TFLiteConverter.from_concrete_functions([fn], owner)


def configured_converter(model: SourceModel, spec: QuantSpec, samples, allow_float: bool = False):
    """A TFLiteConverter set up for ``spec`` (``allow_float``: float kernels allowed too)."""
    import tensorflow as tf

    conv = _converter(model)
    scheme = spec.scheme
    if scheme == "sparse":
        conv.optimizations = [tf.lite.Optimize.EXPERIMENTAL_SPARSITY]
    elif scheme != "float32":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if scheme == "float16":
        conv.target_spec.supported_types = [tf.float16]
    if scheme in ("int8", "int16x8"):
        conv.representative_dataset = representative_dataset(samples)
        conv.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8
            if scheme == "int8"
            else tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ] + ([tf.lite.OpsSet.TFLITE_BUILTINS] if allow_float else [])
        io = {"int8": tf.int8, "uint8": tf.uint8, "int16": tf.int16, "float32": tf.float32}[spec.io]
        conv.inference_input_type = io
        conv.inference_output_type = io
    # No public switches exist; these are the flags TFLiteConverter itself reads.
    if spec.per_channel == "none":
        conv._experimental_disable_per_channel = True
    elif spec.per_channel == "conv":
        conv._experimental_disable_per_channel_quantization_for_dense_layers = True
    return conv


def _convert(model: SourceModel, spec: QuantSpec, samples) -> bytes:
    scheme = spec.scheme
    try:
        if spec.float_layers:
            from targets.tflite_layers import selective_int8

            return selective_int8(model, spec, samples)
        return bytes(configured_converter(model, spec, samples).convert())
    except EdgekitError:
        raise
    except Exception as e:  # ConverterError and friends carry the MLIR diagnostics
        raise ConversionError(
            f"TFLite converter failed for {model.path} ({scheme}): {_diagnostic(e)}"
            + (" — try --quant int8, which supports more ops" if scheme == "int16x8" else "")
        ) from e


def _sparse_note(graph: TFLiteGraph) -> str:
    """How many weight tensors the converter stored sparse (smaller than their dense bytes)."""
    sparse = [t for t in graph.constants if t.dtype == "float32" and 0 < t.data_bytes < t.nbytes]
    if not sparse:
        return "no weight tensor was sparse enough to be stored sparse; prune first (--prune sparsity=0.8)"
    return (f"{len(sparse)} weight tensor(s) stored sparse ({sum(t.data_bytes for t in sparse):,} B instead of "
            f"{sum(t.nbytes for t in sparse):,} B); LiteRT densifies them at load")  # fmt: skip


def _diagnostic(e: Exception) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    for ln in lines:
        if "error:" in ln:
            return ln[ln.index("error:") + 6 :].strip()[:300]
    return (lines[0] if lines else type(e).__name__)[:300]
