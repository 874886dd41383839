"""TensorFlow's TFLiteConverter set up for a QuantSpec, and the conversions of one run.

The TFLite and TFLM targets (and pruning's size report) of one export run share one
conversion per model, spec and calibration set through the run's ExportSession. Selective
int8 (``--float-layers``: named layers kept float) converts through TensorFlow's
QuantizationDebugger, which the per-layer report in ``targets.tflite.layers`` uses too.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.errors import ConversionError, EdgekitError, OptionError, UnsupportedError
from edgekit.model import SourceModel
from edgekit.session import ExportSession, session_or_new
from quantize.calibration import calibration_samples, representative_dataset
from quantize.spec import QuantSpec


@dataclass(frozen=True)
class Conversion:
    """One TFLite conversion: the flatbuffer and how many calibration samples it used."""

    data: bytes
    calibration_used: int


def conversion(model: SourceModel, spec: QuantSpec, calib=None, session: ExportSession | None = None) -> Conversion:
    """The TFLite conversion for ``spec``, made once per model, spec and calibration set of a
    session (the TFLite and TFLM targets and pruning's size report of one run share it)."""
    session = session_or_new(session)
    key = ("tflite", id(model.backend), spec, id(calib) if spec.needs_calibration else None)

    def make() -> Conversion:
        samples = None
        if spec.needs_calibration:
            if calib is None:
                raise UnsupportedError(f"scheme {spec.scheme} needs calibration data (--calib)")
            samples = calibration_samples(calib, spec.calib_size, model.batch)
        data = _convert(model, spec, samples, session)
        session.trust(data)  # our converter's output goes to LiteRT without a crash probe
        return Conversion(data, sum(len(s[0]) for s in samples) if samples else 0)

    return session.cached(key, make, keep=(model.backend, calib))


def convert_cached(model: SourceModel, spec: QuantSpec, calib=None, session: ExportSession | None = None) -> bytes:
    """The TFLite flatbuffer of ``conversion``."""
    return conversion(model, spec, calib, session).data


def tflite_of(model: SourceModel, spec: QuantSpec, calib=None, session: ExportSession | None = None) -> bytes:
    """The model as TFLite bytes for targets that compile a flatbuffer (tflm, c): a ``.tflite``
    source as it is, anything else converted (once per ``session``)."""
    return model.tflite_bytes() if model.kind == "tflite" else convert_cached(model, spec, calib, session)


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


def _convert(model: SourceModel, spec: QuantSpec, samples, session: ExportSession | None = None) -> bytes:
    scheme = spec.scheme
    try:
        if spec.float_layers:
            return selective_int8(model, spec, samples, session)
        return bytes(configured_converter(model, spec, samples).convert())
    except EdgekitError:
        raise
    except Exception as e:  # ConverterError and friends carry the MLIR diagnostics
        raise ConversionError(
            f"TFLite converter failed for {model.path} ({scheme}): {_diagnostic(e)}"
            + (" — try --quant int8, which supports more ops" if scheme == "int16x8" else "")
        ) from e


def _diagnostic(e: Exception) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    for ln in lines:
        if "error:" in ln:
            return ln[ln.index("error:") + 6 :].strip()[:300]
    return (lines[0] if lines else type(e).__name__)[:300]


def short_name(tensor_name: str) -> str:
    """The first of the ';'-joined names TFLite gives a fused op's output."""
    return tensor_name.split(";")[0]


def resolve_float_layers(names: tuple[str, ...], candidates: list[str]) -> list[str]:
    """Full output-tensor names for the layers the user named (full or short names)."""
    resolved = []
    for name in names:
        exact = [c for c in candidates if c == name or short_name(c) == name]
        if len(exact) != 1:
            near = sorted({short_name(c) for c in candidates if name in c})[:5]
            why = "matches several layers" if exact else "matches no layer"
            hint = f"; did you mean {', '.join(near)}?" if near else "; the per-layer report lists the names"
            raise OptionError(f"--float-layers {name!r} {why}{hint}")
        resolved.append(exact[0])
    return resolved


def layer_names(model, session: ExportSession | None = None) -> list[str]:
    """Output tensor names of the model's ops, as the float32 TFLite conversion names them."""
    from edgekit.tflite_graph import TFLiteGraph

    graph = TFLiteGraph(convert_cached(model, QuantSpec("float32"), session=session))
    return [graph.main.tensors[o].name for op in graph.main.ops for o in op.outputs]


def debugger(model, spec, samples, debug_samples, denylist=None, metrics: dict | None = None):
    """TensorFlow's QuantizationDebugger on the int8 conversion of ``model`` (``denylist``
    layers kept float; ``metrics``: per-layer direct-compare metrics by name)."""
    import tensorflow as tf

    conv = configured_converter(model, spec, samples, allow_float=bool(denylist))
    options = tf.lite.experimental.QuantizationDebugOptions(
        layer_direct_compare_metrics=metrics,
        denylisted_nodes=list(denylist or []) or None,
        fully_quantize=spec.io != "float32",
    )
    return tf.lite.experimental.QuantizationDebugger(
        converter=conv, debug_dataset=representative_dataset(debug_samples), debug_options=options
    )


def selective_int8(model, spec, samples, session: ExportSession | None = None) -> bytes:
    """int8 model with ``spec.float_layers`` kept in float (TensorFlow's denylisted nodes)."""
    if spec.io == "uint8":
        raise OptionError("--float-layers works with --io-dtype int8 or float32")
    denylist = resolve_float_layers(spec.float_layers, layer_names(model, session))
    dbg = debugger(model, spec, samples, samples[:1], denylist=denylist)
    return bytes(dbg.get_nondebug_quantized_model())
