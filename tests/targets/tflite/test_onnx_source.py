"""TFLite from an ONNX source (onnx2torch -> litert-torch; int8 by AI Edge Quantizer): matches
ONNX Runtime, and --layout nhwc gives channels-last I/O that validation feeds in NCHW."""

from __future__ import annotations

import numpy as np

from edgekit.data import Dataset
from edgekit.model import load_model
from edgekit.session import ExportSession
from edgekit.simulate.metrics import cosine
from edgekit.tflite_graph import TFLiteGraph
from quantize.spec import QuantSpec
from targets import runner_for
from targets.tflite.exporter import TFLiteTarget
from tests import onnx_models as om
from tests.loaders.test_onnx_torch import needs_onnx2torch


@needs_onnx2torch
def test_float32_and_int8_from_onnx_in_both_layouts(tmp_path):
    model = load_model(om.save(om.conv_net(), tmp_path / "net.onnx"))
    calib = Dataset.open(om.data(tmp_path / "d.npz"), model.inputs)
    x = next(calib.batches(40)).inputs  # NCHW, as the source takes them
    ref = model.predict(x)[0]
    session = ExportSession(tmp_path / "stage")
    for layout in ("source", "nhwc"):
        for scheme, least in (("float32", 0.99999), ("int8", 0.99)):
            a = TFLiteTarget(layout=layout).export(model, QuantSpec(scheme), tmp_path / layout / scheme, calib, session)
            want = (1, 3, 8, 8) if layout == "source" else (1, 8, 8, 3)
            assert a.inputs[0].shape == want and a.inputs[0].layout == ("NCHW" if layout == "source" else "NHWC")
            assert a.source_layouts == (None if layout == "source" else (("NCHW",), (None,)))
            runner = runner_for(a, trusted=session.trusted)
            got = runner.run(x)[0]
            assert cosine(got, ref) >= least, (layout, scheme)
            if layout == "nhwc":  # channels-last I/O: nothing left to transpose inside
                assert TFLiteGraph.from_file(a.primary).op_histogram().get("TRANSPOSE", 0) == 0
