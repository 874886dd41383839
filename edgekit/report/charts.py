"""The report's charts: matplotlib figures rendered to inline SVG strings.

Deterministic (same view model, same bytes): a fixed hash salt per chart for the element
ids, no date or creator metadata, text kept as text (``svg.fonttype = none``). Readable in
light and dark pages: the background is transparent and every axis, label and tick is drawn
in a sentinel colour that is replaced by ``currentColor``, so the page's text colour is used;
the data colours are mid-tones that read on white and on near-black.
"""

from __future__ import annotations

import io
import re

from edgekit.fmt import fmt_bytes, fmt_ms
from edgekit.fmt import short_layer as _short

FG = "#010101"  # replaced by currentColor
MEASURED = "#3a86d1"
ESTIMATED = "#e69f00"
OVER = "#d55e00"
WIDTH = 7.2  # inches; the page scales the SVG to its column
ROW = 0.3


def _rc(name: str) -> dict:
    return {
        "svg.hashsalt": f"edgekit-{name}", "svg.fonttype": "none", "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans"], "font.size": 9, "text.color": FG, "axes.labelcolor": FG,
        "axes.edgecolor": FG, "xtick.color": FG, "ytick.color": FG, "axes.titlecolor": FG,
        "axes.titlesize": 10, "axes.titleweight": "bold", "axes.spines.top": False, "axes.spines.right": False,
        "legend.frameon": False, "grid.color": FG, "grid.alpha": 0.18, "hatch.color": FG, "hatch.linewidth": 0.6,
        "path.simplify": False,
    }  # fmt: skip


