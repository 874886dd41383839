"""Keras model files that would run code while loading are refused before any framework reads them."""

from __future__ import annotations

import json
import shutil
import zipfile

import numpy as np
import pytest

from edgekit.errors import ModelFileError, UnsafeModelError
from edgekit.model import load_model
from tests.conftest import SHARED, needs_shared, run_cli


def _tf_op_layer(name: str, function: str, inbound: list) -> dict:
    return {"class_name": "TFOpLambda", "name": name, "inbound_nodes": inbound,
            "config": {"name": name, "trainable": True, "dtype": "float32", "function": function}}  # fmt: skip


@pytest.fixture(scope="module")
def op_lambda_h5(tmp_path_factory):
    """A tf_keras functional model made of TF ops (TFOpLambda / SlicingOpLambda layers)."""
    import tensorflow as tf
    import tf_keras

    x = tf_keras.Input((4,), name="x")
    y = tf.reshape(tf.math.add(x, 1.0), (-1, 2, 2))[:, 0]
    y = tf.concat([tf.nn.relu(y) * 2.0, y], axis=-1)
    path = tmp_path_factory.mktemp("oplambda") / "ops.h5"
    tf_keras.Model(x, y).save(path)
    return path


def _with_config(src, dst, edit) -> None:
    import h5py

    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        f.attrs["model_config"] = edit(json.loads(f.attrs["model_config"]))


def _add_layer(layer: dict):
    def edit(cfg):
        cfg["config"]["layers"].insert(1, layer)
        return json.dumps(cfg)

    return edit


def test_tf_op_lambda_writing_a_file_is_refused_before_loading(op_lambda_h5, tmp_path):
    marker = tmp_path / "written_by_the_model"
    evil = tmp_path / "evil.h5"
    # tf_keras calls the function eagerly on a _CONSTANT_VALUE input from the file.
    layer = _tf_op_layer("innocent", "io.write_file", [["_CONSTANT_VALUE", -1, str(marker), {"contents": "x"}]])
    _with_config(op_lambda_h5, evil, _add_layer(layer))
    with pytest.raises(UnsafeModelError, match=r"'innocent'.*tf\.io\.write_file.*--unsafe"):
        load_model(evil)
    assert not marker.exists()


def test_tf_op_lambda_loading_a_library_is_refused(op_lambda_h5, tmp_path):
    evil = tmp_path / "lib.h5"
    layer = _tf_op_layer("lib", "load_op_library", [["_CONSTANT_VALUE", -1, str(tmp_path / "x.so"), {}]])
    _with_config(op_lambda_h5, evil, _add_layer(layer))
    with pytest.raises(UnsafeModelError, match=r"'lib'.*tf\.load_op_library"):
        load_model(evil)


def test_tf_op_lambda_allowlist_is_math_and_array_functions():
    from edgekit.loaders.safety import tf_function_allowed

    for name in ("math.add", "reshape", "concat", "nn.relu", "__operators__.getitem", "image.resize", "compat.v1.nn.relu6"):
        assert tf_function_allowed(name), name
    for name in ("io.write_file", "io.read_file", "load_op_library", "load_library", "print", "py_function",
                 "numpy_function", "map_fn", "io.gfile.GFile", "raw_ops.WriteFile", "compat.v1.raw_ops.ImmutableConst",
                 "saved_model.load", "nope", ["math.add"], None):  # fmt: skip
        assert not tf_function_allowed(name), name


def test_tf_op_method_layers_are_refused(op_lambda_h5, tmp_path):
    evil = tmp_path / "method.h5"
    layer = {"class_name": "ClassMethod", "name": "m", "inbound_nodes": [],
             "config": {"name": "m", "cls_symbol": "io.gfile.GFile", "method_name": "write"}}  # fmt: skip
    _with_config(op_lambda_h5, evil, _add_layer(layer))
    with pytest.raises(UnsafeModelError, match=r"'m'"):
        load_model(evil)


@pytest.mark.parametrize(("module", "name"), [("os", "system"), ("builtins", "eval"), ("keras.models", "load_model")])
def test_h5_naming_a_foreign_function_is_refused(legacy_h5, tmp_path, module, name):
    evil = tmp_path / "module.h5"

    def edit(cfg):
        cfg["config"]["layers"][-1]["config"]["activation"] = {
            "module": module, "class_name": "function", "config": name, "registered_name": name}  # fmt: skip
        return json.dumps(cfg)

    _with_config(legacy_h5, evil, edit)
    with pytest.raises(UnsafeModelError, match=rf"names {module}\.{name} \(module '{module}'"):
        load_model(evil)


