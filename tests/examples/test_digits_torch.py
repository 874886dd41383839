"""examples/digits_torch end to end from .pt2: every target and scheme the issue lists exports,
validates against PyTorch on the 540 held-out digits, and meets its accuracy figures."""

from __future__ import annotations

import pytest

from edgekit.pipeline import ExportOptions, export
from targets.tflm.sources import parse_c_array
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "digits_torch"
QUANT = ("tflite=float32,tflite=int8,tflite=int16x8,tflm=int8,openvino=float32,openvino=int8,"
         "coreml=float32,coreml=float16")  # fmt: skip

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return export(ExportOptions(model=EXAMPLE / "digits.pt2", out=tmp_path_factory.mktemp("dt") / "b",
                                target=("tflite", "tflm", "openvino", "coreml"), quant=QUANT,
                                calib=str(EXAMPLE / "calib.npz"), eval=str(EXAMPLE / "eval.npz")))  # fmt: skip


def test_every_artifact_validates_against_pytorch(build):
    ev = build.evaluation
    assert build.model.kind == "torch" and ev["float"]["top1"] >= 0.97
    got = {f"{a.target}/{a.scheme}" for a in build.artifacts}
    assert got == {q.replace("=", "/") for q in QUANT.split(",")}
    for name, r in ev["artifacts"].items():
        assert ev["float"]["top1"] - r["top1"] <= 0.005, name  # int8 within 0.5 pt; floats equal
    for name in ("tflite/float32", "coreml/float32", "openvino/float32"):
        assert ev["artifacts"][name]["cosine"] >= 0.99999, name


def test_layouts_are_recorded(build):
    for a in build.artifacts:
        assert a.inputs[0].layout == "NCHW" and a.io_layout() == "NCHW", a.target


def test_tflm_arena_is_exact(build):
    from targets.tflm.runner import arena_fits

    (tflm,) = [a for a in build.artifacts if a.target == "tflm"]
    data = parse_c_array(tflm.primary.read_text(), "digits")
    required = tflm.metadata["arena"]["required"]
    assert arena_fits(data, required) and not arena_fits(data, required - 16)
