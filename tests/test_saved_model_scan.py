"""SavedModels are scanned op by op before tf.saved_model.load may run anything in them."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from edgekit.errors import ModelFileError, UnsafeModelError
from edgekit.loaders.saved_model_scan import allowed_ops, read_saved_model, refused_ops
from edgekit.model import load_model
from tests.conftest import SHARED, needs_shared


def save_writer_model(path, marker) -> None:
    """A tf.Module SavedModel whose resource initializer writes ``marker`` when loaded."""
    import tensorflow as tf

    class Writer(tf.saved_model.experimental.TrackableResource):
        def _create_resource(self):
            return tf.raw_ops.VarHandleOp(dtype=tf.float32, shape=[], shared_name=f"w{id(self)}")

        def _initialize(self):
            tf.io.write_file(str(marker), "written by the model")

    class Model(tf.Module):
        def __init__(self):
            super().__init__()
            self.writer = Writer()

        @tf.function(input_signature=[tf.TensorSpec([None, 5], tf.float32, name="x")])
        def __call__(self, x):
            return {"y": x * 2.0}

    model = Model()
    tf.saved_model.save(model, str(path), signatures={"serving_default": model.__call__})


@pytest.fixture(scope="module")
def writer_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("writer")
    save_writer_model(root / "sm", root / "marker")
    assert not (root / "marker").exists()
    return root / "sm", root / "marker"


def test_initializer_writing_a_file_is_refused_before_loading(writer_model):
    path, marker = writer_model
    with pytest.raises(UnsafeModelError, match=r"op WriteFile at node .* of function '__inference__initializer.*--unsafe"):
        load_model(path)
    assert not marker.exists()


def test_unsafe_skips_the_scan(writer_model):
    path, marker = writer_model
    load_model(path, unsafe=True)
    assert marker.exists()  # the check, not TensorFlow, is what kept it from running
    marker.unlink()


def _edit(src, dst, edit) -> None:
    shutil.copytree(src, dst)
    proto = read_saved_model(dst)
    edit(proto.meta_graphs[0])
    (dst / "saved_model.pb").write_bytes(proto.SerializeToString())


def _function(meta, prefix):
    return next(f for f in meta.graph_def.library.function if f.signature.name.startswith(prefix))


def test_saver_ops_only_where_the_saver_runs_them(saved_model, tmp_path):
    def into_serving(meta):
        node = _function(meta, "__inference___call__").node_def.add()
        node.name, node.op = "sneaky", "SaveV2"

    _edit(saved_model, tmp_path / "serving", into_serving)
    with pytest.raises(UnsafeModelError, match=r"op SaveV2 at node 'sneaky' of function '__inference___call__"):
        load_model(tmp_path / "serving")

    def restore_writes(meta):  # TF1 loaders run the restore subgraph
        node = next(n for n in _function(meta, "__inference__traced_restore").node_def if n.op == "RestoreV2")
        node.op = "SaveV2"

    _edit(saved_model, tmp_path / "restore", restore_writes)
    assert [op for op, _ in refused_ops(read_saved_model(tmp_path / "restore"))] == ["SaveV2"]


def test_corrupt_protobuf_is_a_model_file_error(saved_model, tmp_path):
    shutil.copytree(saved_model, tmp_path / "sm")
    (tmp_path / "sm" / "saved_model.pb").write_bytes(b"\xff\xff not a protobuf")
    with pytest.raises(ModelFileError, match="saved_model.pb is not a readable SavedModel"):
        load_model(tmp_path / "sm")


def test_keras_exports_and_tf1_graphs_pass(tmp_path):
    import keras
    import tensorflow as tf
    import tf_keras

    x = keras.Input((6, 6, 1))
    y = keras.layers.BatchNormalization()(keras.layers.DepthwiseConv2D(3, padding="same")(keras.layers.Conv2D(4, 3)(x)))
    y = keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(keras.layers.MaxPooling2D()(y)))
    keras.Model(x, y).export(tmp_path / "k3", verbose=False)
    x = tf_keras.Input((5, 3))
    tf_keras.Model(x, tf_keras.layers.GRU(4)(x)).save(tmp_path / "gru", save_format="tf")
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        inp = tf.compat.v1.placeholder(tf.float32, [None, 2], name="x")
        out = tf.matmul(inp, tf.compat.v1.get_variable("w", [2, 2]))
        sess.run(tf.compat.v1.global_variables_initializer())
        tf.compat.v1.saved_model.simple_save(sess, str(tmp_path / "tf1"), {"x": inp}, {"y": out})
    for name in ("k3", "gru", "tf1"):
        assert refused_ops(read_saved_model(tmp_path / name)) == [], name
    assert load_model(tmp_path / "k3").outputs[0].shape == (1, 3)


REAL_SAVED_MODELS = sorted(p.parent for p in SHARED.rglob("saved_model.pb")) if SHARED.exists() else []


@needs_shared()
@pytest.mark.parametrize("path", REAL_SAVED_MODELS, ids=lambda p: p.name)
def test_real_saved_models_still_load(path):
    m = load_model(path)
    (y,) = m.predict(np.zeros(m.inputs[0].shape, np.float32))
    assert y.shape == m.outputs[0].shape


def test_allowlist_has_no_file_or_code_ops():
    ops = allowed_ops()
    everywhere = ops["any"]
    assert {"Conv2D", "StatefulPartitionedCall", "VarHandleOp", "While"} <= everywhere
    assert not {"WriteFile", "ReadFile", "PrintV2", "PyFunc", "EagerPyFunc", "ImmutableConst", "RemoteCall",
                "SaveV2", "RestoreV2", "MatchingFiles", "InitializeTableFromTextFileV2"} & everywhere  # fmt: skip
    assert ops["restore"] == {"RestoreV2", "Restore", "RestoreSlice"}
