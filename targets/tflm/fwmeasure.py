"""RAM a built firmware really uses, measured on the emulated core: the stack high-water mark
(startup.c paints the stack at reset and reads the untouched part after main), the heap
newlib took, and the exact 32-bit tensor arena, found by bisection.

The bisection builds the project once more with a larger arena (``build-arena/``, the
TFLM objects come from the cache) and runs it under QEMU with the arena size to use in
``edgekit_arena.txt``: AllocateTensors and one Invoke of the compiled-in sample at each
candidate (multiples of 16, TFLM's alignment), until the smallest size that works is found
and 16 B less is seen to fail. CMSIS-NN asks for scratch buffers the reference kernels do
not, so the figure is per kernel library (and per core: CMSIS-NN's buffers depend on it).
"""

from __future__ import annotations

import re
from pathlib import Path

from edgekit.errors import UnsupportedError
from targets.tflm.boards import get_board
from targets.tflm.firmware import ARENA_FILE, read_project
from targets.tflm.fwbuild import build, read_sizes, write_sizes
from targets.tflm.toolchain import require_tools
from targets.tflm.qemu_runner import QEMU, FirmwareRunError, run_elf

RUN_TIMEOUT = 600.0  # seconds without output in one QEMU run of one sample (reference kernels on VWW take ~10 s)
ARENA_BUILD = "build-arena"
_ALIGN = 16


def _run(elf: Path, board, arena: int | None) -> tuple[bool, str]:
    """(AllocateTensors and one Invoke worked, stdout) with ``arena`` bytes (None: all of it)."""
    files = {} if arena is None else {ARENA_FILE: f"{arena}\n".encode()}
    try:
        return True, run_elf(elf, board, files, RUN_TIMEOUT)
    except FirmwareRunError as e:
        if "AllocateTensors failed" not in e.output:
            raise
        return False, e.output


def _number(text: str, key: str, group: int = 1) -> int | None:
    m = re.search(rf"^edgekit-fw {key} (\d+)(?: (\d+))?$", text, re.M)
    return int(m.group(group)) if m and m.group(group) else None


def run_memory(project: Path) -> dict:
    """Stack high-water mark, heap, arena used and instructions (per inference and per op) of
    one run of the compiled-in sample."""
    from targets.tflm.icount import parse_counts

    require_tools(QEMU)
    project = Path(project)
    board = get_board(read_project(project)["board"])
    ok, text = _run(project / "build" / "fw.elf", board, None)
    if not ok:
        raise UnsupportedError(f"{project}: the firmware's arena is too small to run the model")
    counts = parse_counts(text, board.instructions_per_tick)
    return {"stack_used": _number(text, "stack"), "stack_size": _number(text, "stack", 2),
            "heap_used": _number(text, "heap"), "arena_used": _number(text, "arena"),
            "instructions": counts.per_inference, "instructions_per_op": [o.as_dict() for o in counts.ops]}  # fmt: skip


def ram_record(sizes: dict, run: dict) -> dict:
    """RAM of the build: the arena array, the other static data (.data + .bss), the stack's
    high-water mark and the heap newlib took; their total."""
    arena = sum(sizes["components"]["ram"].get("arena", {}).values())
    return {"arena": arena, "static_other": sizes["ram_static"] - arena, "stack_high_water": run["stack_used"],
            "heap": run["heap_used"], "total": sizes["ram_static"] + run["stack_used"] + run["heap_used"]}  # fmt: skip


def measure_run(project: Path) -> dict:
    """Run the built project once; its stack/heap/arena use added to ``build/size.json``."""
    sizes = read_sizes(project)
    if sizes is None:
        raise UnsupportedError(f"{project}: not built yet (no build/size.json); build it first")
    run = run_memory(project)
    sizes["run"] = run
    sizes["ram"] = ram_record(sizes, run)
    write_sizes(project, sizes)
    return sizes


