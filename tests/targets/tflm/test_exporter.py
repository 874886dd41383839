"""The TFLM target through the pipeline and `edgekit header`."""

from __future__ import annotations

import pytest

from edgekit.errors import OptionError, UnsupportedError
from edgekit.model import load_model
from edgekit.pipeline import ExportOptions, export
from edgekit.tflite_graph import TFLiteGraph
from quantize.spec import QuantSpec
from targets.tflm.exporter import TFLMTarget, default_margin
from targets.tflm.sources import parse_c_array
from tests.conftest import EXAMPLE, SHARED, needs_shared, run_cli


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    out = tmp_path_factory.mktemp("tflm") / "b"
    return export(ExportOptions(
        model=EXAMPLE / "digits.keras", out=out, target=("tflite", "tflm"), quant="int8",
        calib=str(EXAMPLE / "calib.npz"), eval=str(EXAMPLE / "eval.npz"),
    ))  # fmt: skip


def test_tflm_artifact_is_the_tflite_model(digits):
    by = {a.target: a for a in digits.artifacts}
    tfl, tflm = by["tflite"], by["tflm"]
    assert tflm.files == ("digits_model_data.c", "digits_model_data.h", "digits_model_settings.h", "digits_op_resolver.h")
    data = parse_c_array(tflm.primary.read_text(), "digits")
    assert data == tfl.primary.read_bytes()  # one conversion serves both targets
    arena = tflm.metadata["arena"]
    assert arena["size"] == arena["required"] + arena["margin"] and arena["margin"] == default_margin(arena["required"])
    assert tflm.metadata["ops"] == TFLiteGraph(data).op_names
    settings = (tflm.directory / "digits_model_settings.h").read_text()
    assert f"#define DIGITS_ARENA_SIZE {arena['size']}" in settings


def test_tflm_and_litert_agree_exactly_on_digits(digits):
    ev = digits.evaluation["artifacts"]
    assert ev["tflm/int8"]["top1"] == ev["tflite/int8"]["top1"]
    assert ev["tflm/int8"]["cosine"] == pytest.approx(ev["tflite/int8"]["cosine"], abs=1e-9)
    print(f"digits int8: TFLM top-1 {ev['tflm/int8']['top1']:.4f}, LiteRT {ev['tflite/int8']['top1']:.4f}")


def test_same_sources_twice(digits, tmp_path):
    again = export(ExportOptions(
        model=EXAMPLE / "digits.keras", out=tmp_path / "b", target=("tflm",), quant="int8", calib=str(EXAMPLE / "calib.npz"),
    ))  # fmt: skip
    (a,) = [x for x in digits.artifacts if x.target == "tflm"]
    (b,) = again.artifacts
    for f in a.files:
        assert (a.directory / f).read_bytes() == (b.directory / f).read_bytes(), f


def test_unsupported_op_is_named(tmp_path):
    import tensorflow as tf

    class TopK(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32, name="x")])
        def __call__(self, x):
            return {"values": tf.math.top_k(x, k=2).values}

    sm = tmp_path / "topk"
    module = TopK()
    tf.saved_model.save(module, str(sm), signatures={"serving_default": module.__call__})
    with pytest.raises(UnsupportedError, match="TOPK_V2: not available in TFLite Micro"):
        export(ExportOptions(model=sm, out=tmp_path / "o", target=("tflm",), quant="float32"))
    assert not (tmp_path / "o").exists()


@needs_shared()
def test_hybrid_model_is_refused_with_a_hint(tmp_path):
    model = load_model(SHARED / "mlperf_tiny" / "keyword_spotting" / "kws_ref_model_float32.tflite")
    with pytest.raises(UnsupportedError, match="is a dynamic .tflite"):
        TFLMTarget().check(model, QuantSpec("int8"))
    from targets.tflm.exporter import build_tflm_sources

    with pytest.raises(UnsupportedError, match=r"CONV_2D with float activations and int8 weights.*--quant int8"):
        build_tflm_sources(model.tflite_bytes(), name="kws", model_name="kws_ref_model_float32.tflite")


def test_options_are_checked():
    with pytest.raises(OptionError, match="--name 'int'"):
        TFLMTarget(c_name="int")
    with pytest.raises(OptionError, match="--section"):
        TFLMTarget(section="bad section")
    with pytest.raises(UnsupportedError, match="cannot produce scheme 'dynamic'"):
        TFLMTarget().check(None, QuantSpec("dynamic"))


@needs_shared()
@pytest.mark.parametrize("margin", [-16, 2**40])
def test_arena_margin_out_of_range_is_an_option_error(margin):
    from targets.tflm.exporter import build_tflm_sources

    data = (SHARED / "tflm" / "hello_world_int8.tflite").read_bytes()
    with pytest.raises(OptionError, match=f"--arena-margin {margin}: give 0 to 67,108,864 bytes"):
        build_tflm_sources(data, name="hw", model_name="hello_world_int8.tflite", arena_margin=margin)


