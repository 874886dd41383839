"""Channel pruning: coupled groups, and outputs unchanged when the removed channels were zero."""

import numpy as np
import pytest

from edgekit.errors import OptionError
from edgekit.model import load_model
from quantize.prune.channels import apply_channel_plan, plan_channels
from quantize.prune.graph import class_name, read_graph, rebuild
from quantize.prune.spec import parse_prune_spec
from tests.conftest import EXAMPLE, MLPERF, needs_shared


def _branchy(K):
    """Residual Add, BN, depthwise, separable, concat, flatten: every coupling rule in one model."""
    L = K.layers
    K.utils.set_random_seed(4)
    inp = K.Input((8, 8, 3), name="img")
    x = L.ReLU()(L.BatchNormalization(name="bn0")(L.Conv2D(8, 3, padding="same", name="stem")(inp)))
    a = L.BatchNormalization(name="bn_a")(L.Conv2D(8, 3, padding="same", name="conv_a")(x))
    y = L.ReLU()(L.Add(name="add")([x, a]))
    d = L.BatchNormalization(name="bn_d")(L.DepthwiseConv2D(3, padding="same", name="dw")(y))
    s = L.SeparableConv2D(12, 3, padding="same", activation="relu", name="sep")(d)
    c = L.Conv2D(6, 1, name="side")(y)
    z = L.Conv2D(10, 3, strides=2, name="mix")(L.Concatenate(name="cat")([s, c]))
    h = L.Dense(16, activation="relu", name="fc")(L.Flatten()(z))
    model = K.Model(inp, L.Dense(4, activation="softmax", name="head")(h), name="branchy")
    rng = np.random.default_rng(0)
    for layer in model.layers:  # non-trivial BatchNormalization statistics
        if class_name(layer) == "BatchNormalization":
            n = layer.get_weights()[0].shape[0]
            layer.set_weights([rng.uniform(0.5, 2, n), rng.normal(0, 0.5, n), rng.normal(0, 0.5, n), rng.uniform(0.5, 2, n)])
    return model


def _zero_removed(model, plan):
    """A copy of ``model`` whose channels that ``plan`` removes are exactly zero everywhere."""
    copy = rebuild(read_graph(model))
    cg = plan.groups
    for name, space in cg.in_space.items():
        layer = copy.get_layer(name)
        w = layer.get_weights()
        if name in cg.out_group:
            root = cg.find(cg.out_group[name])
            if root in plan.kept:
                gone = np.setdiff1d(np.arange(w[-1].shape[-1]), plan.kept[root])
                k = 1 if class_name(layer).startswith("Separable") else 0
                w[k][..., gone] = 0
                w[-1][gone] = 0
        else:
            keep = cg.kept_indices(space, plan.kept)
            gone = np.setdiff1d(np.arange(w[-1].shape[-1]), keep)
            if class_name(layer) == "BatchNormalization":
                w[1][gone] = 0  # beta
                w[2][gone] = 0  # moving mean: BN(0) = 0
            else:
                w[-1][gone] = 0  # depthwise bias
        layer.set_weights(w)
    return copy


def _check_zero_channels_prune_exactly(model, spec_text, x):
    spec = parse_prune_spec(spec_text)
    zeroed = _zero_removed(model, plan_channels(model, spec))
    plan = plan_channels(zeroed, spec)
    pruned = apply_channel_plan(plan)
    np.testing.assert_allclose(np.asarray(pruned(x)), np.asarray(zeroed(x)), rtol=1e-5, atol=1e-5)
    assert pruned.count_params() < model.count_params()
    return plan, pruned


@pytest.mark.parametrize("framework", ["keras", "tf_keras"])
def test_groups_follow_add_bn_depthwise_concat(framework):
    import importlib

    from quantize.prune.graph import ChannelGroups

    model = _branchy(importlib.import_module(framework))
    cg = ChannelGroups(read_graph(model))
    by_producers = {tuple(sorted(g.producers)): g for g in cg.groups if g.producers}
    assert set(by_producers) == {("conv_a", "stem"), ("sep",), ("side",), ("mix",), ("fc",), ("head",)}
    residual = by_producers[("conv_a", "stem")]
    assert set(residual.members) == {"bn0", "bn_a", "dw", "bn_d"} and not residual.frozen
    assert by_producers[("head",)].frozen  # model output (softmax)


