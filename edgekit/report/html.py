"""report.html: one self-contained page (inline CSS and SVG, no scripts, fonts or fetches;
a Content-Security-Policy forbids any), light and dark themes from the reader's settings."""

from __future__ import annotations

from edgekit.fmt import fmt_ms
import edgekit.report.charts as ch
from edgekit.report.table import artifact_table


def gate_summary(view: dict) -> str:
    gates = [g for g in (view.get("evaluation") or {}).get("gates", []) if not g.get("note")]
    failed = sum(not g.get("passed", True) for g in gates)
    if not gates:
        return ""
    return f"all {len(gates)} gate checks passed" if not failed else f"{failed} of {len(gates)} gate checks failed"


def chart_panels(view: dict) -> list[dict]:
    """Every chart the page shows, with its caption, or why it is missing and how to get it."""
    out_dir = view["build_dir"]
    svgs = ch.all_charts(view)
    device = (view.get("device") or {}).get("name", "the device")
    label = view["headline_label"] or "accuracy"
    panels = [
        {"id": "accuracy", "title": "Accuracy vs size", "svg": svgs["accuracy"],
         "caption": f"{label} on the evaluation set against the bytes that go onto the device, one point per artifact; "
                    "dotted line: the float model.",
         "missing": f"not validated; run `edgekit validate {out_dir} --eval DATA`" if not view.get("evaluation") else
                    f"no accuracy metric for task {view['evaluation']['task']} (cosine is in the table)"},
        {"id": "latency", "title": "Latency", "svg": svgs["latency"],
         "caption": f"Solid bars: p50 measured on this host in each artifact's runtime (default variant, batch 1). "
                    f"Hatched bars: estimated on {device} by the calibrated per-op cost model; the error bar is its "
                    "typical (leave-one-model-out) error. Log scale: host and device differ by orders of magnitude.",
         "missing": f"no latency measured; run `edgekit simulate {out_dir} --device NAME`"},
        {"id": "memory", "title": "RAM and flash", "svg": svgs["memory"],
         "caption": f"RAM = TFLite Micro tensor arena for a 32-bit target (margin included), flash = model data; "
                    f"dashed line: the budget of {device}. Lower bounds: runtime code, stack and application "
                    "buffers are not counted.",
         "missing": f"no device chosen; run `edgekit simulate {out_dir} --device NAME`"},
        {"id": "macs", "title": "MACs per layer", "svg": svgs["macs"],
         "caption": "Multiply-accumulates of each op in graph order, read from the model file: where the compute is.",
         "missing": "no TFLite model in this build to count MACs from"},
    ]  # fmt: skip
    for key in sorted(view["layers"]):
        panels.append({
            "id": "layers-" + key.replace("/", "-"), "title": f"Per-layer error of {key}", "svg": svgs[f"layers:{key}"],
            "caption": "Each quantized op run on the same input as its float version (TensorFlow's QuantizationDebugger); "
                       "the error it adds, ranked by the median per-channel relative RMSE.",
            "missing": "no per-layer results",
        })  # fmt: skip
    return panels


def render_html(view: dict, version: str) -> str:
    from importlib import resources

    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: resources.files("edgekit.report").joinpath("templates", name).read_text()),
        autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
    )  # fmt: skip
    head, rows = artifact_table(view)
    page = env.get_template("report.html.j2").render(
        v=view, version=version, fmt_ms=fmt_ms, table_head=head, table_rows=rows, charts=chart_panels(view), gate_summary=gate_summary(view)
    )
    return "\n".join(line.rstrip() for line in page.splitlines()) + "\n"
