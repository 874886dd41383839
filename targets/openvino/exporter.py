"""OpenVINO IR (``.xml`` + ``.bin``) through ``openvino.convert_model``, compressed with NNCF.

Schemes: float32; float16 (weights stored as f16); int8 (NNCF post-training quantization on
the calibration Dataset, fast bias correction on, activation ranges from ``--calib-range``);
int8-weights and int4-weights (NNCF weight compression, activations stay float). Every IR is
compiled on the CPU and run once.
"""

from __future__ import annotations

import re

from pathlib import Path

import numpy as np

from edgekit.errors import ConversionError, EdgekitError, UnsupportedError
from edgekit.model import SourceModel
from edgekit.session import ExportSession, session_or_new
from quantize.calibration import calibration_record, calibration_samples
from quantize.spec import QuantSpec
from targets.base import Artifact, check_scheme

_DESCRIBE = {
    "float32": "float32 weights and compute",
    "float16": "float16 weights (decompressed at load), float32 compute",
    "int8": "int8 weights and activations (NNCF post-training quantization, fast bias correction)",
    "int8-weights": "int8 weight compression (NNCF, asymmetric, per channel); float activations",
    "int4-weights": "int4 weight compression (NNCF, symmetric, per channel; NNCF keeps some layers int8); float activations",
}


class OpenVINOTarget:
    name = "openvino"
    schemes = frozenset(_DESCRIBE)
    PRESETS = ("performance", "mixed")

    def __init__(self, preset: str | None = None, max_drop: float | None = None, eval_data: str | None = None,
                 preprocess=None):  # fmt: skip
        if preset is not None and preset not in self.PRESETS:
            from edgekit.errors import OptionError

            raise OptionError(f"--ov-preset {preset!r}: choose {', '.join(self.PRESETS)}")
        self.preset = preset or "performance"
        # With both, int8 is NNCF's accuracy-aware quantization: layers go back to float until
        # top-1 on the evaluation data is within max_drop points of the float model.
        self.max_drop = max_drop if eval_data else None
        self.eval_data = eval_data
        self.preprocess = preprocess

    def check(self, model: SourceModel | None, spec: QuantSpec) -> None:
        check_scheme(self, spec)
        if spec.scheme in ("int8",) and spec.io not in ("int8", "float32"):
            raise UnsupportedError("openvino int8 keeps float32 inputs and outputs; drop --io-dtype")

    def describe(self, spec: QuantSpec) -> str:
        text = _DESCRIBE[spec.scheme]
        if spec.scheme == "int8":
            text += f", preset {self.preset}, I/O float32"
            if spec.calib_range != "minmax":
                text += f", {spec.calib_range} activation ranges"
            if self.max_drop is not None:
                text += f", accuracy-aware (top-1 drop at most {self.max_drop} points)"
        return text

    def export(self, model: SourceModel, spec: QuantSpec, out_dir: Path, calib=None,
               session: ExportSession | None = None) -> Artifact:  # fmt: skip
        """Convert, compress and save ``model`` as ``out_dir/<name>_<scheme>.xml/.bin``."""
        import openvino as ov

        self.check(model, spec)
        session = session_or_new(session)
        notes = [self.describe(spec)]
        meta: dict = {}
        ov_model = convert(model)
        if spec.scheme == "int8":
            if calib is None:
                raise UnsupportedError("scheme int8 needs calibration data (--calib)")
            samples = calibration_samples(calib, spec.calib_size, model.batch)
            if self.max_drop is not None:
                ov_model, reverted = self._quantize_with_accuracy_control(model, ov_model, samples, spec.calib_range)
                meta["float_layers"] = reverted
                notes.append(f"{len(reverted)} layer(s) kept float to stay within --max-drop {self.max_drop}")
            else:
                ov_model = _quantize(ov_model, samples, self.preset, spec.calib_range)
            meta["calibration"], note = calibration_record(calib, len(samples))
            notes.append(note)
        elif spec.scheme in ("int8-weights", "int4-weights"):
            ov_model = _compress_weights(ov_model, spec.scheme)
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = f"{model.name}_{spec.scheme}"
        _stable_names(ov_model, model.name)
        ov.save_model(ov_model, str(out_dir / f"{stem}.xml"), compress_to_fp16=spec.scheme == "float16")
        xml = out_dir / f"{stem}.xml"
        session.trust_files(xml, xml.with_suffix(".bin"))  # our converter's IR goes to OpenVINO without a crash probe

        from targets.openvino.runner import OpenVINORunner

        runner = OpenVINORunner(trusted=session.trusted)
        runner.load_path(out_dir / f"{stem}.xml")
        runner.run([np.zeros(t.shape, np.float32) for t in runner.inputs])
        meta["ops"] = runner.op_histogram()
        return Artifact(self.name, spec.scheme, out_dir, (f"{stem}.xml", f"{stem}.bin"), runner.inputs,
                        runner.outputs, tuple(notes), meta, spec)  # fmt: skip


    def _quantize_with_accuracy_control(self, model: SourceModel, ov_model, samples, calib_range: str):
        import nncf

        from edgekit.data import Dataset, Preprocess
        from edgekit.data import label_ids

        evalset = Dataset.open(self.eval_data, model.inputs, self.preprocess or Preprocess(), "--eval")
        if not evalset.has_labels or len(model.outputs[0].shape) != 2:
            raise UnsupportedError("accuracy-aware openvino int8 (--max-drop) needs a classifier and labelled --eval data")
        items = []
        for batch in evalset.batches(256):
            ys = label_ids(batch.labels)
            for i in range(len(ys)):
                items.append(([x[i : i + 1] for x in batch.inputs], int(ys[i])))

        def top1(compiled, data) -> tuple[float, list[float]]:
            hits = [float(np.argmax(compiled(x)[compiled.output(0)]) == y) for x, y in data]
            return float(np.mean(hits)), hits

        quantized = nncf.quantize_with_accuracy_control(
            ov_model,
            _dataset(samples),
            nncf.Dataset(items, lambda item: item[0][0] if len(item[0]) == 1 else tuple(item[0])),
            top1,
            max_drop=self.max_drop / 100.0,
            drop_type=nncf.DropType.ABSOLUTE,
            preset=nncf.QuantizationPreset.PERFORMANCE if self.preset == "performance" else nncf.QuantizationPreset.MIXED,
            subset_size=len(samples),
            advanced_quantization_parameters=_advanced(calib_range),
        )
        full = _quantize(convert(model), samples, self.preset, calib_range)
        kept = {op.get_friendly_name() for op in quantized.get_ordered_ops() if op.get_type_name() == "FakeQuantize"}
        reverted = sorted(op.get_friendly_name() for op in full.get_ordered_ops()
                          if op.get_type_name() == "FakeQuantize" and op.get_friendly_name() not in kept)  # fmt: skip
        return quantized, reverted


