"""TFLite / LiteRT flatbuffers through TensorFlow's ``TFLiteConverter``.

Keras models go through ``from_keras_model`` (with the fixed-shape input layers the
SourceModel resolved), SavedModels through their fixed-signature concrete function. A
``.tflite`` source is re-emitted unchanged when it already is the requested scheme; a float32
one is quantized to int8, int16x8 or dynamic by AI Edge Quantizer (``post_quantize``).
Every written file is loaded once in LiteRT and invoked, to prove it runs.
"""

from __future__ import annotations

from pathlib import Path

from edgekit.errors import UnsupportedError
from edgekit.model import SourceModel
from edgekit.session import ExportSession, session_or_new
from edgekit.tflite_graph import TFLiteGraph
from quantize.calibration import calibration_record
from quantize.spec import QuantSpec
from targets.base import Artifact, check_scheme, with_layouts
from targets.tflite.convert import TORCH_SCHEMES, conversion
from targets.tflite.post_quantize import check_source

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
    reemits_tflite = True  # a .tflite source already in the scheme is taken as it is (no calibration)
    schemes = frozenset(_DESCRIBE)
    suffix = ".tflite"

    def __init__(self, layout: str | None = None):
        # "nhwc": channels-last I/O for a channels-first (PyTorch, ONNX) source; None/"source":
        # the source's layout. TensorFlow-family sources are NHWC either way.
        self.layout = None if layout in (None, "source") else layout

    def check(self, model: SourceModel | None, spec: QuantSpec) -> None:
        """Refuse schemes TFLite cannot produce, and what a .tflite source cannot become."""
        check_scheme(self, spec)
        check_source(model, spec, self.name)
        if model is not None and model.via_torch and spec.scheme not in TORCH_SCHEMES:
            raise UnsupportedError(f"{model.path}: a {model.kind} model converts to tflite {', '.join(TORCH_SCHEMES)} "
                                   f"(litert-torch, then AI Edge Quantizer), not {spec.scheme}")  # fmt: skip
        if model is not None and spec.calib_range != "minmax" and not (model.via_torch or model.kind == "tflite"):
            raise UnsupportedError(f"--calib-range {spec.calib_range} works with PyTorch, ONNX and .tflite sources (AI Edge "
                                   f"Quantizer), not a {model.kind} model ({model.path}; TFLiteConverter takes min/max)")
        if model is not None and model.via_torch and spec.float_layers:
            raise UnsupportedError(f"--float-layers works with Keras and SavedModel sources (TFLiteConverter), "
                                   f"not a {model.kind} model ({model.path})")  # fmt: skip

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
        if spec.calib_range != "minmax":
            text += f", {spec.calib_range} activation ranges"
        if spec.needs_calibration:
            text += f", I/O {spec.io}"
        return text

    def export(self, model: SourceModel, spec: QuantSpec, out_dir: Path, calib=None,
               session: ExportSession | None = None) -> Artifact:  # fmt: skip
        """Convert ``model`` for ``spec`` into ``out_dir/<name>_<scheme>.tflite``."""
        self.check(model, spec)
        session = session_or_new(session)
        notes = [self.describe(spec)]
        meta: dict = {}
        converted = conversion(model, spec, calib, session, self.layout)
        content = converted.data
        if model.kind == "tflite" and converted.quantizer is None:
            notes.append("re-emitted unchanged from the .tflite source")
        if converted.quantizer is not None:
            notes.append(converted.quantizer)
            meta["quantizer"] = converted.record
        if spec.needs_calibration and converted.calibration_used:
            meta["calibration"], note = calibration_record(calib, converted.calibration_used)
            notes.append(note)
        out_dir.mkdir(parents=True, exist_ok=True)
        filename = f"{model.name}_{spec.scheme}{self.suffix}"
        (out_dir / filename).write_bytes(content)

        from edgekit.runtime.litert import LiteRTRunner

        runner = LiteRTRunner(trusted=session.trusted)
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
        return with_layouts(Artifact(
            target=self.name,
            scheme=spec.scheme,
            directory=out_dir,
            files=(filename,),
            inputs=runner.inputs,
            outputs=runner.outputs,
            notes=tuple(notes),
            metadata=meta,
            spec=spec,
        ), model, self.layout)


def _sparse_note(graph: TFLiteGraph) -> str:
    """How many weight tensors the converter stored sparse (smaller than their dense bytes)."""
    sparse = [t for t in graph.constants if t.dtype == "float32" and 0 < t.data_bytes < t.nbytes]
    if not sparse:
        return "no weight tensor was sparse enough to be stored sparse; prune first (--prune sparsity=0.8)"
    return (f"{len(sparse)} weight tensor(s) stored sparse ({sum(t.data_bytes for t in sparse):,} B instead of "
            f"{sum(t.nbytes for t in sparse):,} B); LiteRT densifies them at load")  # fmt: skip
