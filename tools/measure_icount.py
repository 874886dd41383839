"""Measure the instructions per inference of the MLPerf Tiny int8 models on the emulated
Cortex-M boards (QEMU ``-icount shift=0``), per kernel library, and store them with their
provenance in edgekit/simulate/cost_model/instruction_counts.json (the latency model's
instruction-count feature reads them; ``make calibrate`` refits from them).

    python -m tools.measure_icount [--models ../shared/models] [--only mps2-an386:reference ...]

Each (board, kernels) is a firmware build (~2-5 min cold per library; objects cached in
~/.cache/edgekit/tflm-objects); the reference kernels take seconds per inference under QEMU.
Results of configurations not measured this time are kept from the file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "edgekit" / "simulate" / "cost_model" / "instruction_counts.json"
# The emulated cores the calibration boards have: the M4 with both libraries, the others with CMSIS-NN.
CONFIGS = ("mps2-an386:reference", "mps2-an386:cmsis-nn", "mps2-an500:cmsis-nn", "mps2-an505:cmsis-nn",
           "mps3-an547:cmsis-nn")  # fmt: skip
SEED = 0
MARGIN = 65536


def _samples(graph) -> list[list[np.ndarray]]:
    """Two samples: seeded uniform values of each input's stored type, then zeros."""
    rng = np.random.default_rng(SEED)
    rand, zeros = [], []
    for t in graph.inputs:
        info = np.iinfo(t.dtype)
        rand.append(rng.integers(info.min, info.max + 1, size=(1, *t.shape[1:]), dtype=t.dtype))
        zeros.append(np.zeros((1, *t.shape[1:]), t.dtype))
    return [np.concatenate([r, z]) for r, z in zip(rand, zeros)]


def _by_op(ops) -> dict[str, int]:
    out: dict[str, int] = {}
    for o in ops:
        if o.depth == 0:
            out[o.op] = out.get(o.op, 0) + o.instructions
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def measure(model: Path, board: str, kernels: str, work: Path) -> dict:
    from edgekit.tflite_graph import TFLiteGraph
    from targets.c_names import model_c_name
    from targets.tflm.firmware import project_for
    from targets.tflm.fwbuild import build
    from targets.tflm.qemu_runner import QemuRunner

    data = model.read_bytes()
    name = model_c_name(model.stem, explicit=False)
    # The host-measured arena can be short of CMSIS-NN's scratch buffers on the M55 (KWS: 1,688 B):
    # headroom, which changes no count.
    project = project_for(data, name=name, model_name=model.name, board=board, kernels=kernels, arena_margin=MARGIN)
    work.mkdir(parents=True, exist_ok=True)
    for fname, text in project.files.items():
        (work / fname).write_text(text)
    sizes = build(work)
    runner = QemuRunner(board=board, kernels=kernels, timeout=1800.0)
    runner.load_project(work)
    runner.run_raw(_samples(TFLiteGraph(data, model.name)))
    counts = runner.counts
    return {"instructions": counts.per_sample[0], "instructions_zero_input": counts.per_sample[1],
            "ops_total": counts.ops_total, "by_op": _by_op(counts.ops),
            "ops": [[o.op, o.instructions] for o in counts.ops if o.depth == 0], "arena_used": runner.arena_used,
            "flash": sizes["flash"], "resolution": counts.resolution}  # fmt: skip


def provenance() -> dict:
    from targets.tflm.firmware import default_tflm_root
    from targets.tflm.fwbuild import compiler_version, tree_digest

    qemu = subprocess.run(["qemu-system-arm", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    trees = {k: tree_digest(default_tflm_root(k))[:16] for k in ("reference", "cmsis-nn")}
    return {
        "how": "QEMU -icount shift=0 (1 ns of emulated time per instruction); SysTick on the core clock read "
               "around MicroInterpreter::Invoke (resolution: 1e9/sysclk instructions per tick); per op via TFLM's "
               "MicroProfilerInterface hooks. Input: seeded uniform int8 (seed 0); zero input alongside.",
        "qemu": qemu, "compiler": compiler_version(),
        "tflm": "../shared/tflm (TFLM 90b983c2, CMSIS-NN 4ab83cc3; see its PROVENANCE.md)", "tree_sha256_16": trees,
        "flags": "TFLM cortex_m_generic: runtime -Os, kernels -O2, -DTF_LITE_STATIC_MEMORY (targets/tflm/boards.py)",
        "command": "python -m tools.measure_icount", "date": datetime.date.today().isoformat(),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    from edgekit.simulate.latency_fit import load_published
    from targets.tflm.boards import get_board

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=str(REPO.parent / "shared" / "models"))
    ap.add_argument("--only", nargs="*", default=list(CONFIGS), help="BOARD:KERNELS configurations")
    ap.add_argument("--work", default=str(REPO / "build" / "icount"))
    args = ap.parse_args(argv)
    models = load_published()["models"]
    old = json.loads(OUT.read_text()) if OUT.is_file() else {}
    counts = old.get("counts", {})
    for config in args.only:
        board, kernels = config.split(":")
        core = get_board(board).core.split()[0].removesuffix("F")
        for key, rel in models.items():
            row = measure(Path(args.models) / rel, board, kernels, Path(args.work) / f"{key}-{board}-{kernels}")
            counts.setdefault(key, {}).setdefault(core, {})[kernels] = {"board": board, **row}
            print(f"{key} {board} {kernels}: {row['instructions']:,} instructions", flush=True)
            OUT.write_text(json.dumps({"provenance": provenance(), "counts": counts}, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
