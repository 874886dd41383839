import numpy as np
import pytest

from edgekit.data import Dataset
from edgekit.model import TensorInfo
from quantize.calibration import calibration_samples, representative_dataset

INFO = (TensorInfo("x", (1, 4), "float32"),)


def test_samples_per_model_batch():
    ds = Dataset.random(INFO, 10)
    ones = calibration_samples(ds, 5)
    assert len(ones) == 5 and ones[0][0].shape == (1, 4)
    fours = calibration_samples(ds, 10, batch=4)
    assert len(fours) == 2 and fours[0][0].shape == (4, 4)
    assert list(representative_dataset(ones)()) == ones


def test_too_few_for_a_batch():
    from edgekit.errors import DataError

    with pytest.raises(DataError, match="cannot fill one batch of 8"):
        calibration_samples(Dataset.random(INFO, 3), 3, batch=8)
    assert np.isfinite(calibration_samples(Dataset.random(INFO, 3), 3)[0][0]).all()
