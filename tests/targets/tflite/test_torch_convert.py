"""TFLite from PyTorch sources (litert-torch, then AI Edge Quantizer): runs in LiteRT, agrees
with PyTorch, and carries no TRANSPOSE inside the graph."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.errors import ConversionError, UnsupportedError
from edgekit.loaders.torch import import_torch
from edgekit.model import load_model
from edgekit.runtime.litert import LiteRTRunner
from edgekit.tflite_graph import TFLiteGraph
from quantize.spec import QuantSpec
from targets import get_target
from targets.tflite.torch_convert import float_flatbuffer, fold_flatten_order
from tests.conftest import run_cli
from tests.torch_models import save_pt2, tiny_cnn

torch = import_torch()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return load_model(save_pt2(tiny_cnn(), tmp_path_factory.mktemp("tt") / "tiny.pt2"))


def _x(n=16, seed=0):
    return np.random.default_rng(seed).random((n, 3, 8, 8), dtype=np.float32)


def _cosine(a, b):
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def _run(data, xs):
    runner = LiteRTRunner()
    runner.load(data, "m.tflite")
    return np.concatenate([runner.run([x[None]])[0] for x in xs])


def _transposes(data) -> int:
    return TFLiteGraph(data).op_histogram().get("TRANSPOSE", 0)


def test_fold_flatten_order_is_the_same_function():
    module = tiny_cnn()
    gm = torch.export.export(module, (torch.zeros(1, 3, 8, 8),)).module()
    x = torch.from_numpy(_x(1))
    with torch.inference_mode():
        want = gm(x)
        folded = fold_flatten_order(gm)
        got = folded(x)
    assert any(n.target is torch.ops.aten.permute.default for n in folded.graph.nodes)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)


def test_float32_agrees_with_pytorch_and_has_no_transpose(model):
    data = float_flatbuffer(model)
    xs = _x()
    assert _cosine(_run(data, xs), model.predict(xs)[0]) >= 0.99999
    assert _transposes(data) <= 1  # at most one, at the input


def test_nhwc_io_has_no_transpose_at_all(model):
    data = float_flatbuffer(model, "nhwc")
    graph = TFLiteGraph(data)
    assert _transposes(data) == 0
    assert graph.main.tensors[graph.main.inputs[0]].shape == (1, 8, 8, 3)
    xs = _x()
    assert _cosine(_run(data, xs.transpose(0, 2, 3, 1)), model.predict(xs)[0]) >= 0.99999


@pytest.mark.parametrize("layout", [None, "nhwc"])
def test_int8_target_quantizes_with_aeq_without_transposes(model, tmp_path, layout):
    from edgekit.data import Dataset
    from targets.tflite.exporter import TFLiteTarget

    np.savez(tmp_path / "calib.npz", x=_x(32, seed=3))
    calib = Dataset.open(tmp_path / "calib.npz", model.inputs)
    artifact = TFLiteTarget(layout=layout).export(model, QuantSpec("int8"), tmp_path / "out", calib)
    data = artifact.primary.read_bytes()
    graph = TFLiteGraph(data)
    assert graph.quant_scheme() == "int8"
    assert _transposes(data) == (0 if layout else 1)  # NCHW I/O: one, at the 3-channel input
    assert artifact.inputs[0].layout == ("NHWC" if layout else "NCHW")
    assert "AI Edge Quantizer" in " ".join(artifact.notes)


class _UnitClamps(torch.nn.Module):
    """clamp(0, 1) after a conv and after an add, hardtanh(0, 1): RELU_0_TO_1 as lowered."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(6)
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        z = torch.nn.functional.hardtanh(y + x.mean(1, keepdim=True), 0.0, 1.0)
        return (torch.clamp(y, 0, 1) + z).flatten(1)


