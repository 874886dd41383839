"""TensorFlow's TFLiteConverter set up for a QuantSpec, and the conversions of one run.

The TFLite and TFLM targets (and pruning's size report) of one export run share one
conversion per model, spec and calibration set through the run's ExportSession. Selective
int8 (``--float-layers``: named layers kept float) converts through TensorFlow's
QuantizationDebugger, which the per-layer report in ``targets.tflite.layers`` uses too.
"""

from __future__ import annotations

from edgekit.errors import ConversionError, EdgekitError, OptionError, UnsupportedError
from edgekit.model import SourceModel
from edgekit.session import ExportSession, session_or_new
from quantize.calibration import calibration_samples, representative_dataset
from quantize.spec import QuantSpec
from targets.tflite.converted import Conversion

# Schemes of a PyTorch source: its float32 .tflite (litert-torch) as it is, with float16
# weights, or quantized by AI Edge Quantizer.
QUANTIZED_FROM_FLOAT = ("int8", "int16x8", "dynamic")
TORCH_SCHEMES = ("float32", "float16", *QUANTIZED_FROM_FLOAT)


def conversion(model: SourceModel, spec: QuantSpec, calib=None, session: ExportSession | None = None,
               layout: str | None = None) -> Conversion:  # fmt: skip
    """The TFLite conversion for ``spec``, made once per model, spec, calibration set and I/O
    layout of a session (the TFLite and TFLM targets and pruning's size report of one run share
    it). ``layout``: "nhwc" for channels-last I/O of a channels-first source, None: the source's.
    A ``.tflite`` source is taken as it is when it already is ``spec``'s scheme; a float32 one,
    and the float32 conversion of a PyTorch source, are quantized by AI Edge Quantizer
    (``targets.tflite.post_quantize``)."""
    session = session_or_new(session)
    if model.kind == "tflite":
        data = model.tflite_bytes()
        if model.backend.graph.quant_scheme() == spec.scheme:
            return Conversion(data, 0)
        from targets.tflite.post_quantize import quantize_float_tflite

        return quantize_float_tflite(data, spec, calib, session, batch=model.batch, source=str(model.path))
    if model.via_torch and spec.scheme in QUANTIZED_FROM_FLOAT:
        from targets.tflite.post_quantize import quantize_float_tflite
        from targets.tflite.torch_convert import calibration_in_layout

        return quantize_float_tflite(float_source(model, session, layout), spec,
                                     calibration_in_layout(model, calib, layout, session), session,
                                     batch=model.batch, source=str(model.path))  # fmt: skip
    key = ("tflite", id(model.backend), spec, id(calib) if spec.needs_calibration else None, layout)

    def make() -> Conversion:
        samples = None
        if spec.needs_calibration:
            if calib is None:
                raise UnsupportedError(f"scheme {spec.scheme} needs calibration data (--calib)")
            samples = calibration_samples(calib, spec.calib_size, model.batch)
        data = _convert(model, spec, samples, session, layout)
        session.trust(data)  # our converter's output goes to LiteRT without a crash probe
        return Conversion(data, sum(len(s[0]) for s in samples) if samples else 0)

    return session.cached(key, make, keep=(model.backend, calib))


def convert_cached(model: SourceModel, spec: QuantSpec, calib=None, session: ExportSession | None = None,
                   layout: str | None = None) -> bytes:  # fmt: skip
    """The TFLite flatbuffer of ``conversion``."""
    return conversion(model, spec, calib, session, layout).data


def float_source(model: SourceModel, session: ExportSession, layout: str | None = None) -> bytes:
    """The float32 flatbuffer of a source TensorFlow's converter does not read (PyTorch, via
    litert-torch), once per session: the other schemes quantize it."""
    from targets.tflite import torch_convert

    def make() -> bytes:
        data = torch_convert.float_flatbuffer(model, layout)
        session.trust(data)
        return data

    return session.cached(("tflite-float", id(model.backend), layout), make, keep=(model.backend,))


def _from_float(model: SourceModel, spec: QuantSpec, session: ExportSession | None, layout) -> bytes:
    """float32 or float16 of a PyTorch source (``conversion`` quantizes the others)."""
    from targets.tflite import torch_convert

    data = float_source(model, session_or_new(session), layout)
    if spec.scheme == "float16":
        return torch_convert.float16_flatbuffer(data)
    if spec.scheme != "float32":
        raise UnsupportedError(f"{model.path}: a PyTorch model converts to tflite {', '.join(TORCH_SCHEMES)}, "
                               f"not {spec.scheme}")  # fmt: skip
    return data


def tflite_of(model: SourceModel, spec: QuantSpec, calib=None, session: ExportSession | None = None) -> bytes:
    """The model as TFLite bytes for targets that compile a flatbuffer (tflm, c): ``conversion``'s,
    which takes a ``.tflite`` source as it is or quantizes a float one (once per ``session``)."""
    return convert_cached(model, spec, calib, session)


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


def _convert(model: SourceModel, spec: QuantSpec, samples, session: ExportSession | None = None,
             layout: str | None = None) -> bytes:  # fmt: skip
    """TensorFlow-family sources are NHWC already: ``layout`` changes nothing for them; a
    PyTorch source converts through litert-torch with channels-last I/O when it is "nhwc"."""
    scheme = spec.scheme
    try:
        if model.via_torch:
            return _from_float(model, spec, session, layout)
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