@pytest.mark.parametrize("framework", ["keras", "tf_keras"])
def test_pruned_model_equals_original_when_removed_channels_were_zero(framework):
    import importlib

    model = _branchy(importlib.import_module(framework))
    x = np.random.default_rng(1).random((5, 8, 8, 3), np.float32)
    plan, pruned = _check_zero_channels_prune_exactly(model, "channels=0.5", x)
    sizes = {r["layers"][0]: (r["channels"], r["kept"]) for r in plan.rows}
    assert sizes["stem"] == (8, 4) and sizes["sep"] == (12, 6) and sizes["side"] == (6, 3) and sizes["head"] == (4, 4)
    assert pruned.get_layer("mix").get_weights()[0].shape == (3, 3, 9, 5)  # 6 + 3 concatenated inputs
    assert pruned.get_layer("dw").get_weights()[0].shape == (3, 3, 4, 1)
    assert pruned.get_layer("fc").get_weights()[0].shape == (9 * 5, 8)  # flatten of 3x3x5


def test_digits_sequential_conv_only():
    import keras

    model = keras.models.load_model(EXAMPLE / "digits.keras")
    spec = parse_prune_spec("channels=0.5,layers=conv")
    plan = plan_channels(model, spec)
    pruned = apply_channel_plan(plan)
    convs = [layer for layer in pruned.layers if class_name(layer) == "Conv2D"]
    assert [c.filters for c in convs] == [16, 32]
    dense = [layer for layer in pruned.layers if class_name(layer) == "Dense"]
    assert [d.units for d in dense] == [64, 10] and dense[0].get_weights()[0].shape == (4 * 4 * 32, 64)
    assert model.count_params() == 85066  # the original is not touched


def test_per_layer_ratio_and_exclude():
    import keras

    model = _branchy(keras)
    plan = plan_channels(model, parse_prune_spec("channels=0.5,exclude=side,fc=0.75"))
    rows = {r["layers"][0]: r for r in plan.rows}
    assert rows["side"]["kept"] == 6 and "excluded" in rows["side"]["reason"]
    assert rows["fc"]["kept"] == 4 and rows["sep"]["kept"] == 6


def test_activation_criterion_needs_and_uses_calibration():
    import keras

    from edgekit.data import Dataset
    from edgekit.model import TensorInfo

    model = _branchy(keras)
    with pytest.raises(OptionError, match="needs calibration data"):
        plan_channels(model, parse_prune_spec("channels=0.5,criterion=activation"))
    calib = Dataset.random([TensorInfo("img", (1, 8, 8, 3), "float32")], 16)
    plan = plan_channels(model, parse_prune_spec("channels=0.5,criterion=activation"), calib)
    assert apply_channel_plan(plan).get_layer("sep").filters == 6


@pytest.mark.slow
@needs_shared()
def test_resnet8_residual_channels_stay_aligned():
    """MLPerf Tiny ResNet-8 at 30%: Add inputs keep equal shapes, outputs unchanged on zeroed channels."""
    src = load_model(MLPERF / "image_classification" / "pretrainedResnet.h5")
    assert src.kind == "tf_keras"
    model = src.backend.model
    x = np.random.default_rng(2).random((4, 32, 32, 3), np.float32)
    plan, pruned = _check_zero_channels_prune_exactly(model, "channels=0.3", x)
    coupled = [r for r in plan.rows if len(r["layers"]) == 2]
    assert len(coupled) == 3 and all(r["kept"] == r["channels"] - round(0.3 * r["channels"]) for r in coupled)
    adds = [layer for layer in pruned.layers if class_name(layer) == "Add"]
    assert len(adds) == 3
    for add in adds:
        shapes = {tuple(t.shape) for t in add.input}
        assert len(shapes) == 1 and next(iter(shapes))[-1] in (11, 22, 45)
    assert pruned.count_params() < 0.55 * model.count_params()
