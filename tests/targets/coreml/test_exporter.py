"""The Core ML target: every scheme on digits (sizes, accuracy), determinism, options,
refusals, SavedModel sources, and the MLPerf Tiny float models through the interpreter."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import OptionError, UnsupportedError
from edgekit.model import load_model
from edgekit.pipeline import ExportOptions, export
from targets.coreml.runner import CoreMLRunner
from edgekit.simulate.metrics import Comparison
from quantize.spec import QuantSpec
from targets.coreml import exporter as coreml
from targets.base import sha256_of
from targets.coreml.exporter import CoreMLTarget
from tests import synthetic
from tests.conftest import EXAMPLE, MLPERF, needs_shared, run_cli

SCHEMES = ["float32", "float16", "int8-weights", "palettize4", "palettize6", "palettize8", "sparse"]


def _weights(artifact) -> int:
    return (artifact.primary / "Data" / "com.apple.CoreML" / "weights" / "weight.bin").stat().st_size


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return export(ExportOptions(model=EXAMPLE / "digits.keras", out=tmp_path_factory.mktemp("cm") / "b",
                                target=("coreml",), quant=",".join(SCHEMES), eval=str(EXAMPLE / "eval.npz")))  # fmt: skip


def test_digits_every_scheme_sizes_and_accuracy(digits):
    by = {a.scheme: a for a in digits.artifacts}
    assert list(by) == SCHEMES and all(a.files[0].endswith(".mlpackage") for a in digits.artifacts)
    f32 = _weights(by["float32"])
    ratios = {s: _weights(a) / f32 for s, a in by.items()}
    ev = digits.evaluation
    print("\ncoreml digits (weight.bin vs float32, top-1, cosine vs Keras):")
    for s in SCHEMES:
        m = ev["artifacts"][f"coreml/{s}"]
        print(f"  {s:<13} {ratios[s]:.3f}x  top-1 {100 * m['top1']:.2f}%  cosine {m['cosine']:.6f}  max abs {m['max_abs']:.2e}")
    assert ratios["int8-weights"] <= 0.30 and ratios["palettize4"] <= 0.17
    assert ratios["float16"] < 0.51 and ratios["palettize6"] < ratios["palettize8"] < ratios["float16"]
    assert ev["artifacts"]["coreml/float32"]["cosine"] >= 0.99999 and ev["artifacts"]["coreml/float32"]["max_abs"] < 1e-4
    for s in ("float16", "int8-weights", "palettize6", "palettize8"):
        assert ev["artifacts"][f"coreml/{s}"]["top1"] >= ev["float"]["top1"] - 0.005, s
    assert ev["artifacts"]["coreml/palettize4"]["top1"] >= ev["float"]["top1"] - 0.02
    assert by["sparse"].metadata["ops"]["constexpr_sparse_to_dense"] == 4
    assert by["palettize4"].metadata["ops"]["constexpr_lut_to_dense"] == 4
    assert by["int8-weights"].metadata["ops"]["constexpr_affine_dequantize"] == 4


def test_exports_are_deterministic(digits, tmp_path):
    model = load_model(EXAMPLE / "digits.keras")
    by = {a.scheme: a for a in digits.artifacts}
    for scheme in ("float32", "palettize4", "sparse"):
        again = CoreMLTarget().export(model, QuantSpec(scheme), tmp_path / scheme)
        assert sha256_of(again.primary) == sha256_of(by[scheme].primary), scheme


def test_refusals(tiny_keras, tmp_path, monkeypatch):
    monkeypatch.setattr(coreml, "runtime_available", lambda: False)
    with pytest.raises(UnsupportedError, match="only on macOS; on this host use coreml=int8-weights"):
        CoreMLTarget().check(None, QuantSpec("int8"))
    assert "int8" not in CoreMLTarget().schemes
    with pytest.raises(UnsupportedError, match="cannot produce scheme 'int4-weights'"):
        CoreMLTarget().check(None, QuantSpec("int4-weights"))
    with pytest.raises(UnsupportedError, match="iOS15 is too old"):
        CoreMLTarget({"deployment_target": "iOS15"}).check(None, QuantSpec("palettize4"))
    with pytest.raises(OptionError, match="--coreml-target 'iOS9'"):
        CoreMLTarget({"deployment_target": "iOS9"})
    with pytest.raises(OptionError, match="option.s. colour unknown"):
        CoreMLTarget({"colour": "RGB"})
    with pytest.raises(OptionError, match="sparsity 1.5"):
        CoreMLTarget({"sparsity": 1.5})
    with pytest.raises(OptionError, match="sparsity 'half'"):
        CoreMLTarget({"sparsity": "half"})
    model = load_model(tiny_keras)
    with pytest.raises(OptionError, match="--labels has 2 labels"):
        CoreMLTarget(labels=["a", "b"]).check(model, QuantSpec("float32"))
    with pytest.raises(OptionError, match="output_names: 2 name"):
        CoreMLTarget({"output_names": "a,b"}).check(model, QuantSpec("float32"))
    from targets.tflite.exporter import TFLiteTarget

    tfl = TFLiteTarget().export(model, QuantSpec("float32"), tmp_path)
    with pytest.raises(UnsupportedError, match="not .tflite"):
        CoreMLTarget().check(load_model(tfl.primary), QuantSpec("float32"))


def test_savedmodel_source_names_and_metadata(saved_model, tmp_path):
    model = load_model(saved_model)
    target = CoreMLTarget({"input_names": ["features"], "precision": "float32", "author": "a", "license": "MIT",
                           "description": "affine"})  # fmt: skip
    art = target.export(model, QuantSpec("palettize8"), tmp_path)
    assert [t.name for t in art.inputs] == ["features"] and [t.name for t in art.outputs] == ["y"]
    assert art.metadata["compute_precision"] == "float32"
    runner = CoreMLRunner()
    runner.load(art)
    x = np.random.default_rng(0).random((3, 5), np.float32)
    assert np.allclose(runner.run([x])[0], model.predict(x)[0], atol=2e-2)
    meta = runner.program.spec.description.metadata
    assert (meta.author, meta.license, meta.shortDescription) == ("a", "MIT", "affine")
    assert "com.github.apple.coremltools.conversion_date" not in meta.userDefined


def test_cli_options_config_and_int8_refusal(tmp_path):
    cfg = tmp_path / "edgekit.toml"
    cfg.write_text(f'[export]\nmodel = "{EXAMPLE / "digits.keras"}"\ntarget = "coreml"\nquant = "int8-weights"\n'
                   '[export.coreml]\nauthor = "ci"\nversion = "3"\n')  # fmt: skip
    res = run_cli("export", "--config", cfg, "--coreml-target", "iOS17", "--coreml-precision", "float32", "-o", tmp_path / "b", "--json")
    assert res.returncode == 0, res.stderr
    import json

    art = json.loads(res.stdout)["artifacts"][0]
    assert art["metadata"]["deployment_target"] == "iOS17" and art["metadata"]["compute_precision"] == "float32"
    from targets.coreml.mil_program import MILProgram

    assert MILProgram(tmp_path / "b" / art["files"][0]["path"]).opset == "CoreML7"  # iOS17's opset
    res = run_cli("export", EXAMPLE / "digits.keras", "-t", "coreml", "-q", "int8", "--calib", EXAMPLE / "calib.npz",
                  "-o", tmp_path / "c")  # fmt: skip
    if not coreml.runtime_available():
        assert res.returncode == 2 and "error: coreml int8 quantizes activations" in res.stderr
        assert "Traceback" not in res.stderr and not (tmp_path / "c").exists()
    res = run_cli("targets")
    assert "coreml" in res.stdout


MLPERF_CASES = {
    "resnet": ("image_classification/pretrainedResnet.h5", lambda n: synthetic.images(n, 32, 32, 3, 2, 0.0, 255.0)),
    "vww": ("visual_wake_words/vww_96.h5", lambda n: synthetic.images(n, 96, 96, 3, 2, 0.0, 1.0)),
    "kws": ("keyword_spotting/kws_ref_model", lambda n: synthetic.mfcc(n, 2)),
    "ad": ("anomaly_detection/ad01.h5", None),
}


@needs_shared()
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MLPERF_CASES))
def test_mlperf_models_every_scheme(name, tmp_path):
    path, make = MLPERF_CASES[name]
    model = load_model(MLPERF / path)
    if make is None:
        raw = np.fromfile(MLPERF / "anomaly_detection" / "normal_id_01_00000000_hist_librosa.bin", "<f4").reshape(200, 128)
        x = synthetic.logmel_windows(raw, 8, 2)
    else:
        x = make(8)
    ref = model.predict(x)[0]
    print()
    for scheme in SCHEMES:
        art = CoreMLTarget().export(model, QuantSpec(scheme), tmp_path / scheme)
        runner = CoreMLRunner()
        runner.load(art)
        out = runner.run([x])[0]
        c = Comparison()
        c.update(out, ref)
        m = c.result()
        agree = float((out.argmax(-1) == ref.argmax(-1)).mean()) if name != "ad" else float("nan")
        print(f"{name} {scheme:<13} {art.metadata['weight_bytes']:>9,} B  cosine {m['cosine']:.6f}  "
              f"max abs {m['max_abs']:.2e}  top-1 agreement {agree:.0%}")  # fmt: skip
        assert out.shape == ref.shape and np.isfinite(out).all(), scheme
        scale = max(1.0, float(np.abs(ref).max()))
        if scheme == "float32":
            assert m["cosine"] >= 0.99999 and m["max_abs"] < 1e-4 * scale, name
        if scheme == "float16":  # a few fp16 units (2^-11) of the output's magnitude
            assert m["cosine"] >= 0.9999 and m["max_abs"] < 16 * 2.0**-11 * scale, name


def test_ios18_compressed_ops_decode_like_ios16(digits, tmp_path):
    """iOS18 stores compressed weights with other ops (blockwise shift/scale, typed n-bit
    indices and masks); the interpreter decodes them to the same network as the iOS16 forms."""
    from edgekit.inspect import inspect_path

    model = load_model(EXAMPLE / "digits.keras")
    by = {a.scheme: a for a in digits.artifacts}
    x = np.load(EXAMPLE / "eval.npz")["x"][:32]
    for scheme, op in (("int8-weights", "constexpr_blockwise_shift_scale"), ("palettize4", "constexpr_lut_to_dense"),
                       ("sparse", "constexpr_sparse_to_dense")):  # fmt: skip
        art = CoreMLTarget({"deployment_target": "iOS18"}).export(model, QuantSpec(scheme), tmp_path / scheme)
        assert art.metadata["ops"][op] == 4 and not any("cannot simulate" in n for n in art.notes)
        new, old = CoreMLRunner(), CoreMLRunner()
        new.load(art)
        old.load(by[scheme])
        assert np.abs(new.run([x])[0] - old.run([x])[0]).max() < 1e-3, scheme
        assert inspect_path(art.primary)["opset"] == "CoreML8"


def _float64_dense_stack(model, x: np.ndarray) -> np.ndarray:
    """The AD autoencoder (Dense, BatchNormalization, ReLU) evaluated in float64 with NumPy."""
    keras_model = model.keras_model()
    layers = [layer for outer in keras_model.layers for layer in getattr(outer, "layers", [outer])]
    h = x.astype(np.float64)
    for layer in layers:
        kind, w = type(layer).__name__, [a.astype(np.float64) for a in layer.get_weights()]
        if kind == "Dense":
            h = h @ w[0] + w[1]
        elif kind == "BatchNormalization":
            h = (h - w[2]) / np.sqrt(w[3] + layer.epsilon) * w[0] + w[1]
        elif kind in ("Activation", "ReLU"):
            assert layer.get_config().get("activation", "relu") == "relu"
            h = np.maximum(h, 0)
        else:
            assert kind == "InputLayer", kind
    return h


@needs_shared()
@pytest.mark.slow
def test_ad_float32_package_is_closer_to_exact_math_than_tensorflow(tmp_path):
    """AD's outputs reach ~60: TensorFlow's float32 Keras result is ~1.5e-3 from a float64
    evaluation of the same weights; the interpreter's float32 result ~1e-5 (bound 1e-4)."""
    model = load_model(MLPERF / "anomaly_detection" / "ad01.h5")
    raw = np.fromfile(MLPERF / "anomaly_detection" / "normal_id_01_00000000_hist_librosa.bin", "<f4").reshape(200, 128)
    x = synthetic.logmel_windows(raw, 8, 2)
    exact = _float64_dense_stack(model, x)
    runner = CoreMLRunner()
    runner.load(CoreMLTarget().export(model, QuantSpec("float32"), tmp_path))
    ours, tf_err = np.abs(runner.run([x])[0] - exact).max(), np.abs(model.predict(x)[0] - exact).max()
    print(f"\nad float32: max abs vs float64 — interpreter {ours:.2e}, TensorFlow {tf_err:.2e}")
    assert ours < 1e-4 and ours < tf_err


