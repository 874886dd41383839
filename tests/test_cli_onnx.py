"""The real CLI on ONNX sources: export, validate and inspect end to end; every refusal is
one line, exit 2, nothing written."""

from __future__ import annotations

import json
import os

import pytest

from tests import onnx_models as om
from tests.conftest import run_cli
from tests.loaders.test_onnx_torch import needs_onnx2torch
from tests.test_cli import _one_line_error


@pytest.fixture(scope="module")
def onnx_net(tmp_path_factory):
    d = tmp_path_factory.mktemp("onnx_cli")
    return om.save(om.conv_net(), d / "net.onnx"), om.data(d / "data.npz")


def test_export_validate_and_inspect_an_onnx_model(onnx_net, tmp_path):
    model, data = onnx_net
    out = tmp_path / "b"
    res = run_cli("export", model, "-t", "openvino", "-q", "float32,int8", "--calib", data, "--eval", data,
                  "--min-cosine", "0.99", "-o", out, "--json")  # fmt: skip
    assert res.returncode == 0, res.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["source"]["kind"] == "onnx" and manifest["source"]["inputs"][0]["layout"] == "NCHW"
    assert [a["inputs"][0]["layout"] for a in manifest["artifacts"]] == ["NCHW", "NCHW"]
    assert all("source_layouts" not in a for a in manifest["artifacts"])  # OpenVINO keeps NCHW: nothing to transpose
    validation = json.loads((out / "validation.json").read_text())
    assert validation["artifacts"]["openvino/float32"]["cosine"] >= 0.99999
    assert validation["passed"]
    assert "I/O layout" in (out / "report.md").read_text()

    res = run_cli("validate", out, "--eval", data, "--min-cosine", "0.99")
    assert res.returncode == 0, res.stderr
    res = run_cli("inspect", model, "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["format"] == "onnx" and report["ops"]["Conv"] == 1
    assert report["macs"] == 1 * 8 * 8 * 8 * 3 * 3 * 3 + 8 * om.CLASSES  # Conv + Gemm
    assert report["inputs"][0]["layout"] == "NCHW"


def test_onnx_refusals_are_one_line_and_write_nothing(tmp_path):
    out = tmp_path / "o"
    old = om.save(om.conv_net(opset=12), tmp_path / "old.onnx")
    custom = om.save(om.with_node(om.conv_net(), "Fancy", "com.vendor"), tmp_path / "custom.onnx")
    unknown = om.save(om.with_node(om.conv_net(), "Frobnicate"), tmp_path / "unknown.onnx")
    dynamic = om.save(om.conv_net(hw=("H", "W")), tmp_path / "dynamic.onnx")
    (tmp_path / "ext").mkdir()
    missing = om.save(om.conv_net(), tmp_path / "ext" / "missing.onnx", external=True)
    os.remove(tmp_path / "ext" / "missing.onnx.data")
    escaping = om.save(om.conv_net(), tmp_path / "ext" / "escaping.onnx", external=True)
    om.point_external_data(escaping, "../../etc/passwd")
    cases = [
        (old, ["opset 12 is older than 13", "version_converter"]),
        (custom, ["custom op domain 'com.vendor'"]),
        (unknown, ["op 'Frobnicate' is not an ONNX op"]),
        (dynamic, ["input 'x'", "--input-shape x=1x3x1x1"]),
        (missing, ["missing.onnx.data", "which is missing"]),
        (escaping, ["../../etc/passwd", "plain relative path"]),
    ]
    for model, fragments in cases:
        for args in (("export", model, "-t", "openvino", "-o", out), ("inspect", model)):
            res = run_cli(*args)
            _one_line_error(res, *fragments)
            assert not out.exists(), args


def test_layers_is_refused_before_any_conversion(onnx_net, tmp_path):
    """The per-layer report re-converts TensorFlow sources only: --layers on an ONNX source is
    one line before any export starts (so also without onnx2torch)."""
    model, data = onnx_net
    out = tmp_path / "b"
    res = run_cli("export", model, "-t", "tflite,openvino", "-q", "int8", "--calib", data, "--eval", data,
                  "--layers", "-o", out)  # fmt: skip
    _one_line_error(res, "--layers", "net.onnx (ONNX", "drop --layers")
    assert not out.exists()


@needs_onnx2torch
def test_tflite_with_nhwc_io_validates_on_nchw_data(onnx_net, tmp_path):
    model, data = onnx_net
    out = tmp_path / "b"
    res = run_cli("export", model, "-t", "tflite,tflm", "-q", "tflite=float32,tflite=int8,tflm=int8", "--calib", data,
                  "--eval", data, "--layout", "nhwc", "--min-cosine", "0.99", "-o", out)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "NHWC (source NCHW)" in res.stdout
    entries = json.loads((out / "manifest.json").read_text())["artifacts"]
    assert all(e["inputs"][0]["layout"] == "NHWC" and e["inputs"][0]["shape"] == [1, 8, 8, 3] for e in entries)
    assert all(e["source_layouts"] == {"inputs": ["NCHW"], "outputs": [None]} for e in entries)
    validation = json.loads((out / "validation.json").read_text())
    assert validation["artifacts"]["tflite/float32"]["cosine"] >= 0.99999 and validation["passed"]
    res = run_cli("validate", out, "--eval", data, "--min-cosine", "0.99")  # NCHW data, NHWC artifacts
    assert res.returncode == 0, res.stderr


@needs_onnx2torch
def test_an_op_without_a_pytorch_converter_is_one_line_for_tflite(tmp_path):
    model = om.save(om.with_node(om.conv_net(), "Hardmax"), tmp_path / "hardmax.onnx")
    res = run_cli("export", model, "-t", "tflite", "-o", tmp_path / "o")
    _one_line_error(res, "op 'Hardmax'", "onnx2torch", "openvino")
    assert not (tmp_path / "o").exists()
