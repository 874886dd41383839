"""Evaluation labels are checked against the model's output before anything runs."""

import numpy as np
import pytest

from edgekit.data import Dataset
from edgekit.errors import DataError
from edgekit.labels import check_labels
from edgekit.model import load_model


@pytest.fixture(scope="module")
def tiny(tiny_keras):
    return load_model(tiny_keras)  # 3 classes


def _data(tmp_path, y):
    path = tmp_path / "eval.npz"
    np.savez(path, x=np.zeros((len(y), 6, 6, 1), np.float32), y=y)
    return path


@pytest.mark.parametrize(
    "y, message",
    [
        (np.array([0, 1, np.nan, 2]), r"eval.npz\[y\]: sample 2 has label nan; labels are whole class ids 0..2"),
        (np.array([0, 1, 2, 7]), r"sample 3 has label 7; the model has 3 classes \(ids 0..2\)"),
        (np.array([0, -1, 2]), r"sample 1 has label -1; the model has 3 classes"),
        (np.array([0.0, 1.5]), r"sample 1 has label 1.5; labels are whole class ids"),
        (np.array(["cat", "dog"]), r"labels of dtype <U3 are not numbers"),
        (np.zeros((4, 0)), r"labels have shape \(4, 0\); give class ids \(N,\) or one-hot rows \(N, 3\)"),
        (np.eye(4)[[0, 1, 2]], r"labels have shape \(3, 4\)"),
        (np.array([[1.0, 0, 0], [0, np.inf, 0]]), r"sample 1 has a one-hot label row with NaN or Inf"),
    ],
)
def test_bad_classification_labels(tiny, tmp_path, y, message):
    ds = Dataset.open(_data(tmp_path, y), tiny.inputs, option="--eval")
    with pytest.raises(DataError, match=message):
        check_labels(ds, tiny)


def test_good_labels_pass(tiny, tmp_path):
    for y in (np.array([0, 1, 2]), np.array([[0], [2], [1]], np.float32), np.eye(3, dtype=np.uint8), np.array([True, False])):
        check_labels(Dataset.open(_data(tmp_path, y), tiny.inputs), tiny)
    check_labels(Dataset.open(_data(tmp_path, np.array([7.5, -3.0])), tiny.inputs), tiny, "regression")  # not scored


def test_anomaly_labels_are_zero_or_one(tiny, tmp_path):
    check_labels(Dataset.open(_data(tmp_path, np.array([0, 1, 1])), tiny.inputs), tiny, "anomaly")
    with pytest.raises(DataError, match="sample 2 has label 2; anomaly labels are 0 .normal. or 1 .anomaly."):
        check_labels(Dataset.open(_data(tmp_path, np.array([0, 1, 2])), tiny.inputs), tiny, "anomaly")


def test_image_folder_with_more_classes_than_the_model(tiny, tmp_path):
    from PIL import Image

    for i, name in enumerate(("a", "b", "c", "d")):
        (tmp_path / name).mkdir()
        Image.new("L", (6, 6), i).save(tmp_path / name / "0.png")
    ds = Dataset.open(tmp_path, tiny.inputs, option="--eval")
    with pytest.raises(DataError, match=r"sub-directory index\): sample 3 has label 3; the model has 3 classes"):
        check_labels(ds, tiny)
