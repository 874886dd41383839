"""The artifact table of the report, as text cells: report.html and report.md show the same."""

from __future__ import annotations

from edgekit.fmt import fmt_bytes, fmt_ms


def _pct(v) -> str:
    return f"{100 * v:.2f}%" if isinstance(v, (int, float)) else "–"


def artifact_table(view: dict) -> tuple[list[str], list[list[str]]]:
    """(column headers, one row of cells per artifact)."""
    device = (view.get("device") or {}).get("name")
    layouts = any(a.get("layout") for a in view["artifacts"])  # a column only when some I/O is an image
    head = [
        "artifact", "scheme", "size", "vs float32", view["headline_label"] or "accuracy", "agreement", "cosine",
        "host p50", f"{device} latency (est.)" if device else "device latency (est.)", "RAM", "flash", "fits?",
    ]  # fmt: skip
    if layouts:
        head.append("I/O layout")
    rows = []
    for a in view["artifacts"]:
        est = f"≈{fmt_ms(a['device_ms'])} ±{100 * a['device_error']:.0f}%" if a["device_ms"] is not None else "–"
        if a["device_ms"] is not None and a.get("device_counted"):
            est += " (counted)"  # instructions of a firmware build x CPI, not op features
        fits = {True: "yes", False: "no", None: "–"}[a["fits"]]
        if a["fits"] is not None and a.get("fit_basis"):
            fits += f" ({a['fit_basis']})"
        rows.append([
            a["key"], a["scheme"], fmt_bytes(a["bytes"]),
            f"{a['vs_float32']:.2f}x" if a["vs_float32"] else "–",
            _pct(a["accuracy"]), _pct(a["agreement"]),
            f"{a['cosine']:.6f}" if isinstance(a["cosine"], (int, float)) else "–",
            f"{fmt_ms(a['host_ms'])} ({a['host_variant']})" if a["host_ms"] is not None else "–",
            est,
            fmt_bytes(a["ram_bytes"]) if a["ram_bytes"] is not None else "–",
            fmt_bytes(a["flash_bytes"]) if a["flash_bytes"] is not None else "–",
            fits,
        ])  # fmt: skip
        if layouts:
            rows[-1].append(a.get("layout") or "–")
    return head, rows
