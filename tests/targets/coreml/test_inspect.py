"""``edgekit inspect`` on .mlpackage files: ops, I/O, weight storage per layer, sizes."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from edgekit.inspect import inspect_path, render
from edgekit.model import load_model
from quantize.spec import QuantSpec
from targets.coreml.exporter import CoreMLTarget
from tests.conftest import EXAMPLE, run_cli


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    model = load_model(EXAMPLE / "digits.keras")
    out = tmp_path_factory.mktemp("inspect_cm")
    return {s: CoreMLTarget().export(model, QuantSpec(s), out / s).primary
            for s in ("float32", "float16", "int8-weights", "palettize4", "sparse")}  # fmt: skip


def test_weight_storage_per_layer(packages):
    f32 = inspect_path(packages["float32"])
    assert f32["format"] == "coreml" and f32["scheme"] == "float32" and f32["opset"] == "CoreML6"
    assert f32["inputs"] == [{"name": "image", "shape": [1, 8, 8, 1], "dtype": "float32"}]
    assert f32["params"]["count"] == 32 * 9 + 64 * 32 * 9 + 1024 * 64 + 64 * 10  # conv/linear weights
    assert [w["op"] for w in f32["weights"]] == ["conv", "conv", "linear", "linear"]
    assert f32["ops"]["conv"] == 2 and f32["simulated_ops_missing"] == []
    storage = {s: {w["storage"] for w in inspect_path(p)["weights"]} for s, p in packages.items()}
    assert storage["float16"] == {"float16"}
    assert storage["int8-weights"] == {"int8 affine, per channel"}
    assert storage["palettize4"] == {"4-bit palette (float16 table)"}
    assert storage["sparse"] == {"sparse float16, 50% zeros"}
    p4 = inspect_path(packages["palettize4"])
    assert p4["scheme"] == "palettized" and p4["params"]["bytes"] < 0.14 * f32["params"]["bytes"]
    assert p4["weight_file_bytes"] <= p4["bytes"]


def test_render_and_cli(packages):
    report = inspect_path(packages["sparse"], with_ops=True)
    assert [op["op"] for op in report["per_op"]][:1] == ["constexpr_sparse_to_dense"]
    out = io.StringIO()
    render(report, Console(file=out, width=160))
    assert "Weights per layer" in out.getvalue() and "sparse float16" in out.getvalue()
    res = run_cli("inspect", packages["palettize4"])
    assert res.returncode == 0 and "4-bit palette" in res.stdout, res.stderr
    res = run_cli("inspect", packages["palettize4"].parent / "missing.mlpackage")
    assert res.returncode == 2 and res.stderr.startswith("error:")