def _tiny_torch(tmp_path):
    from tests.torch_models import save_pt2, tiny_cnn

    return load_model(save_pt2(tiny_cnn(), tmp_path / "tiny.pt2"))


@pytest.mark.parametrize("scheme, cosine", [("float32", 0.99999), ("float16", 0.999)])
def test_pytorch_program_converts_and_runs_in_the_mil_interpreter(tmp_path, scheme, cosine):
    model = _tiny_torch(tmp_path)
    artifact = CoreMLTarget().export(model, QuantSpec(scheme), tmp_path / "out")
    runner = CoreMLRunner()
    runner.load(artifact)
    assert runner.unsupported_ops() == [] and runner.inputs[0].shape == (1, 3, 8, 8)
    x = np.random.default_rng(1).random((8, 3, 8, 8), dtype=np.float32)
    got = np.concatenate([runner.run([x[i : i + 1]])[0] for i in range(8)])
    ref = model.predict(x)[0]
    cos = float(np.dot(got.ravel(), ref.ravel()) / np.linalg.norm(got) / np.linalg.norm(ref))
    assert cos >= cosine and [t.name for t in artifact.outputs] == [t.name for t in model.outputs]


def test_pytorch_image_input_is_refused(tmp_path):
    model = _tiny_torch(tmp_path)
    with pytest.raises(UnsupportedError, match="--coreml-input tensor"):
        CoreMLTarget({"input": "image"}).export(model, QuantSpec("float32"), tmp_path / "out")
