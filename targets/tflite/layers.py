"""Where an int8 TFLite model loses accuracy, layer by layer, and the fix.

Uses TensorFlow's QuantizationDebugger: it runs a debug model in which every quantized op is
paired with its float version fed the same (quantized) input, so each layer's error is its
own, not inherited. edgekit scores each layer by its median per-channel relative RMSE
(||q - f|| / ||f|| per output channel): one outlier channel that widens a tensor's range
destroys the other channels' resolution, which a whole-tensor error hides.

The fix is selective quantization: ``--float-layers`` keeps the named layers in float
(TensorFlow's denylisted nodes), everything else int8; that conversion lives in
``targets.tflite.convert`` with the others.
"""

from __future__ import annotations

import numpy as np

from edgekit.errors import UnsupportedError
# short_name and resolve_float_layers name layers the way --float-layers reads them: re-exported.
from targets.tflite.convert import debugger, layer_names, resolve_float_layers, short_name  # noqa: F401

REPORTED = 10
# Source kinds TensorFlow's QuantizationDebugger converts (the report's engine).
DEBUGGABLE = ("keras", "tf_keras", "saved_model")


def _channel_error(floats, quants, scale, zero_point) -> float:
    channels = np.shape(floats[0])[-1] if np.ndim(floats[0]) else 1
    f = np.concatenate([np.asarray(x, np.float64).reshape(-1, channels) for x in floats])
    q = (np.concatenate([np.asarray(x, np.float64).reshape(-1, channels) for x in quants]) - zero_point) * scale
    rms = np.sqrt((f**2).mean(axis=0))
    err = np.sqrt(((q - f) ** 2).mean(axis=0))
    live = rms > 1e-12
    return float(np.median(err[live] / rms[live])) if live.any() else 0.0


def _tensor_error(floats, quants, scale, zero_point) -> float:
    f = np.concatenate([np.asarray(x, np.float64).ravel() for x in floats])
    q = (np.concatenate([np.asarray(x, np.float64).ravel() for x in quants]) - zero_point) * scale
    norm = np.linalg.norm(f)
    return float(np.linalg.norm(q - f) / norm) if norm else 0.0


def check_source(model) -> None:
    """Refuse ``--layers`` for a source the report cannot cover, before any conversion starts:
    TensorFlow's QuantizationDebugger re-converts the model, so only TensorFlow-family sources."""
    if model.kind not in DEBUGGABLE:
        kind = {"tflite": ".tflite", "onnx": "ONNX", "torch": "PyTorch"}.get(model.kind, model.kind)
        raise UnsupportedError(
            f"--layers: the per-layer report re-converts Keras and SavedModel sources with TensorFlow's "
            f"QuantizationDebugger, not {model.path} ({kind}, quantized by AI Edge Quantizer): drop --layers"
        )


def layer_report(model, spec, calib, debug_data, samples: int = 64, session=None) -> list[dict]:
    """Per-layer quantization error of the int8 conversion of ``model``, worst first
    (``session``: the export run's, whose float32 conversion names the layers)."""
    from quantize.calibration import calibration_samples

    if spec.scheme != "int8":
        raise UnsupportedError("the per-layer report covers int8 TFLite artifacts")
    check_source(model)
    dbg = debugger(model, spec, calibration_samples(calib, spec.calib_size, model.batch),
                   calibration_samples(debug_data, samples, model.batch),
                   metrics={"channel_error": _channel_error, "tensor_error": _tensor_error})  # fmt: skip
    dbg.run()
    known = set(layer_names(model, session))
    rows = []
    for key, stats in dbg.layer_statistics.items():
        name = key[len("NumericVerify/"):].rsplit(":", 1)[0]
        # The debug model appends "1" to its copies of some tensor names: use the model's.
        if name not in known and name.endswith("1") and name[:-1] in known:
            name = name[:-1]
        rows.append({
            "layer": short_name(name), "tensor": name,
            "channel_error": float(stats["channel_error"]), "tensor_error": float(stats["tensor_error"]),
        })  # fmt: skip
    rows.sort(key=lambda r: (-r["channel_error"], r["layer"]))
    return rows[:REPORTED]


def suggest_float_layers(int8_model: bytes, worst: list[str]) -> list[str]:
    """Layers to keep float so that the tensors of the ``worst`` layers are never quantized.

    A damaged activation stays damaged through ops that keep its scale (pooling, reshape,
    concatenation...), and every op that reads it at that scale inherits the damage, so the
    suggestion is each worst layer plus its consumers up to and including the first op that
    produces a tensor with a scale of its own.
    """
    from edgekit.tflite_graph import TFLiteGraph

    sg = TFLiteGraph(int8_model).main
    producer = {o: op for op in sg.ops for o in op.outputs}
    consumers: dict[int, list] = {}
    for op in sg.ops:
        for i in op.inputs:
            consumers.setdefault(i, []).append(op)
    chosen: list[str] = []
    for name in worst:
        start = [t.index for t in sg.tensors if short_name(t.name) == name and t.index in producer]
        queue = list(start)
        if start:
            chosen.append(name)
        while queue:
            t = sg.tensors[queue.pop(0)]
            for op in consumers.get(t.index, []):
                out = sg.tensors[op.outputs[0]]
                layer = short_name(out.name)
                if layer not in chosen:
                    chosen.append(layer)
                    if out.quant is not None and t.quant is not None and out.quant.scale == t.quant.scale:
                        queue.append(out.index)  # same scale: the damage travels on
    return chosen


def diagnose(model, artifact, spec, calib, evalset, session=None) -> dict | None:
    """The per-layer error of an int8 artifact and the --float-layers fix; None for other
    schemes (and for one that already keeps layers float)."""
    if spec.scheme != "int8" or spec.float_layers:
        return None
    rows = layer_report(model, spec, calib, evalset, session=session)
    return {"worst": rows, "suggestion": suggest_float_layers(artifact.primary.read_bytes(), [rows[0]["layer"]]) if rows else []}
