"""ONNX sources: loading, fixed shapes, the float reference, and every refusal as one line."""

from __future__ import annotations

import os

import numpy as np
import pytest

from edgekit.errors import ModelFileError, OptionError, UnsupportedError
from edgekit.model import load_model
from edgekit.tensors import NCHW, NHWC
from tests import onnx_models as om


def _numpy_reference(x: np.ndarray, model) -> np.ndarray:
    """The conv net computed in NumPy from its own initializers."""
    from onnx import numpy_helper

    w = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    n, c, h, wd = x.shape
    pad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    conv = np.zeros((n, 8, h, wd), np.float64)
    for i in range(3):
        for j in range(3):
            conv += np.einsum("nchw,oc->nohw", pad[:, :, i : i + h, j : j + wd], w["w"][:, :, i, j])
    r = np.maximum(conv + w["b"][None, :, None, None], 0).mean(axis=(2, 3))
    g = r @ w["fc"] + w["fcb"]
    e = np.exp(g - g.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_loads_with_fixed_shapes_nchw_layouts_and_runs_any_batch(tmp_path):
    model = om.conv_net()
    m = load_model(om.save(model, tmp_path / "net.onnx"))
    assert m.kind == "onnx" and m.name == "net"
    assert [(t.name, t.shape, t.dtype, t.layout) for t in m.inputs] == [("x", (1, 3, 8, 8), "float32", NCHW)]
    assert [(t.name, t.shape, t.layout) for t in m.outputs] == [("y", (1, om.CLASSES), None)]
    x = np.random.default_rng(0).random((5, 3, 8, 8), np.float32)
    np.testing.assert_allclose(m.predict(x)[0], _numpy_reference(x, model), atol=1e-5)
    import onnx

    fixed = onnx.load_from_string(m.onnx_bytes())  # what converters read: batch 1, weights inline
    assert [d.dim_value for d in fixed.graph.input[0].type.tensor_type.shape.dim] == [1, 3, 8, 8]


def test_batch_and_input_shape_fix_dynamic_dims_as_for_keras(tmp_path):
    path = om.save(om.conv_net(hw=("H", "W")), tmp_path / "dyn.onnx")
    with pytest.raises(OptionError, match=r"input .x. has shape \(\?, 3, \?, \?\) .*--input-shape x=1x3x1x1"):
        load_model(path)
    m = load_model(path, batch=2, input_shapes={None: (2, 3, 16, 12)})
    assert m.inputs[0].shape == (2, 3, 16, 12) and m.outputs[0].shape == (2, om.CLASSES)
    assert m.predict(np.zeros((3, 3, 16, 12), np.float32))[0].shape == (3, om.CLASSES)


def test_a_model_with_a_fixed_batch_runs_in_chunks_of_it(tmp_path):
    m = load_model(om.save(om.conv_net(batch=2), tmp_path / "b2.onnx"))
    assert m.inputs[0].shape == (2, 3, 8, 8)
    assert m.predict(np.zeros((4, 3, 8, 8), np.float32))[0].shape == (4, om.CLASSES)


def test_an_nhwc_input_is_recognised_by_its_transpose(tmp_path):
    m = load_model(om.save(om.nhwc_input(om.conv_net()), tmp_path / "tf.onnx"))
    assert m.inputs[0].shape == (1, 8, 8, 3) and m.inputs[0].layout == NHWC


def test_an_old_opset_is_one_line_naming_it_and_the_upgrade(tmp_path):
    path = om.save(om.conv_net(opset=11), tmp_path / "old.onnx")
    with pytest.raises(UnsupportedError, match=r"opset 11 is older than 13; upgrade it with .*version_converter"):
        load_model(path)


def test_custom_domains_and_unknown_ops_are_refused_before_onnx_runtime(tmp_path):
    custom = om.save(om.with_node(om.conv_net(), "MyOp", "com.example"), tmp_path / "custom.onnx")
    with pytest.raises(UnsupportedError, match="custom op domain 'com.example' needs a native custom-op library"):
        load_model(custom)
    unknown = om.save(om.with_node(om.conv_net(), "NoSuchOp"), tmp_path / "unknown.onnx")
    with pytest.raises(UnsupportedError, match="op 'NoSuchOp' is not an ONNX op"):
        load_model(unknown)


def test_a_file_that_is_not_onnx_is_one_error(tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07garbage that is not a protobuf \xff\xff")
    with pytest.raises(ModelFileError, match="junk.onnx"):
        load_model(tmp_path / "junk.onnx")


def test_external_data_inside_the_directory_loads(tmp_path):
    path = om.save(om.conv_net(), tmp_path / "ext.onnx", external=True)
    assert (tmp_path / "ext.onnx.data").stat().st_size > 0
    m = load_model(path)
    x = np.random.default_rng(1).random((2, 3, 8, 8), np.float32)
    np.testing.assert_allclose(m.predict(x)[0], _numpy_reference(x, om.conv_net()), atol=1e-5)


@pytest.mark.parametrize("where, why", [
    ("missing.data", "which is missing"),
    ("/etc/passwd", "plain relative path"),
    ("../outside.data", "plain relative path"),
    ("link.data", "leads outside the model directory"),
])  # fmt: skip
def test_external_data_that_is_missing_or_escapes_is_refused(tmp_path, where, why):
    d = tmp_path / "model"
    d.mkdir()
    path = om.save(om.conv_net(), d / "ext.onnx", external=True)
    outside = tmp_path / "outside.data"
    outside.write_bytes((d / "ext.onnx.data").read_bytes())
    os.symlink(outside, d / "link.data")
    om.point_external_data(path, where)
    with pytest.raises(ModelFileError, match=why):
        load_model(path)


def test_truncated_external_data_is_refused(tmp_path):
    path = om.save(om.conv_net(), tmp_path / "ext.onnx", external=True)
    data = tmp_path / "ext.onnx.data"
    data.write_bytes(data.read_bytes()[:10])
    with pytest.raises(ModelFileError, match="past the end of the 10-byte file"):
        load_model(path)
