import numpy as np
import pytest

from edgekit.data import Dataset
from edgekit.errors import DataError, OptionError
from edgekit.model import load_model
from quantize.prune.finetune import finetune
from quantize.prune.magnitude import prune_magnitude
from quantize.prune.spec import parse_prune_spec
from tests.conftest import EXAMPLE


def test_masks_hold_through_training():
    src = load_model(EXAMPLE / "digits.keras")
    pruned, masks, _ = prune_magnitude(src.backend.model, parse_prune_spec("sparsity=0.9"))
    before = [w.copy() for w in pruned.get_weights()]
    record = finetune(pruned, Dataset.open(EXAMPLE / "train.npz", src.inputs), 1, masks)
    assert record["loss"] == "sparse categorical cross-entropy" and record["samples"] == 1257
    after = pruned.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))  # it trained
    for name, layer_masks in masks.items():
        assert np.all(pruned.get_layer(name).get_weights()[0][~layer_masks[0]] == 0)


def test_needs_labels_and_epochs(tmp_path):
    src = load_model(EXAMPLE / "digits.keras")
    unlabeled = Dataset.open(EXAMPLE / "calib.npz", src.inputs)
    with pytest.raises(DataError, match="no labels"):
        finetune(src.backend.model, unlabeled, 1)
    with pytest.raises(OptionError, match="--epochs"):
        finetune(src.backend.model, unlabeled, 0)