def test_unit_clamp_quantizes_to_full_int8(tmp_path):
    """clamp(x, 0, 1) (and ONNX Clip(0, 1), through onnx2torch) lowers to RELU_0_TO_1, which
    AI Edge Quantizer leaves float; rewritten as 1 - relu(1 - relu(x)) it is int8 throughout."""
    from edgekit.data import Dataset
    from targets.tflite.exporter import TFLiteTarget

    module = _UnitClamps().eval()
    model = load_model(module, example_inputs=torch.zeros(1, 3, 8, 8))
    x = _x(32, seed=4) * 2 - 0.5
    np.savez(tmp_path / "calib.npz", x=x)
    data = float_flatbuffer(model)
    assert "RELU_0_TO_1" not in TFLiteGraph(data).op_histogram()
    with torch.inference_mode():
        want = module(torch.from_numpy(x)).numpy()
    assert _cosine(_run(data, x), want) > 0.999999
    artifact = TFLiteTarget().export(model, QuantSpec("int8"), tmp_path / "out",
                                     Dataset.open(tmp_path / "calib.npz", model.inputs))  # fmt: skip
    assert TFLiteGraph(artifact.primary.read_bytes()).quant_scheme() == "int8"
    assert _cosine(_run(artifact.primary.read_bytes(), x), want) > 0.99


def test_unsupported_scheme_and_float_layers_refused_before_work(model):
    target = get_target("tflite")
    with pytest.raises(UnsupportedError, match="not sparse"):
        target.check(model, QuantSpec("sparse"))
    with pytest.raises(UnsupportedError, match="--float-layers"):
        target.check(model, QuantSpec("int8", float_layers=("x",)))


def test_unsupported_op_is_one_conversion_error(tmp_path):
    class Search(torch.nn.Module):
        def forward(self, x):
            return torch.searchsorted(torch.sort(x.flatten()).values, x).float()

    model = load_model(Search(), example_inputs=torch.rand(4, 4))
    with pytest.raises(ConversionError, match=r"litert-torch could not convert Search: Lowering not found: "
                                              r"aten\.searchsorted\.Tensor$"):
        float_flatbuffer(model)
    pt2 = tmp_path / "search.pt2"
    torch.export.save(torch.export.export(Search(), (torch.rand(4, 4),)), str(pt2))
    r = run_cli("export", pt2, "-t", "tflite", "--quant", "float32", "--out", tmp_path / "b")
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        f"error: litert-torch could not convert {pt2}: Lowering not found: aten.searchsorted.Tensor"]
    assert not (tmp_path / "b").exists()


def test_cli_exports_int8_and_tflm_from_pt2_with_source_layout_data(tmp_path):
    """calib/eval in the source's NCHW layout, --layout nhwc artifacts: runners transpose."""
    pt2 = save_pt2(tiny_cnn(), tmp_path / "tiny.pt2")
    rng = np.random.default_rng(5)
    x = rng.random((40, 3, 8, 8), dtype=np.float32)
    np.savez(tmp_path / "calib.npz", x=x[:24])
    np.savez(tmp_path / "eval.npz", x=x[24:])
    out = tmp_path / "build"
    r = run_cli("export", pt2, "-t", "tflite,tflm", "--layout", "nhwc", "--quant",
                "tflite=float32,tflite=int8,tflm=int8", "--calib", tmp_path / "calib.npz",
                "--eval", tmp_path / "eval.npz", "--out", out)  # fmt: skip
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    for entry in manifest["artifacts"]:
        assert entry["inputs"][0]["layout"] == "NHWC" and entry["source_layouts"]["inputs"] == ["NCHW"]
    for scheme in ("float32", "int8"):
        assert _transposes((out / "tflite" / f"tiny_{scheme}.tflite").read_bytes()) == 0
    validation = json.loads((out / "validation.json").read_text())["artifacts"]
    assert validation["tflite/float32"]["cosine"] >= 0.99999
    assert validation["tflite/int8"]["agreement"] >= 0.9 and validation["tflm/int8"]["agreement"] >= 0.9
