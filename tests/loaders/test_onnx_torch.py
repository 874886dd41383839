"""ONNX -> PyTorch (onnx2torch): weight folding, the checked ExportedProgram, one-line refusals."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from edgekit.errors import UnsupportedError
from edgekit.loaders.onnx_torch import fold_weight_nodes
from edgekit.model import load_model
from tests import onnx_models as om
from tests.conftest import ROOT

needs_onnx2torch = pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import onnx2torch, torch"], capture_output=True).returncode != 0,
    reason="the torch extra (torch, onnx2torch) is not installed",
)


def test_fold_weight_nodes_turns_constants_and_weight_identities_into_initializers():
    from onnx import helper, numpy_helper

    m = om.conv_net()
    w = next(t for t in m.graph.initializer if t.name == "w")
    m.graph.node.insert(0, helper.make_node("Identity", ["w"], ["w_shared"]))
    m.graph.node.insert(0, helper.make_node("Constant", [], ["b2"], value=numpy_helper.from_array(np.ones(8, np.float32))))
    conv = next(n for n in m.graph.node if n.op_type == "Conv")
    conv.input[:] = ["x", "w_shared", "b2"]
    fold_weight_nodes(m)
    assert [n.op_type for n in m.graph.node][:2] == ["Conv", "Relu"]
    inits = {t.name: t for t in m.graph.initializer}
    assert numpy_helper.to_array(inits["w_shared"]).tobytes() == numpy_helper.to_array(w).tobytes()
    assert numpy_helper.to_array(inits["b2"]).tolist() == [1.0] * 8


@needs_onnx2torch
def test_the_exported_program_matches_onnx_runtime(tmp_path):
    import torch

    m = load_model(om.save(om.conv_net(), tmp_path / "net.onnx"))
    program = m.exported_program()
    x = np.random.default_rng(2).random((1, 3, 8, 8), np.float32)
    with torch.inference_mode():
        got = program.module()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, m.predict(x)[0], atol=1e-6)
    assert m.exported_program() is program  # made once per model


@needs_onnx2torch
def test_an_op_onnx2torch_lacks_is_one_line_naming_it(tmp_path):
    m = load_model(om.save(om.with_node(om.conv_net(), "Hardmax"), tmp_path / "hardmax.onnx"))
    with pytest.raises(UnsupportedError, match=r"op 'Hardmax' \(opset \d+\) has no PyTorch converter in onnx2torch.*openvino"):
        m.exported_program()


def test_without_onnx2torch_the_error_names_the_extra(tmp_path):
    path = om.save(om.conv_net(), tmp_path / "net.onnx")
    code = ("import sys; sys.modules['onnx2torch'] = None\n"
            "from edgekit.model import load_model\n"
            "from edgekit.errors import MissingExtraError\n"
            f"m = load_model({str(path)!r})\n"
            "try:\n    m.exported_program()\nexcept MissingExtraError as e:\n    print(e)\n")  # fmt: skip
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert "pip install 'edgekit[torch]'" in res.stdout, res.stderr[-2000:]