def _tiny_logit_softmax(path):
    """Logits ~1e-9: int8 gives SOFTMAX an input scale TFLM's kernel aborts on."""
    import keras
    import numpy as np

    x = keras.Input((4,), name="x")
    dense = keras.layers.Dense(3, name="logits")
    model = keras.Model(x, keras.layers.Softmax(name="p")(dense(x)))
    dense.set_weights([np.full((4, 3), 1e-9, np.float32) * np.arange(1, 4), np.zeros(3, np.float32)])
    model.save(path)
    return path


def test_tflm_crash_names_the_op_not_a_corrupt_file(tmp_path):
    model = _tiny_logit_softmax(tmp_path / "tiny_logits.keras")
    # Refused before TFLM loads it (it aborted TFLM, and the crash was narrowed to SOFTMAX after the fact).
    with pytest.raises(UnsupportedError, match=r"SOFTMAX \(op 1\): its int8 input scale 7.\d+e-09 \(beta 1\) is below "
                                               r"TFLM's minimum 1.49e-08"):
        export(ExportOptions(model=model, out=tmp_path / "o", target=("tflm",), quant="int8", calib="random"))
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_stock_mobilenet_v3_small_int8_is_refused_naming_softmax(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    path = tmp_path / "mnv3.keras"
    keras.applications.MobileNetV3Small(input_shape=(64, 64, 3), weights=None, classes=10).save(path)
    with pytest.raises(UnsupportedError, match=r"SOFTMAX \(op 110\): its int8 input scale .* below TFLM's minimum"):
        export(ExportOptions(model=path, out=tmp_path / "o", target=("tflm",), quant="int8", calib="random", calib_size=4))


def test_model_name_becomes_a_c_name(tiny_keras, tmp_path):
    weird = tmp_path / "int.keras"
    weird.write_bytes(tiny_keras.read_bytes())
    res = export(ExportOptions(model=weird, out=tmp_path / "o", target=("tflm",), quant="int8", calib="random"))
    assert res.artifacts[0].files[0] == "int_model_model_data.c"


@needs_shared()
def test_header_command(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("no person\nperson \"quoted\"\n")
    model = SHARED / "tflm" / "person_detect.tflite"
    res = run_cli("header", model, "-o", tmp_path / "src", "--name", "pd", "--lang", "cc",
                  "--section", ".rodata.model", "--labels", labels, "--app")  # fmt: skip
    assert res.returncode == 0, res.stderr
    files = sorted(p.name for p in (tmp_path / "src").iterdir())
    assert files == ["pd_main.cc", "pd_model_data.cc", "pd_model_data.h", "pd_model_settings.h", "pd_op_resolver.h"]
    src = (tmp_path / "src" / "pd_model_data.cc").read_text()
    assert 'alignas(16) __attribute__((section(".rodata.model"))) const uint8_t pd_model_data[]' in src
    assert parse_c_array(src, "pd") == model.read_bytes()
    settings = (tmp_path / "src" / "pd_model_settings.h").read_text()
    assert '#define PD_LABELS {"no person", "person \\"quoted\\""}' in settings
    again = run_cli("header", model, "-o", tmp_path / "src", "--name", "pd")
    assert again.returncode == 2 and "--force" in again.stderr


def test_header_refuses_non_tflite(tiny_keras, tmp_path):
    res = run_cli("header", tiny_keras, "-o", tmp_path / "src")
    assert res.returncode == 2 and "takes a .tflite file" in res.stderr
    assert not (tmp_path / "src").exists()


def test_digits_arena_is_exact(digits):
    from targets.tflm.runner import arena_fits

    (tflm,) = [a for a in digits.artifacts if a.target == "tflm"]
    data = parse_c_array(tflm.primary.read_text(), "digits")
    required = tflm.metadata["arena"]["required"]
    assert arena_fits(data, required) and not arena_fits(data, required - 16)


def test_two_tflm_schemes_do_not_collide(tiny_keras, tmp_path):
    res = export(ExportOptions(model=tiny_keras, out=tmp_path / "o", target=("tflm",), quant="int8,int16x8",
                               calib="random"))  # fmt: skip
    dirs = {a.scheme: a.directory for a in res.artifacts}
    assert dirs["int8"] != dirs["int16x8"]
    assert {parse_c_array(a.primary.read_text(), "tiny") != b"" for a in res.artifacts} == {True}
    assert TFLiteGraph(parse_c_array(res.artifacts[1].primary.read_text(), "tiny")).quant_scheme() == "int16x8"
