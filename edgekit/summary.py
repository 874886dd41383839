"""The table printed at the end of ``edgekit export``."""

from __future__ import annotations

from edgekit.fmt import fmt_bytes


def _pct(v: float | None) -> str:
    return "" if v is None else f"{100 * v:.2f}%"


def render_export(result, console) -> None:
    """One row per artifact: size, size vs float32, accuracy columns when evaluated."""
    from rich.table import Table

    from edgekit.pipeline import artifact_key

    ev = result.evaluation or {}
    float32 = {a.target: a.deployed_bytes for a in result.artifacts if a.scheme == "float32"}
    table = Table(title=f"edgekit export → {result.out}", title_justify="left")
    table.add_column("artifact", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("vs float32", justify="right")
    evaluated = bool(ev.get("artifacts"))
    if evaluated:
        for col in ("top-1", "agree", "cosine"):
            table.add_column(col, justify="right", no_wrap=True)
    for a in result.artifacts:
        ref = float32.get(a.target)
        if ref is None and "tflite_sha256" in a.metadata:  # C sources of a TFLite flatbuffer
            ref = float32.get("tflite")
        row = [artifact_key(a), fmt_bytes(a.deployed_bytes), f"{a.deployed_bytes / ref:.2f}x" if ref else ""]
        if evaluated:
            m = ev["artifacts"].get(artifact_key(a), {})
            row += [_pct(m.get("top1")), _pct(m.get("agreement")), f"{m['cosine']:.5f}" if "cosine" in m else ""]
        table.add_row(*row)
    console.print(table)
    if evaluated:
        line = f"float model ({result.model.kind}) on {ev['samples']} samples"
        if "top1" in ev.get("float", {}):
            line += f": top-1 {_pct(ev['float']['top1'])}"
        console.print(line)
    for a in result.artifacts:
        console.print(f"[dim]{a.primary.relative_to(result.out)}: {'; '.join(a.notes)}[/]")
    for w in result.warnings:
        console.print(f"[bold yellow]warning:[/] {w}")
