"""The table printed at the end of ``edgekit export``."""

from __future__ import annotations

from edgekit.fmt import fmt_bytes, fmt_ms, safe, short_layer
from targets import size_reference


def _pct(v: float | None) -> str:
    return "" if v is None else f"{100 * v:.2f}%"


def render_export(result, console) -> None:
    """One row per artifact: size, size vs float32, accuracy columns when evaluated."""
    from rich.table import Table

    from edgekit.validate import artifact_key

    if getattr(result, "pruning", None):
        from edgekit.prune_report import render_pruning

        render_pruning(result.pruning, console)
    ev = result.evaluation or {}
    float32 = {a.target: a.deployed_bytes for a in result.artifacts if a.scheme == "float32"}
    table = Table(title=f"edgekit export → {safe(result.out)}", title_justify="left")
    table.add_column("artifact", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("vs float32", justify="right")
    evaluated = bool(ev.get("artifacts"))
    timed = bool(result.latency)
    layouts = any(a.io_layout() for a in result.artifacts)  # a column only when some I/O is an image
    if layouts:
        table.add_column("I/O layout", no_wrap=True)
    if timed:
        table.add_column("host p50", justify="right", no_wrap=True)
    if evaluated:
        for col in ("top-1", "agree", "cosine"):
            table.add_column(col, justify="right", no_wrap=True)
    for a in result.artifacts:
        ref = size_reference(a.target, float32)
        row = [safe(artifact_key(a)), fmt_bytes(a.deployed_bytes), f"{a.deployed_bytes / ref:.2f}x" if ref else ""]
        if layouts:
            row.append(a.io_layout())
        if timed:
            t = result.latency.get(artifact_key(a))
            row.append(f"{fmt_ms(t['p50_ms'])} {t['variant']}" if t else "")
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
        console.print(f"[dim]{safe(a.primary.relative_to(result.out))}: {safe('; '.join(a.notes))}[/]", soft_wrap=True)
    if timed:
        console.print("[dim]host p50: batch 1 on this machine, short run; `edgekit simulate` measures p50/p90/p99 "
                      "per runtime variant[/]", soft_wrap=True)  # fmt: skip
    _not_validated(ev, console)
    for w in result.warnings:
        console.print(f"[bold yellow]warning:[/] {safe(w)}", soft_wrap=True)


def _not_validated(result: dict, console) -> None:
    """Artifacts a reference runtime could not execute (e.g. an op without a kernel)."""
    for key, reason in result.get("not_validated", {}).items():
        console.print(f"[bold yellow]not validated:[/] {safe(key)}: {safe(reason)}", soft_wrap=True)


def _num(v, fmt: str) -> str:
    return format(v, fmt) if isinstance(v, (int, float)) else str(v) if v is not None else ""


def render_validation(report, console, title: str = "edgekit validate") -> None:
    """One table, artifacts as rows and metrics as columns; then the gate verdicts."""
    from rich.table import Table

    res = report.result
    task = res["task"]
    table = Table(title=f"{title}: {res['samples']} samples, task {task}", title_justify="left")
    cols = [("artifact", None)]
    if task == "classification":
        cols += [("top-1", "top1"), ("Δ top-1", None), ("agree", "agreement")]
    if task == "anomaly":
        cols += [("AUC", "auc"), ("Δ AUC", None)]
    cols += [("cosine", "cosine"), ("L2 rel", "l2_rel"), ("SNR dB", "snr_db")]
    for name, _ in cols:
        table.add_column(name, justify="left" if name == "artifact" else "right", no_wrap=True)
    head = "auc" if task == "anomaly" else "top1"
    base = res["float"].get(head)
    float_row = ["float model"] + ["" for _ in cols[1:]]
    for i, (_, key) in enumerate(cols[1:], 1):
        if key in ("top1", "top5", "auc") and key in res["float"]:
            float_row[i] = _pct(res["float"][key])
    table.add_row(*float_row, style="dim")
    for key, m in res["artifacts"].items():
        row = [safe(key)]
        for name, k in cols[1:]:
            if name.startswith("Δ"):
                v = m.get(head)
                row.append(f"{100 * (v - base):+.2f}" if isinstance(v, float) and isinstance(base, float) else "")
            elif k in ("top1", "top5", "auc", "agreement"):
                row.append(_pct(m.get(k)) if isinstance(m.get(k), float) else "")
            elif k == "cosine":
                row.append(_num(m.get(k), ".6f"))
            elif k == "snr_db":
                row.append(_num(m.get(k), ".1f"))
            else:
                row.append(_num(m.get(k), ".3g"))
        table.add_row(*row)
    console.print(table)
    for key, diag in res.get("layers", {}).items():
        layers = Table(title=f"{safe(key)}: layers adding the most quantization error", title_justify="left")
        for col in ("layer", "channel error", "tensor error"):
            layers.add_column(col, justify="left" if col == "layer" else "right", overflow="fold")
        for row in diag["worst"][:5]:
            layers.add_row(safe(row["layer"]), f"{row['channel_error']:.3f}", f"{row['tensor_error']:.3g}")
        console.print(layers)
        if diag["suggestion"]:
            console.print(
                f"to keep the worst layer's tensors out of int8, export with --float-layers {safe(','.join(diag['suggestion']))} "
                "(or give the whole model 16-bit activations: --quant int16x8)",
                soft_wrap=True,
            )
    _not_validated(res, console)
    ref = res.get("reference") or {}
    if ref.get("given") and ref.get("matches_manifest") is False:
        console.print(f"[bold yellow]note:[/] float reference {safe(ref['path'])} (--model) is not the model this build "
                      "was exported from (its sha256 differs from the manifest's)", soft_wrap=True)  # fmt: skip
    for g in report.gates:
        if g.note:
            console.print(f"[bold yellow]note:[/] {safe(g.message)}", soft_wrap=True)
    checks = [g for g in report.gates if not g.note]
    failed = [g for g in checks if not g.passed]
    for g in failed:
        console.print(f"[bold red]FAIL[/] {safe(g.message)}", soft_wrap=True)
    if checks:
        passed = len(checks) - len(failed)
        verdict = "[green]all gates passed[/]" if not failed else f"[bold red]{len(failed)} gate check(s) failed[/]"
        console.print(f"{verdict} ({passed} of {len(checks)} checks passed; details in validation.json)", soft_wrap=True)


def render_device(result: dict, device, console, show_ops: bool = False) -> None:
    """Device table (estimated latency, RAM, flash, fits) and, with ``show_ops``, the costliest ops."""
    from rich.table import Table

    memory = {m["artifact"]: m for m in result.get("memory", [])}
    latency = {e["artifact"]: e for e in result.get("device_latency", [])}
    title = f"on {device.name}: {safe(device.core)} @ {device.clock_mhz:g} MHz, {device.kernels} kernels"
    table = Table(title=title, title_justify="left")
    for col in ("artifact", "latency (est.)", "typ. error", "RAM", "flash", "fits"):
        table.add_column(col, justify="left" if col in ("artifact", "fits") else "right", no_wrap=True)
    for key in dict.fromkeys([*memory, *latency]):
        m, e = memory.get(key, {}), latency.get(key, {})
        est = fmt_ms(e["latency_ms"]) if e.get("applies") else "-"
        err = f"±{e['typical_error'] * 100:.0f}%" if e.get("applies") else ""
        if m.get("applies"):
            ram, flash = fmt_bytes(m["ram_bytes"]), fmt_bytes(m["flash_bytes"])
            fits = "[green]yes[/]" if m["fits"] else "[bold red]no[/]"
        else:
            ram = flash = fits = "-"
        table.add_row(safe(key), est, err, ram, flash, fits)
    console.print(table)
    for m in memory.values():
        if m.get("applies") and not m["fits"]:
            console.print(f"[bold red]{safe(m['verdict'])}[/]", soft_wrap=True)
    bases = sorted({e["basis"] for e in latency.values() if e.get("applies")})
    for b in bases:
        console.print(f"[dim]latency estimate: cost model fitted on {b}; typ. error = leave-one-model-out median[/]",
                      soft_wrap=True)  # fmt: skip
    for key, e in latency.items():
        if not e.get("applies"):
            console.print(f"[dim]{safe(key)}: no latency estimate: {safe(e['why'])}[/]", soft_wrap=True)
        for note in e.get("notes", []):
            console.print(f"[dim]{safe(key)}: {safe(note)}[/]", soft_wrap=True)
    for key, m in memory.items():
        if m.get("basis") == "measured":
            console.print(f"[dim]{safe(key)}: RAM and flash {safe(m['ram_source'])}[/]", soft_wrap=True)
    estimated = [m for m in memory.values() if m.get("applies") and m.get("basis", "estimated") == "estimated"]
    if estimated:
        console.print(f"[dim]RAM and flash estimated (lower bounds); {estimated[0].get('not_counted', '')}[/]", soft_wrap=True)
    if show_ops:
        for key, e in latency.items():
            if e.get("applies"):
                _render_ops(key, e, console)


def _render_ops(key: str, estimate: dict, console) -> None:
    from rich.table import Table

    shown = len(estimate["hottest_ops"])
    table = Table(title=f"{safe(key)}: costliest {shown} of {estimate['ops_total']} ops", title_justify="left")
    for col in ("#", "op", "layer", "est.", "share", "MACs"):
        table.add_column(col, justify="left" if col in ("op", "layer") else "right", no_wrap=True)
    for op in estimate["hottest_ops"]:
        w = op["work"]
        macs = w["mac_conv"] + w["mac_dw"] + w["mac_fc"]
        table.add_row(str(op["index"]), safe(op["op"]), safe(short_layer(op["name"], 56)), fmt_ms(op["ms"]), f"{op['share'] * 100:.1f}%",
                      f"{macs:,}" if macs else "")  # fmt: skip
    console.print(table)
