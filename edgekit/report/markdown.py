"""report.md: the same artifact table, warnings and commands, for a pull-request comment."""

from __future__ import annotations

from edgekit.report.html import gate_summary
from edgekit.report.table import artifact_table


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(view: dict) -> str:
    lines = [f"### {view['title']}", ""]
    m = view["model"]
    lines.append(f"{m['kind']} model `{m['path']}` → build `{view['build_dir']}`")
    ev = view.get("evaluation")
    if ev:
        line = f"validated on {ev['data']}, task {ev['task']}"
        if ev["float"] is not None:
            line += f"; float model {view['headline_label']} {100 * ev['float']:.2f}%"
        if gate_summary(view):
            line += f"; **{gate_summary(view)}**"
        lines.append("")
        lines.append(line)
    if view.get("device"):
        d = view["device"]
        lines += ["", f"device: {d['name']} ({d['core']} @ {d['clock_mhz']:g} MHz, {d['sram_kb']:g} KiB SRAM, "
                      f"{d['flash_kb']:g} KiB flash)"]  # fmt: skip
    if view["warnings"]:
        lines += ["", "**Warnings**", ""] + [f"- ⚠️ {w}" for w in view["warnings"]]
    head, rows = artifact_table(view)
    lines += ["", "| " + " | ".join(_cell(h) for h in head) + " |",
              "|" + "|".join(":---" if i < 2 else "---:" for i in range(len(head))) + "|"]  # fmt: skip
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    if view["notes"]:
        lines += [""] + [f"- {n}" for n in view["notes"]]
    lines += ["", "Reproduce:", "", "```sh", *view["commands"], "```", "",
              "Charts (accuracy vs size, latency, RAM/flash, MACs and per-layer error) are in `report.html`."]  # fmt: skip
    return "\n".join(lines) + "\n"
