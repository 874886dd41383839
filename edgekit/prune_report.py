"""Pruning a SourceModel, measured: params, MACs, size and accuracy before and after.

Used by ``edgekit export --prune`` (the pipeline prunes the SourceModel before the targets)
and by ``edgekit prune``. MACs and sizes are those of the float32 TFLite conversion
(``edgekit.tflite_graph``), so they count what a device runs, not what Keras trains.
"""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path

from edgekit.errors import UnsupportedError
from edgekit.model import SourceModel


def _source(model: SourceModel, keras_model) -> SourceModel:
    """A Keras-backed SourceModel of ``keras_model`` with the inputs of ``model``."""
    from edgekit.loaders.keras import KerasBackend

    shapes = {t.name: t.shape for t in model.inputs}
    if len(model.inputs) == 1:
        shapes = {None: model.inputs[0].shape}
    backend = KerasBackend(keras_model, model.kind, model.batch, shapes)
    return replace(model, inputs=backend.inputs, outputs=backend.outputs, backend=backend)


def model_stats(model: SourceModel, session=None) -> dict:
    """Parameters, MACs, float32 .tflite bytes (raw and gzip) and kernel sparsity (the float32
    conversion is the one of ``session``, an ExportSession, that the TFLite target reuses)."""
    from edgekit.tflite_graph import TFLiteGraph
    from quantize.prune.magnitude import sparsity_of
    from quantize.spec import QuantSpec
    from targets.tflite.convert import convert_cached

    keras_model = model.backend.model
    data = convert_cached(model, QuantSpec("float32"), session=session)
    return {
        "params": int(keras_model.count_params()),
        "macs": int(TFLiteGraph(data).macs),
        "tflite_bytes": len(data),
        "gzip_bytes": len(gzip.compress(data, 9, mtime=0)),
        "sparsity": round(sparsity_of(keras_model)["sparsity"], 4),
    }


def top1(model: SourceModel, evalset) -> float | None:
    """Top-1 of the model on a labelled classification set (None otherwise)."""
    import numpy as np

    from edgekit.data import label_ids

    if evalset is None or not evalset.has_labels or len(model.outputs) != 1 or model.outputs[0].shape[-1] < 2:
        return None
    hits = total = 0
    for b in evalset.batches(256):
        scores = np.asarray(model.backend.predict(b.inputs)[0])
        labels = np.asarray(b.labels)
        one_hot = labels.ndim > 1 and labels.shape[1:] == scores.shape[1:]
        ids = labels.dtype.kind in "iub" or bool(np.all(labels == np.round(labels)))
        if not one_hot and (labels.reshape(len(labels), -1).shape[1] != 1 or not ids):
            return None  # regression targets or per-element labels: no top-1
        hits += int((scores.reshape(len(scores), -1).argmax(1) == label_ids(labels)).sum())
        total += len(scores)
    return hits / total if total else None


def prune_source(model: SourceModel, specs, *, calib=None, train=None, epochs: int = 5, evalset=None, session=None):
    """``(pruned SourceModel, record)``; the record holds before/after figures for the summary
    (``session``: the export run's ExportSession, sharing its conversions)."""
    from quantize.prune.apply import prune_keras

    if model.kind not in ("keras", "tf_keras"):
        raise UnsupportedError(
            f"--prune needs a Keras model (.keras or .h5); {model.path} is a {model.kind} model"
        )
    before = {**model_stats(model, session), "top1": top1(model, evalset)}
    mid: dict = {}

    def measure(pruned_keras):
        mid["top1"] = top1(_source(model, pruned_keras), evalset)

    pruned_keras, record = prune_keras(
        model.backend.model, specs, calib=calib, train=train, epochs=epochs, on_pruned=measure if evalset else None
    )
    pruned = _source(model, pruned_keras)
    after = {**model_stats(pruned, session), "top1": top1(pruned, evalset)}
    if "top1" in mid:
        after["top1_before_finetune"] = mid["top1"]
    record.update(before=before, after=after)
    if evalset is not None:
        record["eval"] = evalset.describe()
    return pruned, record


def _pct(v) -> str:
    return "" if v is None else f"{100 * v:.2f}%"


