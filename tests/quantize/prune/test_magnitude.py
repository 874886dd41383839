import numpy as np
import pytest

from quantize.prune.magnitude import prune_magnitude, sparsity_of
from quantize.prune.spec import parse_prune_spec
from tests.conftest import EXAMPLE


@pytest.fixture(scope="module")
def digits():
    import keras

    return keras.models.load_model(EXAMPLE / "digits.keras")


def test_per_layer_sparsity_exact(digits):
    pruned, masks, record = prune_magnitude(digits, parse_prune_spec("sparsity=0.8,mode=layer"))
    assert all(abs(v - 0.8) < 2e-3 for v in record["layers"].values())  # rounding on 288 weights
    assert abs(record["sparsity"] - 0.8) < 1e-3
    assert sparsity_of(digits)["sparsity"] == 0.0  # the original is not touched
    for layer in pruned.layers:
        w = layer.get_weights()
        if w and layer.name in masks:
            assert np.array_equal(w[0] != 0, masks[layer.name][0])
            assert np.count_nonzero(w[1] == 0) < len(w[1])  # biases are kept


def test_global_mode_and_excludes(digits):
    _, _, record = prune_magnitude(digits, parse_prune_spec("sparsity=0.8"))
    assert abs(record["sparsity"] - 0.8) < 1e-3
    assert len({round(v, 2) for v in record["layers"].values()}) > 1  # layers differ
    names = list(record["layers"])
    _, _, record = prune_magnitude(digits, parse_prune_spec(f"sparsity=0.8,exclude={names[-1]},{names[0]}=0.5"))
    assert record["layers"][names[-1]] == 0.0 and abs(record["layers"][names[0]] - 0.5) < 1e-2


def test_keeps_the_smallest_weights_out(digits):
    pruned, _, _ = prune_magnitude(digits, parse_prune_spec("sparsity=0.5,mode=layer"))
    name = digits.layers[1].name
    w0, w1 = digits.get_layer(name).get_weights()[0], pruned.get_layer(name).get_weights()[0]
    assert np.abs(w0[w1 == 0]).max() <= np.abs(w0[w1 != 0]).min()
