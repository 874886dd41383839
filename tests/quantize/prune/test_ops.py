"""Operator pruning: no-op layers go, BatchNormalization folds, outputs stay the same."""

import numpy as np
import pytest

from quantize.prune.graph import class_name
from quantize.prune.ops import prune_ops


def _noisy(K):
    L = K.layers
    K.utils.set_random_seed(9)
    inp = K.Input((6, 6, 2), name="x")
    x = L.Conv2D(4, 3, padding="same", use_bias=False, name="conv")(inp)
    x = L.BatchNormalization(name="bn")(x)
    x = L.ReLU()(x)
    x = L.SpatialDropout2D(0.2, name="sdrop")(x)
    x = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="dw")(x)
    x = L.BatchNormalization(name="bn_dw")(x)
    x = L.Activation("linear", name="lin")(x)
    x = L.Reshape((6, 6, 8), name="same_shape")(x)
    x = L.Flatten()(x)
    x = L.Dropout(0.5, name="drop")(x)
    x = L.Dense(5, activation="relu", name="fc")(x)
    if hasattr(L, "Identity"):
        x = L.Identity(name="ident")(x)
    out = L.Dense(3, activation="softmax", name="out")(L.GaussianNoise(0.1, name="noise")(x))
    model = K.Model(inp, out)
    rng = np.random.default_rng(3)
    for name in ("bn", "bn_dw"):
        layer = model.get_layer(name)
        n = layer.get_weights()[0].shape[0]
        layer.set_weights([rng.uniform(0.5, 2, n), rng.normal(0, 1, n), rng.normal(0, 1, n), rng.uniform(0.5, 2, n)])
    return model


@pytest.mark.parametrize("framework", ["keras", "tf_keras"])
def test_noop_layers_removed_bn_folded_outputs_unchanged(framework):
    import importlib

    model = _noisy(importlib.import_module(framework))
    pruned, removed = prune_ops(model)
    actions = {r["layer"]: r["action"] for r in removed}
    expected = {"sdrop", "drop", "noise", "lin", "same_shape"} | ({"ident"} if "ident" in [x.name for x in model.layers] else set())
    assert {k for k, v in actions.items() if v.startswith("removed")} == expected
    assert actions["bn"] == "folded into conv" and actions["bn_dw"] == "folded into dw"
    kinds = [class_name(layer) for layer in pruned.layers]
    assert not {"Dropout", "SpatialDropout2D", "GaussianNoise", "Identity", "BatchNormalization", "Reshape"} & set(kinds)
    assert kinds.count("Activation") == 0 and "Flatten" in kinds  # a real reshape stays
    x = np.random.default_rng(0).random((7, 6, 6, 2), np.float32)
    np.testing.assert_allclose(np.asarray(pruned(x)), np.asarray(model(x, training=False)), rtol=1e-5, atol=1e-6)
    assert pruned.count_params() < model.count_params()


def test_keeps_bn_when_asked_and_output_layers():
    import keras

    model = _noisy(keras)
    pruned, removed = prune_ops(model, fold_bn=False)
    assert not any("folded" in r["action"] for r in removed)
    assert [class_name(layer) for layer in pruned.layers].count("BatchNormalization") == 2
    inp = keras.Input((3,))
    tail = keras.Model(inp, keras.layers.Dropout(0.5, name="last")(keras.layers.Dense(2)(inp)))
    _, removed = prune_ops(tail)
    assert removed == []  # a layer producing a model output keeps its name


def test_bn_not_folded_after_activation():
    import keras

    inp = keras.Input((4, 4, 1))
    x = keras.layers.Conv2D(2, 1, activation="relu", name="c")(inp)
    model = keras.Model(inp, keras.layers.Flatten()(keras.layers.BatchNormalization(name="bn")(x)))
    _, removed = prune_ops(model)
    assert removed == []
