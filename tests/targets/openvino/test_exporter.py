"""The OpenVINO IR target: schemes, accuracy and size on digits, MLPerf Tiny models."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.data import Dataset
from edgekit.errors import UnsupportedError
from edgekit.model import load_model
from edgekit.pipeline import ExportOptions, export
from targets.openvino.runner import OpenVINORunner
from quantize.spec import QuantSpec
from targets.openvino.exporter import OpenVINOTarget
from tests.conftest import EXAMPLE, MLPERF, SHARED, make_outlier_digits, needs_shared

SCHEMES = ["float32", "float16", "int8", "int8-weights", "int4-weights"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return export(ExportOptions(model=EXAMPLE / "digits.keras", out=tmp_path_factory.mktemp("ov") / "b",
                                target=("openvino",), quant=",".join(SCHEMES), calib=str(EXAMPLE / "calib.npz"),
                                eval=str(EXAMPLE / "eval.npz")))  # fmt: skip


def test_digits_int8_accuracy_and_size(digits):
    ev = digits.evaluation
    by = {a.scheme: a for a in digits.artifacts}
    f32_bin = (by["float32"].directory / by["float32"].files[1]).stat().st_size
    i8_bin = (by["int8"].directory / by["int8"].files[1]).stat().st_size
    drop = ev["float"]["top1"] - ev["artifacts"]["openvino/int8"]["top1"]
    print(f"openvino int8: top-1 drop {100 * drop:.2f} points, .bin {i8_bin / f32_bin:.3f}x float32")
    assert drop <= 0.005 and i8_bin <= 0.35 * f32_bin
    assert [a.files[0].endswith(".xml") and a.files[1].endswith(".bin") for a in digits.artifacts] == [True] * 5


def test_float32_ir_matches_keras(digits, tiny_data):
    f32 = next(a for a in digits.artifacts if a.scheme == "float32")
    runner = OpenVINORunner()
    runner.load(f32)
    x = np.load(EXAMPLE / "eval.npz")["x"][:64]
    out = runner.run([x])[0]
    ref = digits.model.predict(x)[0]
    assert np.abs(out - ref).max() < 1e-4
    assert runner.inputs[0].shape == (1, 8, 8, 1)
    single = np.concatenate([runner.run([x[i : i + 1]])[0] for i in range(8)])
    assert np.allclose(out[:8], single, atol=1e-6)  # batches by reshaping the IR


def test_savedmodel_and_tflite_sources(saved_model, tiny_keras, tmp_path):
    sm = load_model(saved_model)
    art = OpenVINOTarget().export(sm, QuantSpec("float32"), tmp_path / "sm")
    r = OpenVINORunner()
    r.load(art)
    x = np.random.default_rng(0).random((3, 5), np.float32)
    assert np.allclose(r.run([x])[0], sm.predict(x)[0], atol=1e-5)
    from targets.tflite.exporter import TFLiteTarget

    tfl = TFLiteTarget().export(load_model(tiny_keras), QuantSpec("float32"), tmp_path / "t")
    src = load_model(tfl.primary)
    art = OpenVINOTarget().export(src, QuantSpec("float32"), tmp_path / "from_tflite")
    r = OpenVINORunner()
    r.load(art)
    x = np.random.default_rng(1).random((2, 6, 6, 1), np.float32)
    assert np.allclose(r.run([x])[0], src.predict(x)[0], atol=1e-5)


def test_refusals():
    with pytest.raises(UnsupportedError, match="cannot produce scheme 'palettize4'"):
        OpenVINOTarget().check(None, QuantSpec("palettize4"))
    with pytest.raises(UnsupportedError, match="drop --io-dtype"):
        OpenVINOTarget().check(None, QuantSpec("int8", io_dtype="uint8"))


@needs_shared()
@pytest.mark.slow
@pytest.mark.parametrize("name", ["image_classification/pretrainedResnet.h5", "visual_wake_words/vww_96.h5",
                                  "anomaly_detection/ad01.h5", "keyword_spotting/kws_ref_model"])  # fmt: skip
def test_mlperf_models_every_scheme(name, tmp_path):
    model = load_model(MLPERF / name)
    calib = Dataset.random(model.inputs, 20)
    x = np.random.default_rng(0).random((2, *model.inputs[0].shape[1:])).astype(np.float32)
    ref = model.predict(x)[0]
    for scheme in SCHEMES:
        art = OpenVINOTarget().export(model, QuantSpec(scheme, calib_size=20), tmp_path / scheme, calib)
        r = OpenVINORunner()
        r.load(art)
        out = r.run([x])[0]
        assert out.shape == ref.shape and np.isfinite(out).all(), scheme
        if scheme == "float32":
            assert np.abs(out - ref).max() <= 1e-4 * max(1.0, float(np.abs(ref).max()))


def test_inspect_ir(digits):
    from edgekit.inspect import inspect_path

    by = {a.scheme: a for a in digits.artifacts}
    f32 = inspect_path(by["float32"].primary)
    i8 = inspect_path(by["int8"].primary)
    w4 = inspect_path(by["int4-weights"].primary)
    assert f32["format"] == "openvino" and f32["scheme"] == "float32" and f32["fake_quantize"] == 0
    assert i8["scheme"] == "int8" and i8["fake_quantize"] > 0 and "i8" in i8["params"]["by_dtype"]
    assert "i4" in w4["scheme"] or "u4" in w4["scheme"]
    assert f32["params"]["by_dtype"]["f32"]["params"] == digits.model.backend.model.count_params()


@pytest.mark.slow
def test_accuracy_aware_int8_stays_within_max_drop(tmp_path):
    """The case: the digits model with one conv2 filter scaled 300x and cancelled downstream
    (conftest.make_outlier_digits). The float model is unchanged; per-tensor activation
    quantization of conv2's output costs plain int8 more than 1 point of top-1. NNCF's
    accuracy control keeps the sensitive layers float until the drop is within --max-drop."""
    path = tmp_path / "outlier.keras"
    make_outlier_digits(path)

    def run(**kw):
        return export(ExportOptions(model=path, out=tmp_path / str(len(kw)), target=("openvino",), quant="int8",
                                    calib=str(EXAMPLE / "calib.npz"), eval=str(EXAMPLE / "eval.npz"), **kw))  # fmt: skip

    plain, aware = run(), run(max_drop=1.0)
    drop = {name: 100 * (r.evaluation["float"]["top1"] - r.evaluation["artifacts"]["openvino/int8"]["top1"])
            for name, r in (("plain", plain), ("aware", aware))}  # fmt: skip
    print(f"openvino int8 top-1 drop: plain {drop['plain']:.2f} points, accuracy-aware {drop['aware']:.2f}; "
          f"kept float: {aware.artifacts[0].metadata['float_layers']}")
    assert drop["plain"] > 1.0 and drop["aware"] <= 1.0
    assert aware.validation.passed and aware.artifacts[0].metadata["float_layers"]


@needs_shared()
def test_tflite_with_a_dynamic_batch_signature(tmp_path):
    """hello_world's input is [-1, 1] in its signature: the IR gets the SourceModel's fixed shape,
    and an IR with only a dynamic batch (as OpenVINO's own converter writes it) still runs."""
    import openvino as ov

    src = SHARED / "tflm" / "hello_world_float.tflite"
    res = export(ExportOptions(model=src, out=tmp_path / "b", target=("openvino",), latency=False))
    (artifact,) = res.artifacts
    assert artifact.inputs[0].shape == (1, 1)
    ov.save_model(ov.convert_model(str(src)), str(tmp_path / "dyn.xml"))
    runner = OpenVINORunner()
    runner.load_path(tmp_path / "dyn.xml")
    assert runner.inputs[0].shape == (1, 1) and runner.run([np.zeros((3, 1), np.float32)])[0].shape == (3, 1)


@pytest.mark.parametrize("scheme", ["float32", "int8"])
def test_pytorch_program_converts_to_ir_named_after_the_source(tmp_path, scheme):
    from tests.torch_models import save_pt2, tiny_cnn

    model = load_model(save_pt2(tiny_cnn(), tmp_path / "tiny.pt2"))
    x = np.random.default_rng(2).random((64, 3, 8, 8), dtype=np.float32)
    np.savez(tmp_path / "calib.npz", x=x)
    calib = Dataset.open(tmp_path / "calib.npz", model.inputs)
    artifact = OpenVINOTarget().export(model, QuantSpec(scheme), tmp_path / "out", calib)
    runner = OpenVINORunner()
    runner.load(artifact)
    assert [t.name for t in runner.inputs] == ["input"] and runner.inputs[0].shape == (1, 3, 8, 8)
    got, ref = runner.run([x[:16]])[0], model.predict(x[:16])[0]
    if scheme == "float32":
        assert np.abs(got - ref).max() < 1e-5
    else:
        assert (got.argmax(1) == ref.argmax(1)).mean() >= 0.8


def test_pytorch_ir_bytes_do_not_depend_on_what_ran_before(tmp_path):
    """OpenVINO's PyTorch frontend names each model from a process-wide counter (``Model0``,
    then ``Model32``): the same export twice in one process wrote different .xml bytes."""
    from tests.torch_models import save_pt2, tiny_cnn

    model = load_model(save_pt2(tiny_cnn(), tmp_path / "tiny.pt2"))
    a, b = (OpenVINOTarget().export(model, QuantSpec("float32"), tmp_path / str(i)) for i in range(2))
    assert a.primary.read_bytes() == b.primary.read_bytes()
    assert b'<net name="tiny"' in a.primary.read_bytes()
