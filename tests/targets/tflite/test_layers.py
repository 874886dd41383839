"""The per-layer report finds a damaged layer and --float-layers repairs it."""

from __future__ import annotations

import pytest

from edgekit.errors import OptionError
from edgekit.pipeline import ExportOptions, export
from targets.tflite.layers import resolve_float_layers, short_name
from tests.conftest import EXAMPLE, make_outlier_digits

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def outlier(tmp_path_factory):
    path = tmp_path_factory.mktemp("outlier") / "outlier.keras"
    return path, make_outlier_digits(path)


def _export(path, out, **kw):
    return export(ExportOptions(model=path, out=out, quant="int8", calib=str(EXAMPLE / "calib.npz"),
                                eval=str(EXAMPLE / "eval.npz"), **kw))  # fmt: skip


def test_report_names_the_damaged_layer_and_the_fix_recovers(outlier, tmp_path):
    path, conv2 = outlier
    damaged = _export(path, tmp_path / "a", layers=True, max_drop=1.0)
    ev = damaged.evaluation
    drop = ev["float"]["top1"] - ev["artifacts"]["tflite/int8"]["top1"]
    assert drop > 0.05 and not damaged.validation.passed
    diag = ev["layers"]["tflite/int8"]
    worst = diag["worst"][0]
    assert f"/{conv2}_1/" in worst["layer"] and worst["channel_error"] > 0.5
    assert len(diag["suggestion"]) == 4  # conv2, max pool and flatten share its scale, then dense reads it
    repaired = _export(path, tmp_path / "b", float_layers=tuple(diag["suggestion"]), max_drop=0.5)
    rev = repaired.evaluation
    print(f"int8 top-1 {ev['artifacts']['tflite/int8']['top1']:.4f} -> {rev['artifacts']['tflite/int8']['top1']:.4f} "
          f"with {len(diag['suggestion'])} float layers (float {ev['float']['top1']:.4f})")  # fmt: skip
    assert repaired.validation.passed
    assert "float layers" in repaired.artifacts[0].notes[0]


def test_float_layer_names_are_checked():
    names = ["a/conv/Relu;a/conv/BiasAdd", "a/pool/MaxPool", "a/conv2/Relu"]
    assert resolve_float_layers(("a/conv/Relu",), names) == [names[0]]
    assert short_name(names[0]) == "a/conv/Relu"
    with pytest.raises(OptionError, match="matches no layer; did you mean a/conv/Relu, a/conv2/Relu"):
        resolve_float_layers(("conv",), names)


def test_float_layers_need_int8(tiny_keras, tmp_path):
    with pytest.raises(OptionError, match="--float-layers applies to the int8 scheme"):
        export(ExportOptions(model=tiny_keras, out=tmp_path / "o", quant="float16", float_layers=("x",)))


def test_a_tflite_source_has_no_layer_report(tiny_keras, tiny_data, tmp_path):
    """TensorFlow's debugger re-converts the source: a .tflite source gets one clear line."""
    from edgekit.data import Dataset
    from edgekit.errors import UnsupportedError
    from edgekit.model import load_model
    from quantize.spec import QuantSpec
    from targets.tflite.exporter import TFLiteTarget
    from targets.tflite.layers import layer_report

    art = TFLiteTarget().export(load_model(tiny_keras), QuantSpec("float32"), tmp_path)
    model = load_model(art.primary)
    data = Dataset.open(tiny_data, model.inputs)
    with pytest.raises(UnsupportedError, match=r"--layers: .* \(\.tflite, quantized by AI Edge Quantizer\)"):
        layer_report(model, QuantSpec("int8"), data, data)
