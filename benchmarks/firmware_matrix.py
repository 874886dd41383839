"""The firmware matrix of issue 15, measured: each model of tests/firmware_matrix.py built for
each (board, kernel library), run under QEMU on N samples and compared with the TFLM interpreter.
Prints a markdown table (docs/firmware.md) and writes every record to a JSON file.

    python benchmarks/firmware_matrix.py [--models kws,ad] [--samples 10] [--measure] [--json out.json] [--work DIR]

``--measure`` adds the stack high-water mark and the exact 32-bit arena (bisected under QEMU,
about ten more runs per build) and prints one table per model: flash (model / runtime /
kernels / the rest), RAM (exact arena / stack / other static data) and instructions per
inference, for each board and kernel library.

Set EDGEKIT_TFLM_OBJECTS to reuse (or, empty, to time) an object cache.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.firmware_matrix import CASES, CONFIGS, model_bytes, run_case  # noqa: E402


def table(records: list[dict]) -> str:
    head = ("| model | board | kernels | flash | without the model | static RAM | arena used (32-bit) | "
            "QEMU, samples | vs TFLM interpreter |\n|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    rows = []
    for r in records:
        if "error" in r:
            rows.append(f"| {r['model']} | {r['board']} | {r['kernels']} | {r['error']} |||||")
            continue
        agree = ("identical" if not r["values_differing"] else
                 f"{r['values_differing']} of {r['values']} values differ, at most {r['max_quanta']} quanta")  # fmt: skip
        rows.append(f"| {r['model']} | {r['board']} | {r['kernels']} | {r['flash']:,} | {r['flash_without_model']:,} | "
                    f"{r['ram_static']:,} | {r['arena_used']:,} | {r['qemu_seconds']} s, {r['samples']} | {agree} |")  # fmt: skip
    return "\n".join([head, *rows])


def _n(v) -> str:
    return "–" if v is None else f"{v:,}"


def model_tables(records: list[dict]) -> str:
    """One markdown table per model: flash, RAM and instructions per (board, kernels)."""
    out = []
    for model in dict.fromkeys(r["model"] for r in records):
        rows = [r for r in records if r["model"] == model and "error" not in r]
        if not rows:
            continue
        out += [f"**{model}**", "",
                "| board, kernels | flash | model / runtime / kernels / rest | RAM | arena (32-bit, exact) / stack / static | instructions |",
                "|---|---|---|---|---|---|"]  # fmt: skip
        for r in rows:
            parts = r["flash_parts"]
            rest = r["flash"] - sum(parts.get(k, 0) for k in ("model", "runtime", "kernels"))
            ram = [r.get("arena_32bit"), r.get("stack_high_water"), r.get("static_other")]
            total = sum(ram) if None not in ram else None
            out.append(f"| {r['board']}, {r['kernels']} | {r['flash']:,} | {_n(parts.get('model'))} / {_n(parts.get('runtime'))} / "
                       f"{_n(parts.get('kernels'))} / {rest:,} | {_n(total)} | {' / '.join(map(_n, ram))} | {_n(r['instructions'])} |")  # fmt: skip
        out.append("")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--models", default=",".join(CASES))
    p.add_argument("--configs", default=",".join(f"{b}/{k}" for b, k in CONFIGS))
    p.add_argument("--samples", type=int, default=10)
    p.add_argument("--measure", action="store_true", help="also the stack and the exact arena (bisection)")
    p.add_argument("--json", type=Path)
    p.add_argument("--work", type=Path)
    args = p.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="edgekit-fwmatrix-"))
    records = []
    for name in args.models.split(","):
        case = CASES[name]
        data = model_bytes(case, work)
        for config in args.configs.split(","):
            board, kernels = config.split("/")
            try:
                rec = run_case(case, data, board, kernels, work, args.samples, measure=args.measure)
            except Exception as e:  # noqa: BLE001 - a failing build is a row of the table
                rec = {"model": name, "board": board, "kernels": kernels, "error": f"{type(e).__name__}: {e}"[:300]}
            print(json.dumps(rec), flush=True)
            records.append(rec)
            if args.json:
                args.json.write_text(json.dumps(records, indent=1) + "\n")
    print(table(records))
    if args.measure:
        print(model_tables(records))


if __name__ == "__main__":
    main()
