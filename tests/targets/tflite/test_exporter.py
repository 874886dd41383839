import numpy as np
import pytest

from edgekit.data import Dataset
from edgekit.errors import UnsupportedError
from edgekit.model import load_model
from edgekit.runtime.litert import LiteRTRunner
from edgekit.tflite_graph import TFLiteGraph
from quantize.spec import QuantSpec
from targets.tflite.exporter import TFLiteTarget

SCHEMES = ["float32", "float16", "dynamic", "int8", "int16x8"]


@pytest.fixture(scope="module")
def tiny(tiny_keras, tiny_data):
    m = load_model(tiny_keras)
    return m, Dataset.open(tiny_data, m.inputs)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_scheme_converts_and_runs(tiny, tmp_path, scheme):
    model, data = tiny
    art = TFLiteTarget().export(model, QuantSpec(scheme, calib_size=20), tmp_path, data)
    assert art.primary.exists() and art.files == (f"tiny_{scheme}.tflite",)
    graph = TFLiteGraph.from_file(art.primary)
    assert graph.quant_scheme() == scheme
    assert not any(t.dynamic for t in graph.inputs), "batch must be fixed"
    x = next(data.batches(8)).inputs
    runner = LiteRTRunner()
    runner.load(art)
    out = runner.run(x)[0]
    ref = model.predict(x)[0]
    tol = {"float32": 1e-5, "float16": 1e-2}.get(scheme, 0.08)
    assert np.abs(out - ref).max() < tol


def test_int8_io_types(tiny, tmp_path):
    model, data = tiny
    for io in ("int8", "uint8", "float32"):
        art = TFLiteTarget().export(model, QuantSpec("int8", io_dtype=io, calib_size=10), tmp_path / io, data)
        assert art.inputs[0].dtype == io and art.outputs[0].dtype == io
        assert art.inputs[0].quantized == (io != "float32")


def test_per_channel_modes(tiny, tmp_path):
    model, data = tiny

    def per_axis_weights(mode):
        art = TFLiteTarget().export(model, QuantSpec("int8", per_channel=mode, calib_size=10), tmp_path / mode, data)
        g = TFLiteGraph.from_file(art.primary)
        return {op.opcode: g.main.tensors[op.inputs[1]].quant.per_channel for op in g.main.ops if op.opcode in ("CONV_2D", "FULLY_CONNECTED")}

    assert per_axis_weights("all") == {"CONV_2D": True, "FULLY_CONNECTED": True}
    assert per_axis_weights("conv") == {"CONV_2D": True, "FULLY_CONNECTED": False}
    assert per_axis_weights("none") == {"CONV_2D": False, "FULLY_CONNECTED": False}


def test_same_inputs_same_bytes(tiny, tmp_path):
    model, data = tiny
    a = TFLiteTarget().export(model, QuantSpec("int8"), tmp_path / "a", data)
    b = TFLiteTarget().export(model, QuantSpec("int8"), tmp_path / "b", data)
    assert a.primary.read_bytes() == b.primary.read_bytes()


def test_savedmodel_and_legacy_h5(saved_model, legacy_h5, tmp_path):
    for path in (saved_model, legacy_h5):
        m = load_model(path)
        art = TFLiteTarget().export(m, QuantSpec("int8"), tmp_path / m.name, Dataset.random(m.inputs, 10))
        g = TFLiteGraph.from_file(art.primary)
        assert g.inputs[0].shape == m.inputs[0].shape


def test_tflite_source_reemitted_or_refused(tiny, tmp_path):
    model, data = tiny
    art = TFLiteTarget().export(model, QuantSpec("int8"), tmp_path / "a", data)
    src = load_model(art.primary)
    assert src.kind == "tflite"
    again = TFLiteTarget().export(src, QuantSpec("int8"), tmp_path / "b")
    assert again.primary.read_bytes() == art.primary.read_bytes()
    with pytest.raises(UnsupportedError, match="already a int8 .tflite"):
        TFLiteTarget().check(src, QuantSpec("float16"))


def test_unsupported_scheme_refused():
    with pytest.raises(UnsupportedError, match="cannot produce scheme 'palettize4'"):
        TFLiteTarget().check(None, QuantSpec("palettize4"))


def test_calibration_required(tiny, tmp_path):
    model, _ = tiny
    with pytest.raises(UnsupportedError, match="needs calibration data"):
        TFLiteTarget().export(model, QuantSpec("int8"), tmp_path)
