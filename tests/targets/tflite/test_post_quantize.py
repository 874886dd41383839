"""A float .tflite quantized after conversion by AI Edge Quantizer (targets/tflite/post_quantize.py).

The float files are made here: the tiny Keras model's float32 export, and the same bytes
made to look like an older converter's file (no SignatureDef, op kinds only in the
deprecated code field). The real MLPerf Tiny ``ad01_fp32.tflite`` is such an older file.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.data import Dataset
from edgekit.errors import UnsupportedError
from edgekit.model import load_model
from edgekit.runtime.litert import LiteRTRunner
from edgekit.simulate.metrics import agreement
from edgekit.tflite_graph import TFLiteGraph
from quantize.spec import QuantSpec
from targets.tflite.exporter import TFLiteTarget
from targets.tflite.post_quantize import quantize_float_tflite
from targets.tflm.exporter import TFLMTarget
from targets.tflm.sources import parse_c_array
from tests.conftest import EXAMPLE, MLPERF, needs_shared, run_cli
from tests.targets.tflite.test_normalize import legacy_bytes


@pytest.fixture(scope="module")
def float_files(tiny_keras, tmp_path_factory):
    """(float32 .tflite with a signature, the same as a legacy file) of the tiny model."""
    out = tmp_path_factory.mktemp("float")
    art = TFLiteTarget().export(load_model(tiny_keras), QuantSpec("float32"), out)
    legacy = out / "tiny_legacy.tflite"
    legacy.write_bytes(legacy_bytes(art.primary.read_bytes()))
    return art.primary, legacy


@pytest.fixture(scope="module")
def legacy(float_files, tiny_data):
    model = load_model(float_files[1])
    return model, Dataset.open(tiny_data, model.inputs)


def test_legacy_file_has_no_signature(float_files):
    graph = TFLiteGraph.from_file(float_files[1])
    assert graph.signatures == {} and graph.quant_scheme() == "float32"


@pytest.mark.parametrize("scheme", ["int8", "int16x8", "dynamic"])
def test_schemes_run_and_agree_with_float(legacy, scheme):
    model, data = legacy
    conv = quantize_float_tflite(model.tflite_bytes(), QuantSpec(scheme, calib_size=20), data)
    graph = TFLiteGraph(conv.data)
    assert graph.quant_scheme() == scheme
    assert conv.calibration_used == (0 if scheme == "dynamic" else 20)
    assert f"AI Edge Quantizer {conv.record['version']}" in conv.quantizer
    x = next(data.batches(40)).inputs
    runner = LiteRTRunner()
    runner.load(conv.data)
    out, ref = runner.run(x)[0], model.predict(x)[0]
    # The tiny model is untrained (its scores are all near 1/3): compare values, not top-1.
    assert np.abs(out - ref).max() < 0.08
    assert float(np.sum(out * ref) / np.linalg.norm(out) / np.linalg.norm(ref)) > 0.999


def test_digits_int8_keeps_top1(tmp_path):
    """The trained digits example as a legacy float .tflite: int8 agrees with it on top-1."""
    floats = TFLiteTarget().export(load_model(EXAMPLE / "digits.keras"), QuantSpec("float32"), tmp_path)
    path = tmp_path / "digits_fp32.tflite"
    path.write_bytes(legacy_bytes(floats.primary.read_bytes()))
    model = load_model(path)
    conv = quantize_float_tflite(model.tflite_bytes(), QuantSpec("int8"), Dataset.open(EXAMPLE / "calib.npz", model.inputs))
    evalset = np.load(EXAMPLE / "eval.npz")
    runner = LiteRTRunner()
    runner.load(conv.data)
    out, ref = runner.run([evalset["x"]])[0], model.predict(evalset["x"])[0]
    assert agreement(out, ref) >= 0.97
    assert abs(np.mean(out.argmax(-1) == evalset["y"]) - np.mean(ref.argmax(-1) == evalset["y"])) <= 0.02


@pytest.mark.parametrize("scheme,io", [("int8", "int8"), ("int8", "uint8"), ("int8", "float32"),
                                       ("int16x8", "int16"), ("int16x8", "float32")])  # fmt: skip
def test_io_dtypes(legacy, scheme, io):
    model, data = legacy
    conv = quantize_float_tflite(model.tflite_bytes(), QuantSpec(scheme, io_dtype=io, calib_size=10), data)
    graph = TFLiteGraph(conv.data)
    assert [t.dtype for t in graph.inputs + graph.outputs] == [io, io]
    assert graph.quant_scheme() == scheme


def test_per_channel_modes(legacy):
    model, data = legacy

    def per_axis(mode):
        g = TFLiteGraph(quantize_float_tflite(model.tflite_bytes(), QuantSpec("int8", per_channel=mode, calib_size=10), data).data)
        return {op.opcode: g.main.tensors[op.inputs[1]].quant.per_channel for op in g.main.ops
                if op.opcode in ("CONV_2D", "FULLY_CONNECTED")}  # fmt: skip

    assert per_axis("all") == {"CONV_2D": True, "FULLY_CONNECTED": True}
    assert per_axis("conv") == {"CONV_2D": True, "FULLY_CONNECTED": False}
    assert per_axis("none") == {"CONV_2D": False, "FULLY_CONNECTED": False}


def test_same_inputs_same_bytes(legacy, float_files):
    model, data = legacy
    runs = [quantize_float_tflite(model.tflite_bytes(), QuantSpec("int8"), data).data for _ in range(2)]
    assert runs[0] == runs[1]
    # The file with a signature and the legacy file are the same model: the same int8 weights.
    modern = quantize_float_tflite(float_files[0].read_bytes(), QuantSpec("int8"), data).data
    consts = [sorted((t.dtype, t.shape) for t in TFLiteGraph(d).constants) for d in (modern, runs[0])]
    assert consts[0] == consts[1]


def test_ranges_cover_every_calibration_sample(legacy, tmp_path):
    """TFLiteConverter's rule: a tensor's range is its min/max over all samples (AEQ's own
    calibrate keeps a moving average that forgets a large first sample: here ~3.6 of 8)."""
    model = legacy[0]
    x = np.random.default_rng(5).random((20, 6, 6, 1), np.float32)
    x[0] *= 8  # the largest sample first: a moving average would forget it
    np.savez(tmp_path / "calib.npz", x=x)
    conv = quantize_float_tflite(model.tflite_bytes(), QuantSpec("int8", calib_size=20),
                                 Dataset.open(tmp_path / "calib.npz", model.inputs))  # fmt: skip
    q = TFLiteGraph(conv.data).inputs[0].quant
    top = (127 - q.zero_point[0]) * q.scale[0]
    assert top == pytest.approx(float(x.max()), rel=0.02)


def test_calibration_data_is_required(legacy):
    with pytest.raises(UnsupportedError, match=r"needs calibration data \(--calib\)"):
        quantize_float_tflite(legacy[0].tflite_bytes(), QuantSpec("int8"))


def test_op_it_cannot_quantize_is_named(tiny_data, tmp_path):
    import tensorflow as tf

    module = tf.Module()
    module.w = tf.constant(np.linspace(-1, 1, 36 * 32, dtype=np.float32).reshape(36, 32))  # 1024+: dynamic quantizes it

    @tf.function(input_signature=[tf.TensorSpec([1, 6, 6, 1], tf.float32, name="pixels")])
    def f(x):
        return tf.exp(tf.matmul(tf.reshape(x, [1, 36]), module.w))  # AEQ has no int8 EXP

    data = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], module).convert()
    path = tmp_path / "exp.tflite"
    path.write_bytes(data)
    model = load_model(path)
    with pytest.raises(UnsupportedError, match=r"cannot quantize op EXP of .*exp.tflite to int8"):
        quantize_float_tflite(data, QuantSpec("int8"), Dataset.open(tiny_data, model.inputs), source=str(path))
    assert TFLiteGraph(quantize_float_tflite(data, QuantSpec("dynamic")).data).quant_scheme() == "dynamic"


def test_quantized_source_is_only_reemitted(legacy, tmp_path):
    model, data = legacy
    art = TFLiteTarget().export(model, QuantSpec("int8"), tmp_path / "a", data)
    src = load_model(art.primary)
    with pytest.raises(UnsupportedError, match="already a int8 .tflite and can only be re-emitted"):
        TFLMTarget().check(src, QuantSpec("int16x8"))
    with pytest.raises(UnsupportedError, match="already int8"):
        quantize_float_tflite(src.tflite_bytes(), QuantSpec("int16x8"), data)
    with pytest.raises(UnsupportedError, match="float32 .tflite: it quantizes to int8, int16x8, dynamic"):
        TFLiteTarget().check(model, QuantSpec("float16"))


def test_targets_record_what_they_did(legacy, tmp_path):
    model, data = legacy
    spec = QuantSpec("int8", calib_size=20)
    tfl = TFLiteTarget().export(model, spec, tmp_path, data)
    tflm = TFLMTarget().export(model, spec, tmp_path / "tflm", data)
    assert any(n.startswith("quantized by AI Edge Quantizer") and "static_wi8_ai8" in n for n in tfl.notes)
    assert tfl.metadata["quantizer"]["recipe_name"] == "static_wi8_ai8" and tfl.metadata["calibration"]["samples"] == 20
    json.dumps(tfl.metadata)  # the manifest can hold it
    from targets.tflm.strip import strip_strings

    # one quantization serves both targets; the tflm array is its stripped form
    assert parse_c_array(tflm.primary.read_text(), "tiny_legacy") == strip_strings(tfl.primary.read_bytes())[0]
    assert tflm.metadata["quantizer"] == tfl.metadata["quantizer"] and tflm.metadata["scheme"] == "int8"


@needs_shared()
def test_ad01_fp32_quantizes_with_real_features(tmp_path):
    """MLPerf Tiny's float autoencoder (no signature, schema 3) on the one log-mel feature file
    that ships: calibrated on the even windows, measured on the odd ones against the float file."""
    path = MLPERF / "anomaly_detection" / "ad01_fp32.tflite"
    model = load_model(path)
    raw = np.fromfile(path.parent / "normal_id_01_00000000_hist_librosa.bin", "<f4").reshape(200, 128)
    windows = np.stack([raw[i : i + 5].reshape(640) for i in range(196)])
    np.savez(tmp_path / "calib.npz", x=windows[0::2])
    calib = Dataset.open(tmp_path / "calib.npz", model.inputs)
    test = windows[1::2]
    ref = np.concatenate([model.predict(test[i : i + 1])[0] for i in range(len(test))])
    for scheme in ("int8", "int16x8"):
        conv = quantize_float_tflite(model.tflite_bytes(), QuantSpec(scheme), calib, source=str(path))
        runner = LiteRTRunner()
        runner.load(conv.data)
        out = np.concatenate([runner.run([test[i : i + 1]])[0] for i in range(len(test))])
        l2 = np.linalg.norm(out - ref) / np.linalg.norm(ref)
        assert TFLiteGraph(conv.data).quant_scheme() == scheme and l2 < 0.05, (scheme, l2)


def test_cli_export_float_tflite_to_tflite_and_tflm(float_files, tiny_data, tmp_path):
    out = tmp_path / "b"
    res = run_cli("export", float_files[1], "-t", "tflite,tflm", "-q", "int8", "--calib", tiny_data,
                  "--eval", tiny_data, "-o", out)  # fmt: skip
    assert res.returncode == 0, res.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted((a["target"], a["scheme"]) for a in manifest["artifacts"]) == [("tflite", "int8"), ("tflm", "int8")]
    validation = json.loads((out / "validation.json").read_text())["artifacts"]
    assert validation["tflite/int8"]["cosine"] > 0.999 and validation["tflm/int8"]["cosine"] > 0.999


def test_cli_without_calib_is_one_line(float_files, tmp_path):
    res = run_cli("export", float_files[1], "-t", "tflm", "-q", "int8", "-o", tmp_path / "b")
    assert res.returncode != 0 and "--calib" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "b").exists()


def test_cli_int8_source_needs_no_calib(legacy, tmp_path):
    """An int8 .tflite exported as int8 is re-emitted: nothing to calibrate, so no --calib."""
    model, data = legacy
    art = TFLiteTarget().export(model, QuantSpec("int8", calib_size=10), tmp_path / "a", data)
    out = tmp_path / "b"
    res = run_cli("export", art.primary, "-t", "tflite,tflm,c", "-q", "int8", "-o", out)
    assert res.returncode == 0, res.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert all("calibration" not in a.get("metadata", {}) for a in manifest["artifacts"])
    (emitted,) = (out / "tflite").glob("*.tflite")
    assert emitted.read_bytes() == art.primary.read_bytes()


def test_cli_layers_is_refused_up_front(float_files, tiny_data, tmp_path):
    """--layers (TensorFlow's debugger re-converts the source) on a .tflite source: one line
    before the export (nothing written), and before validation of a build made from one."""
    out = tmp_path / "b"
    args = ("-t", "tflite", "-q", "int8", "--calib", tiny_data, "-o", out)
    res = run_cli("export", float_files[1], *args, "--eval", tiny_data, "--layers")
    assert res.returncode == 2 and "drop --layers" in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert not out.exists()
    assert run_cli("export", float_files[1], *args).returncode == 0
    res = run_cli("validate", out, "--eval", tiny_data, "--layers")
    assert res.returncode == 2 and "drop --layers" in res.stderr, res.stderr
    assert not (out / "validation.json").exists()


def test_two_inputs_are_calibrated_in_their_order(multi_input_keras, tmp_path):
    """Calibration samples come in the subgraph's input order (b, a here, while the signature
    lists a, b) and are fed to AEQ by signature name (a wrong pairing fails on the shapes)."""
    floats = TFLiteTarget().export(load_model(multi_input_keras), QuantSpec("float32"), tmp_path)
    rng = np.random.default_rng(0)
    for data in (floats.primary.read_bytes(), legacy_bytes(floats.primary.read_bytes())):
        path = tmp_path / "two.tflite"
        path.write_bytes(data)
        model = load_model(path)
        arrays = {t.name: rng.random((30, *t.shape[1:]), np.float32) * (10 if t.shape[-1] == 2 else 1) for t in model.inputs}
        np.savez(tmp_path / "two.npz", **arrays)
        conv = quantize_float_tflite(data, QuantSpec("int8", io_dtype="float32"), Dataset.open(tmp_path / "two.npz", model.inputs))
        runner = LiteRTRunner()
        runner.load(conv.data)
        for i in range(5):
            sample = [arrays[t.name][i : i + 1] for t in model.inputs]
            assert np.abs(runner.run(sample)[0] - model.predict(sample)[0]).max() < 0.05
