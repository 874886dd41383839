"""The Runner helpers: data stay in the source's layout when an artifact's differs."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.runtime.litert import LiteRTRunner
from edgekit.runtime.runner import SourceLayout, in_source_layout
from edgekit.tensors import NCHW, NHWC


@pytest.fixture(scope="module")
def nhwc_conv(tmp_path_factory):
    """A float32 .tflite of a 3-channel conv net (NHWC in, NHWC feature map out)."""
    import keras

    from edgekit.model import load_model
    from quantize.spec import QuantSpec
    from targets.tflite.exporter import TFLiteTarget

    keras.utils.set_random_seed(1)
    net = keras.Sequential([keras.Input((5, 7, 3), name="img"), keras.layers.Conv2D(4, 3, name="conv")], name="c")
    path = tmp_path_factory.mktemp("layout") / "conv.keras"
    net.save(path)
    return TFLiteTarget().export(load_model(path), QuantSpec("float32"), path.parent / "out")


def test_source_layout_runs_nchw_data_through_an_nhwc_artifact(nhwc_conv):
    from dataclasses import replace

    runner = LiteRTRunner()
    runner.load(nhwc_conv)
    x = np.random.default_rng(0).random((2, 5, 7, 3), np.float32)
    want = runner.run([x])[0]
    # The artifact as an NCHW source's NHWC .tflite records it.
    artifact = replace(nhwc_conv, inputs=tuple(replace(t, layout=NHWC) for t in nhwc_conv.inputs),
                       outputs=tuple(replace(t, layout=NHWC) for t in nhwc_conv.outputs),
                       source_layouts=((NCHW,), (NCHW,)))  # fmt: skip
    wrapped = in_source_layout(runner, artifact)
    assert isinstance(wrapped, SourceLayout)
    assert (wrapped.inputs[0].shape, wrapped.inputs[0].layout) == ((1, 3, 5, 7), NCHW)
    assert wrapped.outputs[0].shape == (1, 4, 3, 5)
    got = wrapped.run([np.transpose(x, (0, 3, 1, 2))])[0]
    assert got.shape == (2, 4, 3, 5)
    np.testing.assert_array_equal(np.transpose(got, (0, 2, 3, 1)), want)
    wrapped.smoke_test()
    assert len(wrapped.time_invokes([np.zeros(wrapped.inputs[0].shape, np.float32)], 0.0, 3)) == 3


def test_no_wrapper_when_layouts_agree_or_were_never_recorded(nhwc_conv):
    from dataclasses import replace

    runner = LiteRTRunner()
    runner.load(nhwc_conv)
    assert in_source_layout(runner, nhwc_conv) is runner  # an old manifest: nothing recorded
    same = replace(nhwc_conv, inputs=tuple(replace(t, layout=NHWC) for t in nhwc_conv.inputs), source_layouts=((NHWC,), (None,)))
    assert in_source_layout(runner, same) is runner
