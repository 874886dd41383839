"""``edgekit inspect``: what is inside a model, as a dict (for ``--json``) and as tables.

A ``.tflite`` is read directly with TFLiteGraph (no TensorFlow import). Keras and SavedModel
sources are converted to float32 TFLite in memory and read the same way, so MACs and
tensor sizes are counted identically for every format. A source whose backend reads its own
graph (``graph_report``: ONNX) is reported from that graph, without a conversion.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from edgekit.fmt import fmt_bytes, safe
from edgekit.tflite_graph import TFLiteGraph


def inspect_path(path: str | Path, with_ops: bool = False, unsafe: bool = False) -> dict:
    """Inspect a model file of any format (.tflite, .xml, .mlpackage, ...) or a source model
    (.keras/.h5, SavedModel); the report as a dict."""
    from targets import format_for_file
    from targets.base import resolve

    path = Path(path)
    fmt = format_for_file(path)
    if fmt is not None and fmt.inspect and (fmt.directory or not path.is_dir()):
        return resolve(fmt.inspect)(path, with_ops)

    # A source model is read as its float32 TFLite conversion: TFLiteGraph is the one view
    # of structure (MACs, tensor sizes) every report shares.
    from edgekit.model import load_model
    from quantize.spec import QuantSpec
    from targets import get_target
    from targets.tflite.inspect import graph_report

    model = load_model(path, unsafe=unsafe)
    own = getattr(model.backend, "graph_report", None)
    if own is not None:  # a source whose graph says it all itself (ONNX): no conversion
        report = own(with_ops)
        report.update(model=str(path), format=model.kind, bytes=_size(path), scheme="float32",
                      inputs=[t.to_json() for t in model.inputs], outputs=[t.to_json() for t in model.outputs])  # fmt: skip
        return report
    with tempfile.TemporaryDirectory() as tmp:
        artifact = get_target("tflite").export(model, QuantSpec("float32"), Path(tmp))
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
    source_ops = getattr(model.backend, "source_ops", None)
    if source_ops is not None:  # the program's own ops (PyTorch: ATen), beside the TFLite ones
        report["source_ops"] = source_ops()
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
    for col in ("", "name", "shape", "dtype", "layout", "quantization"):
        io.add_column(col)
    for kind in ("inputs", "outputs"):
        for t in report[kind]:
            q = f"scale {t['scale']:.6g}, zero point {t['zero_point']}" if "scale" in t else ""
            io.add_row(kind[:-1], safe(t["name"]), "x".join(map(str, t["shape"])), safe(t["dtype"]),
                       safe(t.get("layout") or ""), q)  # fmt: skip
    console.print(io)

    ops = Table(title="Ops", title_justify="left")
    ops.add_column("op")
    ops.add_column("count", justify="right")
    for name, count in report["ops"].items():
        ops.add_row(safe(name), str(count))
    console.print(ops)

    if report.get("source_ops"):
        src = Table(title=f"Ops of the {safe(report['format'])} program", title_justify="left")
        src.add_column("op")
        src.add_column("count", justify="right")
        for name, count in report["source_ops"].items():
            src.add_row(safe(name), str(count))
        console.print(src)

    params = Table(title="Parameters by dtype", title_justify="left")
    for col in ("dtype", "params", "bytes"):
        params.add_column(col, justify="right" if col != "dtype" else "left")
    for dtype, d in report["params"]["by_dtype"].items():
        params.add_row(safe(dtype), f"{d['params']:,}", fmt_bytes(d["bytes"]))
    console.print(params)
    if report.get("weights"):
        _render_weights(report, console)

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


def _render_weights(report: dict, console) -> None:
    """Formats that store weights per layer in their own way (palettes, sparse, int8) list them."""
    from rich.table import Table

    table = Table(title="Weights per layer", title_justify="left")
    for col in ("layer", "op", "shape", "storage", "bytes"):
        table.add_column(col, justify="right" if col == "bytes" else "left")
    for w in report["weights"]:
        table.add_row(safe(w["name"]), safe(w["op"]), "x".join(map(str, w["weight_shape"])), safe(w["storage"]),
                      fmt_bytes(w["bytes"]))  # fmt: skip
    console.print(table)
