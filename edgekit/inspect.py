"""``edgekit inspect``: what is inside a model, as a dict (for ``--json``) and as tables.

A ``.tflite`` is read directly with TFLiteGraph (no TensorFlow import). Keras and SavedModel
sources are converted to float32 TFLite in memory and read the same way, so MACs and
tensor sizes are counted identically for every format.
"""

from __future__ import annotations

import math
import tempfile
from collections import Counter
from pathlib import Path

from edgekit.fmt import fmt_bytes, safe
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


def ir_report(path: Path) -> dict:
    """The inspect report of an OpenVINO IR (.xml next to its .bin)."""
    import openvino as ov

    from edgekit.errors import ModelFileError
    from targets.openvino.runner import tensor_infos

    try:
        model = ov.Core().read_model(str(path))
    except RuntimeError as e:
        raise ModelFileError(f"{path}: OpenVINO cannot read the IR ({str(e).strip().splitlines()[0][:200]})") from e
    ops = Counter(op.get_type_name() for op in model.get_ordered_ops())
    weights: dict[str, dict[str, int]] = {}
    for op in model.get_ordered_ops():
        if op.get_type_name() == "Constant":
            et = op.get_output_element_type(0).get_type_name()
            d = weights.setdefault(et, {"params": 0, "bytes": 0})
            shape = op.get_output_shape(0)
            d["params"] += math.prod(shape) if len(shape) else 1
            d["bytes"] += int(op.get_byte_size())
    bin_path = path.with_suffix(".bin")
    compressed = sorted(set(weights) & {"i8", "u8", "i4", "u4", "f16"})
    scheme = "int8" if ops.get("FakeQuantize") else (f"weights {'/'.join(compressed)}" if compressed else "float32")
    return {
        "model": str(path), "format": "openvino", "bytes": path.stat().st_size + (bin_path.stat().st_size if bin_path.exists() else 0),
        "scheme": scheme,
        "description": "", "subgraphs": 1,
        "inputs": [t.to_json() for t in tensor_infos(model.inputs)],
        "outputs": [t.to_json() for t in tensor_infos(model.outputs)],
        "op_count": sum(ops.values()), "ops": dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))),
        "fake_quantize": ops.get("FakeQuantize", 0),
        "params": {"count": sum(d["params"] for d in weights.values()), "bytes": sum(d["bytes"] for d in weights.values()),
                   "by_dtype": dict(sorted(weights.items()))},
        "macs": None, "largest_activations": [],
        "note": "OpenVINO IR: constants by element type; MACs are counted for TFLite graphs only",
    }  # fmt: skip


def inspect_path(path: str | Path, with_ops: bool = False, unsafe: bool = False) -> dict:
    """Inspect a .tflite, .xml (OpenVINO IR), .mlpackage, .keras/.h5 or SavedModel; the report as a dict."""
    path = Path(path)
    if path.suffix.lower() == ".mlpackage":
        from targets.coreml.inspect import package_report

        return package_report(path, with_ops)
    if path.suffix.lower() == ".xml" and not path.is_dir():
        return ir_report(path)
    if path.suffix.lower() == ".tflite" and not path.is_dir():
        report = graph_report(TFLiteGraph.from_file(path), with_ops)
        report["model"] = str(path)
        return report

    from edgekit.model import load_model
    from quantize.spec import QuantSpec
    from targets.tflite.exporter import TFLiteTarget

    model = load_model(path, unsafe=unsafe)
    with tempfile.TemporaryDirectory() as tmp:
        artifact = TFLiteTarget().export(model, QuantSpec("float32"), Path(tmp))
        graph = TFLiteGraph.from_file(artifact.primary)
    report = graph_report(graph, with_ops)
    report.update(
        model=str(path),
        format=model.kind,
        bytes=_size(path),
        scheme="float32",
        inputs=[t.to_json() for t in model.inputs],
        outputs=[t.to_json() for t in model.outputs],
        note="ops, MACs and tensor sizes are those of the model converted to float32 TFLite",
    )
    layers = getattr(model.backend, "model", None)
    if layers is not None and hasattr(layers, "layers"):
        report["layers"] = dict(Counter(type(layer).__name__ for layer in layers.layers).most_common())
    return report


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def render(report: dict, console) -> None:
    """Print an inspect report as rich tables."""
    from rich.table import Table

    macs = f", {report['macs']:,} MACs" if report.get("macs") is not None else ""
    fq = f", {report['fake_quantize']} FakeQuantize" if "fake_quantize" in report else ""
    head = (
        f"[bold]{safe(report['model'])}[/]  {report['format']}, {fmt_bytes(report['bytes'])}, "
        f"scheme {safe(report['scheme'])}, {report['op_count']} ops{fq}, {report['params']['count']:,} params "
        f"({fmt_bytes(report['params']['bytes'])}){macs}"
    )
    console.print(head)
    if report.get("note"):
        console.print(f"[dim]{safe(report['note'])}[/]")

    io = Table(title="Inputs and outputs", title_justify="left")
    for col in ("", "name", "shape", "dtype", "quantization"):
        io.add_column(col)
    for kind in ("inputs", "outputs"):
        for t in report[kind]:
            q = f"scale {t['scale']:.6g}, zero point {t['zero_point']}" if "scale" in t else ""
            io.add_row(kind[:-1], safe(t["name"]), "x".join(map(str, t["shape"])), safe(t["dtype"]), q)
    console.print(io)

    ops = Table(title="Ops", title_justify="left")
    ops.add_column("op")
    ops.add_column("count", justify="right")
    for name, count in report["ops"].items():
        ops.add_row(safe(name), str(count))
    console.print(ops)

    params = Table(title="Parameters by dtype", title_justify="left")
    for col in ("dtype", "params", "bytes"):
        params.add_column(col, justify="right" if col != "dtype" else "left")
    for dtype, d in report["params"]["by_dtype"].items():
        params.add_row(safe(dtype), f"{d['params']:,}", fmt_bytes(d["bytes"]))
    console.print(params)
    if report.get("weights"):
        from targets.coreml.inspect import render_weights

        render_weights(report, console)

    if not report["largest_activations"]:
        return
    acts = Table(title="Largest activation tensors", title_justify="left")
    for col in ("name", "shape", "dtype", "bytes"):
        acts.add_column(col, justify="right" if col == "bytes" else "left")
    for t in report["largest_activations"]:
        acts.add_row(safe(t["name"]), "x".join(map(str, t["shape"])), safe(t["dtype"]), fmt_bytes(t["bytes"]))
    console.print(acts)

    if "per_op" in report:
        per = Table(title="Per op", title_justify="left")
        for col in ("#", "op", "MACs", "output"):
            per.add_column(col, justify="right" if col in ("#", "MACs") else "left")
        for op in report["per_op"]:
            out = op["output"]
            per.add_row(
                str(op["index"]), safe(op["op"]), f"{op['macs']:,}",
                f"{'x'.join(map(str, out['shape']))} {safe(out['dtype'])}" if out else "",
            )
        console.print(per)

