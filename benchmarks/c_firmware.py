"""The standalone C against the TFLM firmware on the emulated Cortex-M4 (issue 17): per model,
flash (model + runtime + kernels), RAM (arena + static + stack high-water mark) and executed
instructions per inference of TFLM with the reference kernels, TFLM with CMSIS-NN, the C with
the portable kernels and the C with CMSIS-NN (when the generator has that back-end), with the
C's ratios to the TFLM build of the same kernels; every C output checked against the Python
TFLM interpreter. What is measured how: tests/c_firmware.py.

    python benchmarks/c_firmware.py [--models digits,kws] [--samples 3] [--json out.json] [--work DIR] [--no-bisect]
                                    [--tflm-from earlier.json]

Set EDGEKIT_TFLM_OBJECTS to reuse an object cache (the default one is shared and safe).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.c_firmware import CASES, CONFIGS, model_bytes, run_model, summary, table  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--models", default=",".join(CASES))
    p.add_argument("--configs", default=",".join(f"{f}/{k}" for f, k in CONFIGS))
    p.add_argument("--samples", type=int, default=3)
    p.add_argument("--json", type=Path)
    p.add_argument("--work", type=Path)
    p.add_argument("--no-bisect", action="store_true", help="TFLM's arena as it reports it, not bisected (faster)")
    p.add_argument("--tflm-from", type=Path, help="the TFLM records of an earlier run's --json (same models, samples)")
    args = p.parse_args()
    earlier = {}
    if args.tflm_from:
        for m in json.loads(args.tflm_from.read_text())["models"]:
            earlier[m["model"]] = {k: r for k, r in m["configs"].items() if k.startswith("tflm ") and m["samples"] == args.samples}
    work = args.work or Path(tempfile.mkdtemp(prefix="edgekit-cfw-"))
    configs = tuple(tuple(c.split("/")) for c in args.configs.split(","))
    models = []
    for name in args.models.split(","):
        case = CASES[name]
        try:
            rec = run_model(case, model_bytes(case, work), work, args.samples, configs, bisect=not args.no_bisect,
                            known=earlier.get(name))  # fmt: skip
        except Exception as e:  # noqa: BLE001 - a failing model is a row of the table
            rec = {"model": name, "configs": {"all": {"config": "all", "error": f"{type(e).__name__}: {e}"[:300]}}}
        print(json.dumps(rec), flush=True)
        models.append(rec)
        if args.json:
            args.json.write_text(json.dumps({"models": models, "summary": summary(models)}, indent=1) + "\n")
    print(table(models))
    for key, s in summary(models).items():
        print(f"{key} / TFLM with the same kernels: " + "; ".join(
            f"{q} median {v['median']:.2f}x, worst {v['max']:.2f}x" for q, v in s.items()))


if __name__ == "__main__":
    main()