def _figure(name: str, height: float, ncols: int = 1):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def _svg(fig, name: str, label: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", transparent=True, metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buf.getvalue()
    text = re.sub(r"<\?xml[^>]*\?>\s*|<!DOCTYPE[^>]*>\s*|<!--.*?-->\s*", "", text, flags=re.S)
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', rf'<svg\1 class="chart" role="img" aria-label="{_attr(label)}"', text, count=1)
    text = text.replace(FG, "currentColor").replace(FG.upper(), "currentColor")
    # Several charts share one page: make every id (and each reference to one) unique to this chart.
    prefix = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")
    text = re.sub(r'(\sid="|url\(#|xlink:href="#|\shref="#)', rf"\g<1>{prefix}-", text)
    return "\n".join(line.rstrip() for line in text.strip().splitlines()) + "\n"


def _attr(s: str) -> str:
    return s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def render(name: str, label: str, draw, height: float, ncols: int = 1) -> str:
    """An SVG chart: ``draw(fig, axes)`` inside this module's fixed style."""
    import matplotlib

    with matplotlib.rc_context(_rc(name)):
        fig, axes = _figure(name, height, ncols)
        draw(fig, axes)
        return _svg(fig, name, label)


def _height(rows: int, extra: float = 1.1) -> float:
    return round(extra + ROW * max(rows, 1), 2)


# -- the charts -----------------------------------------------------------------------------


def accuracy_vs_size(view: dict) -> str | None:
    """Accuracy (the headline metric) against deployed size, one point per artifact."""
    rows = [a for a in view["artifacts"] if isinstance(a["accuracy"], (int, float))]
    if not rows:
        return None
    label = view["headline_label"]
    points = sorted(((a["bytes"] / 1024, 100 * a["accuracy"], a) for a in rows), key=lambda p: (p[1], p[0], p[2]["key"]))
    # Points too close to label apart (within 6% of the size axis, 0.05 points of accuracy) share one label.
    near = max(p[0] for p in points) * 0.06
    clusters: list[list[tuple]] = []
    for p in points:
        if clusters and abs(p[1] - clusters[-1][0][1]) < 0.05 and p[0] - clusters[-1][-1][0] < near:
            clusters[-1].append(p)
        else:
            clusters.append([p])

    def draw(fig, axes):
        ax = axes[0]
        for x, y, a in points:
            ax.scatter([x], [y], s=42, color=_color(a["target"]), zorder=3,
                       edgecolors=FG, linewidths=0.5)  # fmt: skip
        for group in clusters:
            x, y = group[0][0], group[0][1]
            text = "\n".join(p[2]["key"] for p in group)
            ax.annotate(text, (x, y), textcoords="offset points", xytext=(7, 5), fontsize=8, va="bottom")
        flt = (view.get("evaluation") or {}).get("float")
        if isinstance(flt, (int, float)) and view["headline"] != "agreement":
            ax.axhline(100 * flt, color=FG, linestyle=":", linewidth=1)
            ax.annotate("float model", (1, 100 * flt), xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=8)
        xs = [p[0] for p in points]
        ys = [p[1] for p in points] + ([100 * flt] if isinstance(flt, (int, float)) else [])
        ax.set_xlim(0, max(xs) * 1.35)
        span = max(max(ys) - min(ys), 0.5)
        lines = max(len(g) for g in clusters)
        ax.set_ylim(min(ys) - 0.4 * span, max(ys) + (0.4 + 0.25 * lines) * span)
        ax.set_xlabel("deployed size (KiB)")
        ax.set_ylabel(f"{label} (%)")
        ax.grid(True)
        ax.set_title(f"{label} vs size")

    return render("accuracy", f"{label} against size per artifact", draw, 3.2)


def latency(view: dict) -> str | None:
    """Host p50 (measured) and device estimate per artifact, on one log-scaled ms axis."""
    rows = [a for a in view["artifacts"] if a["host_ms"] is not None or a["device_ms"] is not None]
    if not rows:
        return None
    device = (view.get("device") or {}).get("name", "device")

    def draw(fig, axes):
        import numpy as np

        ax = axes[0]
        y = np.arange(len(rows))
        h = 0.38
        host = [a["host_ms"] or 0 for a in rows]
        dev = [a["device_ms"] or 0 for a in rows]
        ax.barh(y - h / 2, host, h, color=MEASURED, label="measured on this host (p50, batch 1)")
        err = [a["device_ms"] * a["device_error"] if a["device_ms"] and a["device_error"] else 0 for a in rows]
        ax.barh(y + h / 2, dev, h, color=ESTIMATED, hatch="///", edgecolor=FG, linewidth=0.4, xerr=err,
                error_kw={"ecolor": FG, "elinewidth": 0.8, "capsize": 2}, label=f"estimated on {device} (± typical error)")  # fmt: skip
        for i, a in enumerate(rows):
            if a["host_ms"]:
                ax.annotate(f"{fmt_ms(a['host_ms'])} {a['host_variant']}", (a["host_ms"], i - h / 2), xytext=(3, 0),
                            textcoords="offset points", va="center", fontsize=7.5)  # fmt: skip
            if a["device_ms"]:
                ax.annotate(f"≈{fmt_ms(a['device_ms'])}", (a["device_ms"] + err[i], i + h / 2), xytext=(3, 0),
                            textcoords="offset points", va="center", fontsize=7.5)  # fmt: skip
        values = [v for v in host + dev if v > 0]
        ax.set_xscale("log")
        ax.set_xlim(min(values) / 3, max(values) * 30)
        ax.set_yticks(y, [a["key"] for a in rows])
        ax.invert_yaxis()
        ax.set_xlabel("latency per inference (ms, log scale)")
        ax.grid(True, axis="x")
        ax.legend(loc="upper right", fontsize=8)
        ax.set_title("latency per artifact: measured vs estimated")

    return render("latency", "latency per artifact, measured on the host and estimated on the device", draw,
                  _height(2 * len(rows), 1.6))  # fmt: skip


def memory(view: dict) -> str | None:
    """RAM and flash needs per artifact against the device's budget."""
    rows = view["memory"]
    if not rows or not view.get("device"):
        return None
    dev = view["device"]

    def draw(fig, axes):
        for ax, key, cap_key, what in ((axes[0], "ram_bytes", "sram_bytes", "RAM"),
                                       (axes[1], "flash_bytes", "flash_capacity_bytes", "flash")):  # fmt: skip
            cap = rows[0][cap_key]
            vals = [m[key] for m in rows]
            colors = [OVER if v > cap else MEASURED for v in vals]
            ax.barh(range(len(rows)), [v / 1024 for v in vals], 0.6, color=colors)
            ax.axvline(cap / 1024, color=OVER, linestyle="--", linewidth=1.2)
            ax.annotate(f"budget {fmt_bytes(cap)}", (cap / 1024, 1.0), xycoords=("data", "axes fraction"),
                        ha="right", va="bottom", fontsize=8, xytext=(-2, 2), textcoords="offset points")  # fmt: skip
            for i, v in enumerate(vals):
                ax.annotate(f"{fmt_bytes(v)} ({100 * v / cap:.1f}%)", (v / 1024, i), xytext=(3, 0),
                            textcoords="offset points", va="center", fontsize=7.5)  # fmt: skip
            ax.set_xlim(0, max(cap, max(vals)) / 1024 * 1.12)
            ax.set_yticks(range(len(rows)), [m["artifact"] for m in rows] if what == "RAM" else [""] * len(rows))
            ax.invert_yaxis()
            ax.set_xlabel(f"{what} (KiB)")
            ax.grid(True, axis="x")
            ax.set_title(f"{what} vs {dev['name']}", pad=14)

    return render("memory", f"RAM and flash per artifact against the budget of {dev['name']}", draw,
                  _height(len(rows), 1.4), ncols=2)  # fmt: skip


def layer_error(view: dict, key: str, shown: int = 10) -> str | None:
    """Per-layer quantization error (median per-channel relative RMSE) of one int8 artifact."""
    rows = (view["layers"].get(key) or {}).get("worst", [])[:shown]
    if not rows:
        return None

    def draw(fig, axes):
        ax = axes[0]
        vals = [max(r["channel_error"], 1e-9) for r in rows]
        ax.barh(range(len(rows)), vals, 0.6, color=ESTIMATED)
        for i, v in enumerate(vals):
            ax.annotate(f"{rows[i]['channel_error']:.3g}", (v, i), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=7.5)  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlim(min(vals) / 3, max(vals) * 20)
        ax.set_yticks(range(len(rows)), [_short(r["layer"]) for r in rows])
        ax.invert_yaxis()
        ax.set_xlabel("median per-channel relative RMSE vs float (log scale, lower is better)")
        ax.grid(True, axis="x")
        ax.set_title(f"{key}: quantization error added by each layer")

    return render(f"layers-{key}", f"per-layer quantization error of {key}", draw, _height(len(rows)))


def macs_per_layer(view: dict, shown: int = 30) -> str | None:
    """MACs of every op of the reference graph, in graph order (the largest ``shown`` if more)."""
    per_op = view.get("per_op")
    if not per_op or not per_op["ops"]:
        return None
    ops = per_op["ops"]
    if len(ops) > shown:
        keep = sorted(sorted(ops, key=lambda o: (-o["macs"], o["index"]))[:shown], key=lambda o: o["index"])
    else:
        keep = ops
    total = per_op["total"] or 1

    def draw(fig, axes):
        from matplotlib.ticker import EngFormatter

        ax = axes[0]
        vals = [o["macs"] for o in keep]
        ax.barh(range(len(keep)), vals, 0.6, color=MEASURED)
        for i, v in enumerate(vals):
            ax.annotate(f"{v:,} ({100 * v / total:.1f}%)" if v else "0", (v, i), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=7.5)  # fmt: skip
        ax.set_xlim(0, max(max(vals), 1) * 1.3)
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
        ax.set_yticks(range(len(keep)), [f"{o['index']} {o['op']} {_short(o['name'], 28)}" for o in keep])
        ax.invert_yaxis()
        ax.set_xlabel("multiply-accumulates per inference (MACs)")
        ax.grid(True, axis="x")
        title = f"MACs per layer ({per_op['artifact']}, {total:,} in all)"
        ax.set_title(title if len(keep) == len(ops) else f"{title}; the {shown} largest of {len(ops)} ops")

    return render("macs", f"MACs per layer of {per_op['artifact']}", draw, _height(len(keep)))




def all_charts(view: dict) -> dict:
    """Chart id -> SVG (None where the build has no data for it)."""
    charts = {
        "accuracy": accuracy_vs_size(view),
        "latency": latency(view),
        "memory": memory(view),
        "macs": macs_per_layer(view),
    }
    for key in sorted(view["layers"]):
        charts[f"layers:{key}"] = layer_error(view, key)
    return charts


def _color(target: str) -> str:
    """The colour a format declares for its artifacts (a build from another edgekit may name others)."""
    from targets.registry import formats

    fmt = formats().get(target)
    return fmt.color if fmt is not None else MEASURED