def bisect_arena(project: Path, jobs: int = 2) -> dict:
    """The smallest arena (a multiple of 16) with which AllocateTensors and one Invoke work on
    the project's board and kernel library, and the proof that 16 B less fails."""
    require_tools(QEMU)
    project = Path(project)
    rec = read_project(project)
    board = get_board(rec["board"])
    big = min(4 * rec["arena_size"] + 65536, board.ram_size // 2) // _ALIGN * _ALIGN
    build(project, jobs=jobs, out=ARENA_BUILD, arena_size=big)
    elf = project / ARENA_BUILD / "fw.elf"
    tried: list[int | None] = []

    def works(arena: int | None) -> bool:
        tried.append(arena)
        return _run(elf, board, arena)[0]

    ok, text = _run(elf, board, None)
    if not ok:
        raise UnsupportedError(f"{project}: the model does not allocate even in a {big:,}-byte arena")
    used = _number(text, "arena") or big
    hi = min(big, -(-used // _ALIGN) * _ALIGN)  # arena_used rounded up: usually the answer
    while not works(hi):  # arena_used_bytes() is not always enough (temporary allocations)
        hi = min(big, hi + max(_ALIGN, (big - hi) // 4 // _ALIGN * _ALIGN))
    lo = max(0, hi - 1024)  # below the answer once it fails
    while lo > 0 and works(lo):
        hi, lo = lo, max(0, lo - 4096)
    while hi - lo > _ALIGN:  # hi works, lo fails
        mid = (lo + hi) // 2 // _ALIGN * _ALIGN
        hi, lo = (mid, lo) if works(mid) else (hi, mid)
    if hi - _ALIGN not in tried and works(hi - _ALIGN):
        raise UnsupportedError(f"{project}: the arena bisection is not monotonic ({hi - _ALIGN} B works after failing)")
    return {"arena_32bit": hi, "fails_at": hi - _ALIGN, "arena_used_reported": used, "board": board.name,
            "core": board.core, "kernels": rec["kernels"], "qemu_runs": len(tried) + 1, "build_arena": big}  # fmt: skip


def measure_project(project: Path, *, arena: bool = False, jobs: int = 2) -> dict:
    """After ``build``: one QEMU run for the stack/heap (when QEMU is installed) and, with
    ``arena``, the arena bisection; all of it in ``build/size.json``, which is returned."""
    import shutil

    if shutil.which(QEMU) is None:
        if arena:
            require_tools(QEMU)
        sizes = read_sizes(project)
        sizes["ram_note"] = f"stack and heap not measured: {QEMU} is not installed"
        write_sizes(project, sizes)
        return sizes
    sizes = measure_run(project)
    if arena:
        sizes["arena_32bit"] = bisect_arena(project, jobs=jobs)
        write_sizes(project, sizes)
    return sizes


def arena_note(bisected: dict) -> tuple[int, str]:
    """(bytes, where) of a bisection, for NAME_ARENA_SIZE_32BIT."""
    return bisected["arena_32bit"], f"{bisected['board']} ({bisected['core']}), {bisected['kernels']} kernels"


def keep_measurement(artifact, record: dict) -> Path | None:
    """Keep what ``validate --on`` measured of ``artifact`` (a device runner's ``measurement()``)
    beside it, for ``simulate --device`` and the report (the Format hook ``keep_measurement``)."""
    sha = artifact.runner_metadata.tflite_sha256
    return record_for_artifact(artifact.directory, record, sha) if sha else None


def record_for_artifact(artifact_dir: Path, sizes: dict, tflite_sha256: str) -> Path:
    """Keep a firmware build's measurements beside the tflm artifact it was made from, where
    ``simulate --device`` and the report find them (targets/tflm/memory.py device_measurement)."""
    import json

    from targets.tflm.memory import measurement_path

    keep = {k: sizes[k] for k in ("board", "core", "kernels", "compiler", "flash", "ram_static", "model_data",
                                  "components", "ram", "run", "arena_32bit") if k in sizes}  # fmt: skip
    keep["tflite_sha256"] = tflite_sha256  # the model the firmware holds: a re-export makes the record stale
    path = measurement_path(artifact_dir, sizes["board"], sizes["kernels"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keep, indent=2, sort_keys=True) + "\n")
    return path
