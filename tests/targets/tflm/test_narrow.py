"""Cutting a model into one-op models, and finding the op TFLM crashes on."""

from __future__ import annotations

import numpy as np

from targets.tflm.narrow import first_crashing_op, single_op_model
from edgekit.tflite_graph import TFLiteGraph
from tests.conftest import SHARED, needs_shared


@needs_shared()
def test_each_op_alone_is_a_runnable_model():
    from ai_edge_litert.interpreter import Interpreter

    data = (SHARED / "tflm" / "hello_world_int8.tflite").read_bytes()
    graph = TFLiteGraph(data)
    for op in graph.ops:
        sub = TFLiteGraph(single_op_model(data, op.index))
        assert [o.opcode for o in sub.ops] == [op.opcode]
        assert [t.name for t in sub.outputs] == [graph.main.tensors[op.outputs[0]].name]
        interp = Interpreter(model_content=sub.data)
        interp.allocate_tensors()
        for d in interp.get_input_details():
            interp.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
        interp.invoke()
    assert first_crashing_op(data, 1 << 16) is None
