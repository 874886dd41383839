"""A read-only view of an ONNX graph for ``edgekit inspect``: op histogram, parameters by
dtype, activation sizes and MACs (Conv, ConvTranspose, Gemm, MatMul) from the shapes ONNX
shape inference gives the fixed model. Nodes whose shapes stay unknown count no MACs."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

# Ops whose multiply-accumulates are counted (the ones that dominate conv nets and MLPs).
MAC_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def _shape(vi) -> tuple[int, ...] | None:
    t = vi.type.tensor_type
    if not t.HasField("shape") or any(not d.HasField("dim_value") for d in t.shape.dim):
        return None
    return tuple(int(d.dim_value) for d in t.shape.dim)


def _dtype(elem_type: int) -> str:
    import onnx

    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type)).name
    except (KeyError, TypeError, ValueError):
        return str(elem_type)


def _itemsize(dtype: str) -> int:
    try:
        return np.dtype(dtype).itemsize
    except TypeError:  # an element type NumPy lacks (bfloat16, float8): no byte count
        return 0


def _attr(node, name: str, default):
    import onnx

    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def node_macs(node, shapes: dict) -> int | None:
    """Multiply-accumulates of one node, or None when its op is not counted or shapes are unknown."""
    out = shapes.get(node.output[0]) if node.output else None
    ins = [shapes.get(n) for n in node.input]
    if node.op_type not in MAC_OPS or out is None or not ins or any(s is None for s in ins[:2]):
        return None
    w = ins[1]
    if node.op_type == "Conv":  # every output element: (Cin / group) x kernel
        return math.prod(out) * math.prod(w[1:])
    if node.op_type == "ConvTranspose":  # every input element spreads over Cout / group x kernel
        return math.prod(ins[0]) * math.prod(w[1:])
    if node.op_type == "Gemm":
        k = ins[0][0] if _attr(node, "transA", 0) else ins[0][-1]
        return math.prod(out) * k
    return math.prod(out) * ins[0][-1]  # MatMul: every output element is a K-long dot product


def graph_report(data: bytes, with_ops: bool = False) -> dict:
    """The inspect fields of an ONNX model (``data``: serialized, fixed input shapes)."""
    import onnx

    model = onnx.shape_inference.infer_shapes(onnx.load_from_string(data), data_prop=True)
    g = model.graph
    shapes: dict[str, tuple[int, ...] | None] = {}
    dtypes: dict[str, str] = {}
    for vi in (*g.input, *g.value_info, *g.output):
        shapes[vi.name] = _shape(vi)
        dtypes[vi.name] = _dtype(vi.type.tensor_type.elem_type)
    params: dict[str, dict[str, int]] = {}
    constant = set()
    for t in g.initializer:
        shapes[t.name] = tuple(t.dims)
        constant.add(t.name)
        d = params.setdefault(_dtype(t.data_type), {"params": 0, "bytes": 0})
        n = math.prod(t.dims)
        d["params"] += n
        d["bytes"] += n * _itemsize(_dtype(t.data_type))
    ops = Counter(n.op_type for n in g.node)
    per_op, total, counted = [], 0, False
    for i, node in enumerate(g.node):
        macs = node_macs(node, shapes)
        if macs is not None:
            total += macs
            counted = True
        if with_ops:
            out = node.output[0] if node.output else None
            shape = shapes.get(out) if out else None
            per_op.append({"index": i, "op": node.op_type, "name": node.name, "macs": macs or 0,
                           "output": {"shape": list(shape), "dtype": dtypes.get(out, "")} if shape is not None else None})  # fmt: skip
    acts = []
    for name, shape in shapes.items():
        if name in constant or shape is None or name not in dtypes:
            continue
        acts.append({"name": name, "shape": list(shape), "dtype": dtypes[name], "bytes": math.prod(shape) * _itemsize(dtypes[name])})
    acts.sort(key=lambda a: (-a["bytes"], a["name"]))
    report = {
        "opset": max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0),
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "subgraphs": 1,
        "op_count": len(g.node),
        "ops": dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))),
        "params": {"count": sum(d["params"] for d in params.values()), "bytes": sum(d["bytes"] for d in params.values()),
                   "by_dtype": dict(sorted(params.items()))},  # fmt: skip
        "macs": total if counted else None,
        "largest_activations": acts[:5],
    }
    if with_ops:
        report["per_op"] = per_op
    return report
