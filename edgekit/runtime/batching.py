"""Let LiteRT run a batch through a model exported with a fixed batch of 1.

edgekit exports fixed shapes (batch 1), which TFLite Micro needs; the converter then writes
RESHAPE target shapes such as [1, 1024], which pin the batch. For validation on the host,
a copy of the model with those leading 1s turned into -1 ("infer") computes the same thing
per sample and accepts any batch. The artifact itself is never changed, and the runner only
uses the copy after checking that every activation of the resized graph scales with the
batch (see litert._scales_with_batch).
"""

from __future__ import annotations

import numpy as np


def unpin_batch(data: bytes) -> bytes | None:
    """A copy of ``data`` whose RESHAPE targets infer the batch, or None if none pins it."""
    from ai_edge_litert import schema_py_generated as schema

    from edgekit.tflite_graph import TFLiteGraph

    graph = TFLiteGraph(data)
    sg = graph.main
    batch = graph.inputs[0].shape[0] if graph.inputs and graph.inputs[0].shape else None
    if batch != 1:
        return None
    buf = bytearray(data)
    model = schema.Model.GetRootAs(buf, 0)
    fb_sg = model.Subgraphs(0)
    changed = False
    for op in sg.ops:
        if op.opcode != "RESHAPE" or not op.inputs or sg.tensors[op.inputs[0]].shape[:1] != (1,):
            continue
        if len(op.inputs) > 1 and op.inputs[1] >= 0:
            shape_t = sg.tensors[op.inputs[1]]
            if shape_t.is_constant and shape_t.dtype == "int32":
                values = model.Buffers(shape_t.buffer).DataAsNumpy().view(np.int32)  # a view into buf
                if len(values) and values[0] == 1:
                    values[0] = -1
                    changed = True
        options = fb_sg.Operators(op.index).BuiltinOptions()
        if options is not None:
            reshape = schema.ReshapeOptions()
            reshape.Init(options.Bytes, options.Pos)
            if reshape.NewShapeLength():
                new_shape = reshape.NewShapeAsNumpy()
                if new_shape[0] == 1:
                    new_shape[0] = -1
                    changed = True
    return bytes(buf) if changed else None