_AUTO_NAME = re.compile(r"^([A-Z][A-Za-z0-9]*)_\d+(/.*)?$")


def _stable_names(ov_model, name: str) -> None:
    """Renumber OpenVINO's generated node names (``Constant_40198``, ``Transpose_22/zero_point``)
    in graph order, and name a generated model (``Model32``) after the source.

    The numbers come from a process-wide counter, so the same export run twice in one process
    (or after NNCF built a different number of helper graphs) wrote different .xml bytes.
    """
    if re.fullmatch(r"Model\d+", ov_model.get_friendly_name()):  # the PyTorch frontend's counter
        ov_model.set_friendly_name(name)
    for i, node in enumerate(ov_model.get_ordered_ops()):
        m = _AUTO_NAME.match(node.get_friendly_name())
        if m:
            node.set_friendly_name(f"{m.group(1)}_{i}{m.group(2) or ''}")


def convert(model: SourceModel):
    """An ov.Model with the SourceModel's fixed input shapes."""
    import openvino as ov

    try:
        if model.kind in ("keras", "tf_keras", "torch"):
            # OpenVINO's PyTorch frontend reads the ExportedProgram itself (fixed shapes).
            ov_model = (ov.convert_model(model.keras_model()) if model.kind != "torch" else
                        ov.convert_model(model.exported_program(), input=[list(t.shape) for t in model.inputs]))
            # Keras names symbolic tensors from a process-wide counter (keras_tensor_34), the
            # PyTorch frontend not at all: name the I/O after the SourceModel's so the IR bytes
            # do not depend on what ran before.
            for port, result, info in zip(ov_model.outputs, ov_model.get_results(), model.outputs):
                port.get_tensor().set_names({info.name})
                result.set_friendly_name(info.name)
            if model.kind == "torch":
                for port, param, info in zip(ov_model.inputs, ov_model.get_parameters(), model.inputs):
                    port.get_tensor().set_names({info.name})
                    param.set_friendly_name(info.name)
            return ov_model
        if model.kind == "onnx":
            import io

            # The checked model with fixed shapes and weights inline, not the file: OpenVINO's
            # frontend would follow external-data paths itself.
            return ov.convert_model(io.BytesIO(model.onnx_bytes()))
        inputs = [(t.name, list(t.shape)) for t in model.inputs]
        return ov.convert_model(str(model.path), input=inputs)
    except EdgekitError:
        raise
    except Exception as e:  # the OpenVINO frontends raise their own error types
        first = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        raise ConversionError(f"OpenVINO could not convert {model.path}: {first}") from e


def _dataset(samples):
    import nncf

    return nncf.Dataset(samples, lambda s: s[0] if len(s) == 1 else tuple(s))


def _advanced(calib_range: str):
    """NNCF's parameters for ``--calib-range``: ``minmax`` is each activation's min/max over all
    calibration samples (NNCF's MINMAX set; its own default for per-tensor activations is
    MEAN_MINMAX, the mean over samples of each sample's min/max, which clips every sample whose
    extremes are above the average ones), ``mse`` NNCF's HISTOGRAM set (the L2
    quantization-error search of PyTorch's HistogramObserver, the counterpart of
    targets/tflite/calib_range.py). Weights keep NNCF's per-channel min/max either way."""
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    ranges = {"minmax": RangeEstimatorParametersSet.MINMAX, "mse": RangeEstimatorParametersSet.HISTOGRAM}
    return AdvancedQuantizationParameters(activations_range_estimator_params=ranges[calib_range])


def _quantize(ov_model, samples, preset: str, calib_range: str = "minmax"):
    import nncf

    return nncf.quantize(
        ov_model,
        _dataset(samples),
        preset=nncf.QuantizationPreset.PERFORMANCE if preset == "performance" else nncf.QuantizationPreset.MIXED,
        subset_size=len(samples),
        fast_bias_correction=True,
        advanced_parameters=_advanced(calib_range),
    )


def _compress_weights(ov_model, scheme: str):
    import nncf

    if scheme == "int8-weights":
        return nncf.compress_weights(ov_model, mode=nncf.CompressWeightsMode.INT8_ASYM)
    # group_size -1: one scale per output channel (small edge models rarely have 128-wide groups).
    return nncf.compress_weights(ov_model, mode=nncf.CompressWeightsMode.INT4_SYM, ratio=1.0, group_size=-1, all_layers=True)
