"""OpenVINO IR from an ONNX source: runs in the OpenVINO runner and matches ONNX Runtime."""

from __future__ import annotations

import numpy as np

from edgekit.data import Dataset
from edgekit.model import load_model
from edgekit.simulate.metrics import cosine
from quantize.spec import QuantSpec
from targets import runner_for
from targets.base import with_layouts
from targets.openvino.exporter import OpenVINOTarget
from tests import onnx_models as om


def test_float32_matches_onnx_runtime_and_int8_stays_close(tmp_path):
    model = load_model(om.save(om.conv_net(), tmp_path / "net.onnx"))
    calib = Dataset.open(om.data(tmp_path / "d.npz"), model.inputs)
    x = next(calib.batches(40)).inputs
    ref = model.predict(x)[0]
    for scheme, least in (("float32", 0.99999), ("int8", 0.99)):
        a = with_layouts(OpenVINOTarget().export(model, QuantSpec(scheme), tmp_path / scheme, calib), model)
        assert a.inputs[0].layout == "NCHW" and a.source_layouts is None
        runner = runner_for(a)
        got = runner.run(x)[0]
        assert got.shape == ref.shape
        assert cosine(got, ref) >= least, scheme
    assert "FakeQuantize" in a.metadata["ops"]
