"""Tiny ONNX models built in code with onnx.helper (no PyTorch needed), for the ONNX tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CLASSES = 4


def _rng():
    return np.random.default_rng(3)


def conv_net(batch="N", hw=(8, 8), opset: int = 17, channels: int = 3):
    """x (batch, C, H, W) -> Conv 3x3 (8) -> Relu -> GlobalAveragePool -> Flatten -> Gemm -> Softmax."""
    from onnx import TensorProto, helper, numpy_helper

    rng = _rng()
    w = numpy_helper.from_array((rng.standard_normal((8, channels, 3, 3)) * 0.3).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(8).astype(np.float32) * 0.1, "b")
    fc = numpy_helper.from_array((rng.standard_normal((8, CLASSES)) * 0.5).astype(np.float32), "fc")
    fcb = numpy_helper.from_array(np.zeros(CLASSES, np.float32), "fcb")
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc", "fcb"], ["g"], name="fc"),
        helper.make_node("Softmax", ["g"], ["y"], axis=1, name="softmax"),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, channels, *hw])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, CLASSES])
    graph = helper.make_graph(nodes, "conv_net", [x], [y], [w, b, fc, fcb])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="edgekit-tests")


def save(model, path: Path, external: bool = False) -> Path:
    import onnx

    if external:
        onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                  location=path.name + ".data", size_threshold=0)  # fmt: skip
    else:
        onnx.save(model, str(path))
    return path


def point_external_data(path: Path, location: str) -> None:
    """Rewrite every external-data location of the (unloaded) model at ``path``."""
    import onnx

    m = onnx.load(str(path), load_external_data=False)
    for t in m.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = location
    onnx.save(m, str(path))


def with_node(model, op_type: str, domain: str = ""):
    """``model`` with one extra node ``op_type`` (of ``domain``) applied to its output."""
    from onnx import helper

    m = type(model)()
    m.CopyFrom(model)
    m.graph.node[-1].output[0] = "pre"
    m.graph.node.append(helper.make_node(op_type, ["pre"], ["y"], domain=domain, name="extra"))
    if domain:
        m.opset_import.append(helper.make_opsetid(domain, 1))
    return m


def nhwc_input(model):
    """``model`` taking NHWC input: a Transpose to NCHW in front (as tf2onnx writes them)."""
    from onnx import helper

    m = type(model)()
    m.CopyFrom(model)
    shape = [d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    for n in m.graph.node:
        n.input[:] = ["x_nchw" if i == "x" else i for i in n.input]
    m.graph.node.insert(0, helper.make_node("Transpose", ["x"], ["x_nchw"], perm=[0, 3, 1, 2], name="to_nchw"))
    del m.graph.input[0].type.tensor_type.shape.dim[:]
    for d in (shape[0], shape[2], shape[3], shape[1]):
        dim = m.graph.input[0].type.tensor_type.shape.dim.add()
        if isinstance(d, str):
            dim.dim_param = d
        else:
            dim.dim_value = d
    return m


def data(path: Path, n: int = 40, hw=(8, 8), channels: int = 3) -> Path:
    """Inputs in [0, 1) (NCHW) and labels for the conv net."""
    rng = np.random.default_rng(5)
    np.savez(path, x=rng.random((n, channels, *hw), np.float32), y=rng.integers(0, CLASSES, n))
    return path
