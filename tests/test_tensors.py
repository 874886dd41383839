"""TensorInfo: the JSON record (old records still read) and the image layouts."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.runtime.io import to_layout
from edgekit.tensors import NCHW, NHWC, TensorInfo, describe_layouts, image_layout, permutation


def test_layout_round_trips_and_old_records_read_without_one():
    t = TensorInfo("x", (1, 3, 8, 9), "float32", layout=NCHW)
    assert t.to_json() == {"name": "x", "shape": [1, 3, 8, 9], "dtype": "float32", "layout": "NCHW"}
    assert TensorInfo.from_json(t.to_json()) == t
    old = {"name": "y", "shape": [1, 10], "dtype": "int8", "scale": 0.5, "zero_point": -3}
    assert TensorInfo.from_json(old) == TensorInfo("y", (1, 10), "int8", 0.5, -3)
    assert TensorInfo.from_json(old).to_json() == old  # a tensor without a layout writes as before


def test_a_layout_needs_a_rank_4_shape_and_a_known_name():
    with pytest.raises(ValueError):
        TensorInfo("x", (1, 10), "float32", layout=NCHW)
    with pytest.raises(ValueError):
        TensorInfo("x", (1, 3, 8, 8), "float32", layout="CHWN")


def test_in_layout_permutes_the_shape_and_to_layout_the_data():
    t = TensorInfo("x", (1, 3, 8, 9), "float32", layout=NCHW)
    assert t.in_layout(NHWC) == TensorInfo("x", (1, 8, 9, 3), "float32", layout=NHWC)
    assert t.in_layout(None) is t and t.in_layout(NCHW) is t
    assert t.channel_axis == 1 and t.in_layout(NHWC).channel_axis == -1
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    y = to_layout(x, NCHW, NHWC)
    assert y.shape == (2, 4, 5, 3) and y[1, 2, 3, 0] == x[1, 0, 2, 3] and y.flags.c_contiguous
    assert np.array_equal(to_layout(y, NHWC, NCHW), x)
    assert to_layout(x, None, NHWC) is x and permutation(NCHW, NCHW) is None


def test_image_layout_and_the_words_for_an_artifact():
    assert image_layout((1, 3, 8, 8), channels_first=True) == NCHW
    assert image_layout((1, 8, 8, 3), channels_first=False) == NHWC
    assert image_layout((1, 10), channels_first=True) is None
    assert describe_layouts([NHWC, None], [NCHW, None]) == "NHWC (source NCHW)"
    assert describe_layouts([NCHW, None], [NCHW, None]) == "NCHW"
    assert describe_layouts([None, None]) == ""
