"""Rewrite the generated tables in docs/ from the code that defines them (``make docs``).

A generated table sits between two marker comments in a docs page::

    <!-- generated: tflm-ops -->
    | op | ... |
    <!-- end generated -->

``python tools/gen_docs.py`` rewrites every such block; ``--check`` only reports stale ones
(exit 1). tests/test_docs.py, tests/targets/tflm/test_ops.py and tests/simulate/test_latency_fit.py
compare the pages with ``table(name)``. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
END = "<!-- end generated -->"


def _begin(name: str) -> str:
    return f"<!-- generated: {name} -->"


def tflm_ops_table() -> str:
    from targets.tflm.ops import supported_ops_markdown

    return supported_ops_markdown()


def calibration_table() -> str:
    from edgekit.simulate.device_latency import coefficients
    from edgekit.simulate.latency_fit import calibration_markdown

    return calibration_markdown(coefficients())


def instruction_model_table() -> str:
    from edgekit.simulate.device_latency import coefficients
    from edgekit.simulate.icount_fit import markdown

    return markdown(coefficients())


def instruction_counts_table() -> str:
    from edgekit.simulate.icount_fit import counts_markdown, load_counts

    return counts_markdown(load_counts())


def _target_schemes(name: str) -> tuple[frozenset, dict]:
    """(schemes on every host, {scheme: the hosts that alone have it}), as the format declares."""
    from targets import get_format, get_target

    host_only = get_format(name).host_only
    return get_target(name).schemes - set(host_only), host_only


def schemes_table() -> str:
    """Schemes per target, from quantize.spec.SCHEMES and each target's declared schemes."""
    from quantize.spec import SCHEMES
    from targets import target_names

    names = target_names()
    declared = {n: _target_schemes(n) for n in names}
    head = ["scheme", *names, "calibrated", "`--io-dtype` (TFLite, TFLM; first is the default)", "what it does"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in SCHEMES.values():
        cells = [f"`{s.name}`"]
        for n in names:
            anywhere, macos_only = declared[n]
            cells.append("yes" if s.name in anywhere else macos_only.get(s.name, "-"))
        cells.append("yes" if s.needs_calibration else "-")
        cells.append(", ".join(s.io_dtypes) if s.needs_calibration else "-")
        cells.append(s.summary)
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def export_options_table() -> str:
    from edgekit.export_options import options_markdown

    return options_markdown()


def _table_options() -> dict:
    """"NAME-options" -> (docs/NAME.md, its [export.NAME] keys) for every format with a config table."""
    from functools import partial

    from edgekit.export_options import table_keys, table_markdown
    from targets import target_names

    return {f"{n}-options": (f"docs/{n}.md", partial(table_markdown, n)) for n in target_names() if table_keys(n)}


# name -> (page, generator)
GENERATED = {
    "tflm-ops": ("docs/tflm.md", tflm_ops_table),
    "calibration": ("docs/simulate.md", calibration_table),
    "instruction-model": ("docs/simulate.md", instruction_model_table),
    "instruction-counts": ("docs/firmware.md", instruction_counts_table),
    "schemes": ("docs/targets.md", schemes_table),
    "export-options": ("docs/export.md", export_options_table),
    **_table_options(),
}


def table(name: str) -> str:
    """The current text of generated table ``name``."""
    return GENERATED[name][1]()


def block(text: str, name: str) -> str | None:
    """The text between the markers of ``name`` in a page (None when the markers are missing)."""
    m = re.search(re.escape(_begin(name)) + r"\n(.*?)\n?" + re.escape(END), text, re.S)
    return None if m is None else m.group(1).rstrip("\n")


def page_block(name: str, root: Path = ROOT) -> str | None:
    return block((root / GENERATED[name][0]).read_text(), name)


def replace(text: str, name: str, body: str) -> str:
    if block(text, name) is None:
        raise ValueError(f"markers {_begin(name)} ... {END} missing")
    pattern = re.escape(_begin(name)) + r"\n.*?" + re.escape(END)
    return re.sub(pattern, lambda _: f"{_begin(name)}\n{body}\n{END}", text, count=1, flags=re.S)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python tools/gen_docs.py", description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="report stale tables, write nothing (exit 1 if any)")
    args = ap.parse_args(argv)
    stale = []
    for name, (page, make) in GENERATED.items():
        path = ROOT / page
        text = path.read_text()
        try:
            new = replace(text, name, make())
        except ValueError as e:
            print(f"error: {page}: {e}", file=sys.stderr)
            return 2
        if new != text:
            stale.append(f"{page} ({name})")
            if not args.check:
                path.write_text(new)
    if stale:
        print(("stale: " if args.check else "rewrote: ") + ", ".join(stale))
        return 1 if args.check else 0
    print("docs tables are current")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
