import numpy as np
import pytest

from edgekit.errors import ModelFileError, OptionError, UnsafeModelError
from edgekit.model import load_model, parse_input_shapes, resolve_shape, sanitize_name
from tests.conftest import MLPERF, needs_shared


def test_keras3_file_fixed_batch_and_predict(tiny_keras):
    m = load_model(tiny_keras)
    assert m.kind == "keras" and m.name == "tiny"
    assert m.inputs[0].shape == (1, 6, 6, 1) and m.inputs[0].name == "pixels"
    assert m.outputs[0].shape == (1, 3)
    x = np.random.default_rng(0).random((5, 6, 6, 1), np.float32)
    (y,) = m.predict(x)
    assert y.shape == (5, 3) and np.allclose(y.sum(axis=1), 1, atol=1e-5)
    fixed = m.keras_model()
    assert tuple(fixed.inputs[0].shape) == (1, 6, 6, 1)


def test_batch_option(tiny_keras):
    m = load_model(tiny_keras, batch=4)
    assert m.inputs[0].shape[0] == 4 and m.outputs[0].shape[0] == 4
    with pytest.raises(OptionError, match="--batch"):
        load_model(tiny_keras, batch=0)


def test_keras3_h5(tiny_h5):
    m = load_model(tiny_h5)
    assert m.kind == "keras" and m.inputs[0].shape == (1, 6, 6, 1)


def test_legacy_keras2_h5_goes_through_tf_keras(legacy_h5):
    m = load_model(legacy_h5)
    assert m.kind == "tf_keras"
    assert m.inputs[0].shape == (1, 8, 8, 2)
    (y,) = m.predict(np.ones((2, 8, 8, 2), np.float32))
    assert y.shape == (2, 4)


def test_plain_savedmodel(saved_model):
    m = load_model(saved_model)
    assert m.kind == "saved_model"
    assert [t.name for t in m.inputs] == ["x"] and m.inputs[0].shape == (1, 5)
    assert [t.name for t in m.outputs] == ["y"]
    x = np.ones((3, 5), np.float32)
    (y,) = m.predict(x)
    assert y.shape == (3, 3)
    fn, owner = m.concrete_function()
    assert fn.inputs[0].shape.as_list() == [1, 5]
    with pytest.raises(OptionError, match="--signature nope"):
        load_model(saved_model, signature="nope")


def test_lambda_refused_unless_unsafe(lambda_keras):
    with pytest.raises(UnsafeModelError, match=r"Lambda layer\(s\) 'double'.*--unsafe"):
        load_model(lambda_keras)
    m = load_model(lambda_keras, unsafe=True)
    (y,) = m.predict(np.ones((1, 4), np.float32))
    assert np.allclose(y, 2.0)


def test_multi_input_by_name(multi_input_keras):
    m = load_model(multi_input_keras)
    assert [t.name for t in m.inputs] == ["a", "b"]
    y1 = m.predict({"a": np.ones((2, 4)), "b": np.zeros((2, 2))})[0]
    y2 = m.predict([np.ones((2, 4)), np.zeros((2, 2))])[0]
    assert np.allclose(y1, y2)
    with pytest.raises(OptionError, match="lacks model input"):
        m.predict({"a": np.ones((2, 4))})


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".tflite"])
def test_random_bytes_are_not_a_model(tmp_path, suffix):
    p = tmp_path / f"junk{suffix}"
    p.write_bytes(np.random.default_rng(1).bytes(4096))
    with pytest.raises(ModelFileError, match="junk"):
        load_model(p)


def test_truncated_keras_file(tmp_path, tiny_keras):
    p = tmp_path / "cut.keras"
    p.write_bytes(tiny_keras.read_bytes()[:2000])
    with pytest.raises(ModelFileError, match="cut.keras"):
        load_model(p)


def test_missing_and_unknown(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        load_model(tmp_path / "none.keras")
    (tmp_path / "m.xyz").write_bytes(b"x")
    with pytest.raises(ModelFileError, match="unknown model type"):
        load_model(tmp_path / "m.xyz")
    with pytest.raises(ModelFileError, match="not a TensorFlow SavedModel"):
        load_model(tmp_path)


def test_weights_only_h5(tmp_path):
    import h5py

    p = tmp_path / "weights.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("w", data=np.ones(3))
    with pytest.raises(ModelFileError, match="no model architecture"):
        load_model(p)


def test_shapes_and_names():
    assert parse_input_shapes("1x96x96x3") == {None: (1, 96, 96, 3)}
    assert parse_input_shapes("a=1x4;b=1,2") == {"a": (1, 4), "b": (1, 2)}
    with pytest.raises(OptionError):
        parse_input_shapes("1xAx3")
    assert resolve_shape("x", (None, None, 3), 1, {None: (1, 10, 3)}) == (1, 10, 3)
    with pytest.raises(OptionError, match="unknown dimensions.*--input-shape x=1x1x3"):
        resolve_shape("x", (None, None, 3), 1, {})
    with pytest.raises(OptionError, match="does not match"):
        resolve_shape("x", (None, 5, 3), 1, {None: (1, 6, 3)})
    assert sanitize_name("my-model v2") == "my_model_v2"


@needs_shared()
@pytest.mark.slow
def test_mlperf_sources_load():
    vww = load_model(MLPERF / "visual_wake_words" / "vww_96.h5")
    assert vww.kind == "tf_keras" and vww.inputs[0].shape == (1, 96, 96, 3)
    kws = load_model(MLPERF / "keyword_spotting" / "kws_ref_model")
    assert kws.kind == "saved_model" and kws.inputs[0].shape == (1, 49, 10, 1)
    assert kws.outputs[0].shape == (1, 12)