def test_h5_model_config_that_is_not_json_is_a_model_file_error(legacy_h5, tmp_path):
    bad = tmp_path / "notjson.h5"
    _with_config(legacy_h5, bad, lambda cfg: "{not json")
    with pytest.raises(ModelFileError, match=r"notjson\.h5.*model_config.*not JSON"):
        load_model(bad)


def test_h5_model_config_nested_past_the_stack_is_a_model_file_error(legacy_h5, tmp_path):
    bad = tmp_path / "deep.h5"
    _with_config(legacy_h5, bad, lambda cfg: "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelFileError, match=r"deep\.h5.*not JSON"):
        load_model(bad)


def test_keras3_config_json_that_is_not_text_is_a_model_file_error(tiny_keras, tmp_path):
    bad = tmp_path / "binary.keras"
    with zipfile.ZipFile(tiny_keras) as z, zipfile.ZipFile(bad, "w") as out:
        for item in z.infolist():
            out.writestr(item, b"\xff\xfe\x00garbage" if item.filename == "config.json" else z.read(item))
    with pytest.raises(ModelFileError, match=r"binary\.keras.*config\.json is not JSON"):
        load_model(bad)


def test_h5_class_names_that_are_not_strings_are_a_model_file_error(legacy_h5, tmp_path):
    bad = tmp_path / "listname.h5"

    def edit(cfg):
        cfg["config"]["layers"][-1]["class_name"] = ["Dense"]
        cfg["config"]["layers"][-1]["config"]["activation"] = {"module": "builtins", "class_name": "function", "config": {}}
        return json.dumps(cfg)

    _with_config(legacy_h5, bad, edit)
    with pytest.raises(ModelFileError, match="listname"):
        load_model(bad)


def test_tf_op_lambda_models_of_math_and_array_ops_still_load(op_lambda_h5):
    m = load_model(op_lambda_h5)
    (y,) = m.predict(np.ones((1, 4), np.float32))
    assert m.kind == "tf_keras" and np.allclose(y, [[4.0, 4.0, 2.0, 2.0]])


def _keras_with_config(src, dst, edit) -> None:
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w") as out:
        for item in z.infolist():
            data = z.read(item)
            out.writestr(item, json.dumps(edit(json.loads(data))) if item.filename == "config.json" else data)


@pytest.mark.parametrize(
    ("module", "name", "names"),
    [
        ("keras.utils", "get_file", "keras.utils.get_file"),  # CVE-2025-8747's safe_mode bypass
        ("keras.src.utils.file_utils", "get_file", "keras.src.utils.file_utils.get_file"),
        ("subprocess", "Popen", "subprocess.Popen"),
    ],
)
def test_keras3_config_naming_a_foreign_function_is_refused(tiny_keras, tmp_path, module, name, names):
    evil = tmp_path / "evil.keras"

    def edit(cfg):
        dense = cfg["config"]["layers"][-1]["config"]
        dense["kernel_initializer"] = {"module": module, "class_name": "function", "config": name, "registered_name": name}
        return cfg

    _keras_with_config(tiny_keras, evil, edit)
    with pytest.raises(UnsafeModelError, match=rf"'scores'.*{names}"):
        load_model(evil)


def test_keras3_layer_loading_another_model_is_refused(tiny_keras, tmp_path):
    evil = tmp_path / "tfsm.keras"

    def edit(cfg):
        cfg["config"]["layers"][-1]["class_name"] = "TFSMLayer"
        return cfg

    _keras_with_config(tiny_keras, evil, edit)
    with pytest.raises(UnsafeModelError, match=r"'scores'.*TFSMLayer"):
        load_model(evil)


def test_keras3_functional_model_with_ops_still_loads(tmp_path):
    import keras

    x = keras.Input((6, 6, 1))
    y = keras.layers.Conv2D(2, 3, kernel_regularizer="l2", activation=keras.activations.relu6)(x)
    y = keras.layers.Flatten()(keras.ops.add(y, 1.0)[:, 0])
    model = keras.Model(x, keras.layers.Dense(3, activation="softmax", kernel_constraint=keras.constraints.MaxNorm(2))(y))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.save(tmp_path / "ops.keras")
    assert load_model(tmp_path / "ops.keras").outputs[0].shape == (1, 3)


REAL_KERAS = sorted(p for ext in ("*.h5", "*.keras") for p in SHARED.rglob(ext)) if SHARED.exists() else []


@needs_shared()
@pytest.mark.parametrize("path", REAL_KERAS, ids=lambda p: p.name)
def test_real_keras_models_still_load(path):
    assert load_model(path).outputs


def test_unsafe_flag_loads_a_trusted_file_and_warns(lambda_keras):
    res = run_cli("inspect", lambda_keras, "--unsafe")
    assert res.returncode == 0, res.stderr
    assert "warning: --unsafe" in res.stderr and "safety checks" in res.stderr
