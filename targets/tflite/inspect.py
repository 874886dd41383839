"""``edgekit inspect`` of a TFLite graph: read directly with TFLiteGraph (no TensorFlow import)."""

from __future__ import annotations

from pathlib import Path

from edgekit.tflite_graph import TFLiteGraph

LARGEST = 5


def _tensor_json(t) -> dict:
    d = {"name": t.name, "shape": list(t.shape), "dtype": t.dtype}
    if t.quant is not None and len(t.quant.scale) == 1:
        d["scale"], d["zero_point"] = t.quant.scale[0], t.quant.zero_point[0]
    elif t.quant is not None:
        d["per_channel_scales"] = len(t.quant.scale)
    return d


def graph_report(graph: TFLiteGraph, with_ops: bool = False) -> dict:
    """The inspect report of a TFLite graph."""
    sg = graph.main
    by_dtype = graph.params_by_dtype()
    report = {
        "format": "tflite",
        "bytes": len(graph.data),
        "scheme": graph.quant_scheme(),
        "description": graph.description,
        "subgraphs": len(graph.subgraphs),
        "inputs": [_tensor_json(t) for t in graph.inputs],
        "outputs": [_tensor_json(t) for t in graph.outputs],
        "op_count": len(graph.ops),
        "ops": graph.op_histogram(),
        "params": {
            "count": graph.param_count,
            "bytes": sum(d["bytes"] for d in by_dtype.values()),
            "by_dtype": by_dtype,
        },
        "macs": graph.macs,
        "largest_activations": [
            {**_tensor_json(t), "bytes": t.nbytes} for t in graph.activations()[:LARGEST]
        ],
    }
    if with_ops:
        report["per_op"] = [
            {
                "index": op.index,
                "op": op.opcode,
                "macs": op.macs,
                "output": _tensor_json(sg.tensors[op.outputs[0]]) if op.outputs and op.outputs[0] >= 0 else None,
            }
            for op in sg.ops
        ]
    return report


def file_report(path: Path, with_ops: bool = False) -> dict:
    """The inspect report of a .tflite file."""
    report = graph_report(TFLiteGraph.from_file(path), with_ops)
    report["model"] = str(path)
    return report