def render_pruning(record: dict, console) -> None:
    """Before/after table, then what was pruned, removed and fine-tuned."""
    from rich.table import Table

    from edgekit.fmt import fmt_bytes, safe

    b, a = record["before"], record["after"]
    table = Table(title="pruning: " + safe("; ".join(s["spec"] for s in record["specs"])), title_justify="left")
    for col in ("", "before", "after", "change"):
        table.add_column(col, justify="left" if not col else "right", no_wrap=True)

    def change(x, y):
        return f"{100 * (y - x) / x:+.1f}%" if x else ""

    table.add_row("parameters", f"{b['params']:,}", f"{a['params']:,}", change(b["params"], a["params"]))
    table.add_row("MACs", f"{b['macs']:,}", f"{a['macs']:,}", change(b["macs"], a["macs"]))
    for key, label in (("tflite_bytes", "float32 .tflite"), ("gzip_bytes", "  gzipped")):
        table.add_row(label, fmt_bytes(b[key]), fmt_bytes(a[key]), change(b[key], a[key]))
    table.add_row("weight sparsity", _pct(b["sparsity"]), _pct(a["sparsity"]), "")
    if "top1_before_finetune" in a:
        table.add_row("top-1, pruned", _pct(b["top1"]), _pct(a["top1_before_finetune"]),
                      f"{100 * (a['top1_before_finetune'] - b['top1']):+.2f} pts")  # fmt: skip
    if b.get("top1") is not None:
        label = "top-1, fine-tuned" if "finetune" in record else "top-1"
        table.add_row(label, _pct(b["top1"]), _pct(a["top1"]), f"{100 * (a['top1'] - b['top1']):+.2f} pts")
    console.print(table)
    lines = []
    groups = record.get("channels", {}).get("groups", [])
    cut = [f"{'+'.join(g['layers'])} {g['channels']}→{g['kept']}" for g in groups if g["kept"] < g["channels"]]
    kept = [f"{'+'.join(g['layers'])} ({g['reason']})" for g in groups if "reason" in g]
    if groups:
        lines.append(f"channels: {', '.join(cut) or 'none removed'}")
        lines.append(f"kept whole: {', '.join(kept)}" if kept else "")
    if "ops" in record:
        ops = [f"{r['layer']} {r['op']} {r['action']}" for r in record["ops"]]
        lines.append(f"operator pruning: {'; '.join(ops) if ops else 'nothing to remove'}")
    if "finetune" in record:
        f = record["finetune"]
        lines.append(f"fine-tuned {f['epochs']} epochs on {f['samples']} samples from {f['data']} ({f['loss']}, "
                     f"loss {f['loss_per_epoch'][0]:.4f} → {f['loss_per_epoch'][-1]:.4f})")  # fmt: skip
    elif b.get("top1") is not None:
        lines.append("no fine-tuning (--finetune DATA): the top-1 change above is post-training pruning alone")
    for line in filter(None, lines):
        console.print(f"[dim]{safe(line)}[/]", soft_wrap=True)


def check_model_out(out, kind: str, force: bool) -> None:
    """Fail before any work if the pruned model cannot be saved to ``out``."""
    import os

    from edgekit.errors import OutputError

    out = Path(out)
    allowed = (".h5",) if kind == "tf_keras" else (".keras", ".h5")
    if out.suffix.lower() not in allowed:
        why = " (a Keras 2 model is saved as HDF5)" if kind == "tf_keras" else ""
        raise OutputError(f"--out {out}: give a {' or '.join(allowed)} file name{why}")
    from edgekit.outdir import NAME_RESERVE, name_max

    limit = name_max(out.parent) - NAME_RESERVE  # room for the temporary directory's name
    if len(os.fsencode(out.name)) > limit:
        raise OutputError(f"--out {out}: name is too long ({len(os.fsencode(out.name))} bytes; at most {limit})")
    if os.path.lexists(out) and not force:
        raise OutputError(f"--out {out} already exists; pass --force to replace it")
    if out.is_dir():
        raise OutputError(f"--out {out} is a directory")
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"--out {out}: {parent} is not writable")


def save_keras(model: SourceModel, out, force: bool) -> None:
    """Save the Keras model behind ``model`` to ``out``, all or nothing."""
    import os
    import tempfile

    from edgekit.errors import OutputError
    from edgekit.files import current_umask

    out = Path(out)
    check_model_out(out, model.kind, force)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # Keras opens its file by name and follows symlinks: save into a fresh private
        # directory (random name, mode 0700) where no one can have planted one.
        with tempfile.TemporaryDirectory(prefix=f".{out.stem[:40]}.tmp-", dir=out.parent) as tmp:
            saved = Path(tmp) / out.name
            model.backend.model.save(str(saved))
            os.chmod(saved, 0o666 & ~current_umask())
            os.replace(saved, out)
    except OSError as e:
        raise OutputError(f"--out {out}: cannot write ({e.strerror or e})") from e


def save_pruned(model: SourceModel, build: Path) -> str:
    """Save the pruned model into a build directory; its path relative to the build."""
    from edgekit.build import BuildDir

    rel = BuildDir(build).pruned_model(model.name, ".h5" if model.kind == "tf_keras" else ".keras")
    save_keras(model, build / rel, force=True)
    return rel
