"""Build a generated firmware project with arm-none-eabi-gcc and measure the linked ELF.

TFLM's objects are cached per (TFLM tree contents, compiler flags, compiler version) in
``~/.cache/edgekit/tflm-objects/<key>/`` (``EDGEKIT_TFLM_OBJECTS`` overrides the parent
folder), so a second model, build or test compiles only its own sources. The project's
Makefile writes each object to a temporary name and renames it, so concurrent builds
sharing the cache never see a half-written object.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from pathlib import Path

from edgekit.errors import ModelFileError, ToolchainError
from edgekit.files import read_bounded
from targets.tflm.boards import flags_for, get_board
from targets.tflm.firmware import read_project
from targets.tflm.fwsize import components
from targets.tflm.toolchain import cache_lock, cache_root, require_tools

SIZES = "size.json"  # in the project's build/ folder
BUILD_TIMEOUT = 3600.0  # seconds: a cold build compiles ~50 TFLM files


def tree_digest(root: Path) -> str:
    """sha256 over the paths and contents of every file of a TFLM tree."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def compiler_version(cross: str = "arm-none-eabi-") -> str:
    out = subprocess.run([f"{cross}g++", "--version"], capture_output=True, text=True, timeout=60)
    return out.stdout.splitlines()[0] if out.stdout else "unknown"


def object_key(root: Path, flags, compiler: str) -> str:
    h = hashlib.sha256("\n\0".join([tree_digest(root), flags.key_text(), compiler]).encode())
    return h.hexdigest()[:24]


def elf_sizes(elf: Path, model_symbol: str) -> dict:
    """Flash (text incl. rodata + data) and static RAM (data + bss) of the linked ELF, and the
    model array's share of the flash."""
    out = subprocess.run(["arm-none-eabi-size", "-B", "-d", str(elf)], capture_output=True, text=True, timeout=60)
    text, data, bss = (int(x) for x in out.stdout.splitlines()[1].split()[:3])
    syms = subprocess.run(["arm-none-eabi-nm", "-S", "-t", "d", str(elf)], capture_output=True, text=True, timeout=60)
    model = next((int(m.group(1)) for m in re.finditer(rf"^\d+ (\d+) [tTrRdD] {re.escape(model_symbol)}$", syms.stdout, re.M)), 0)
    return {"text": text, "data": data, "bss": bss, "flash": text + data, "ram_static": data + bss,
            "model_data": model, "flash_without_model": text + data - model}  # fmt: skip


def build(project: Path, jobs: int = 2, out: str = "build", arena_size: int | None = None) -> dict:
    """``make`` the project (TFLM objects from the cache) into ``out``; the measurements, also
    written to ``OUT/size.json``. ``arena_size`` compiles a tensor arena of that many bytes
    instead of NAME_ARENA_SIZE (the arena bisection's build)."""
    require_tools("arm-none-eabi-gcc", "arm-none-eabi-g++", "arm-none-eabi-size", "arm-none-eabi-nm", "make")
    project = Path(project)
    rec = read_project(project)
    root = Path(rec["tflm_root"])
    flags = flags_for(get_board(rec["board"]), rec["kernels"])
    compiler = compiler_version()
    key = object_key(root, flags, compiler)
    objects = cache_root() / key
    cmd = ["make", "-C", str(project), f"-j{jobs}", f"TFLM_OBJ_DIR={objects}", f"OUT={out}"]
    if arena_size is not None:  # main.cc's EDGEKIT_ARENA_SIZE; APP_OPT is what only the app's objects get
        cmd.append(f"APP_OPT={flags.app_opt} -DEDGEKIT_ARENA_SIZE={int(arena_size)}")
    with cache_lock(objects):
        before = set(objects.rglob("*.o")) if objects.is_dir() else set()
        start = time.perf_counter()
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise ToolchainError(f"{project}: the firmware build took more than {BUILD_TIMEOUT:.0f} s") from None
        seconds = time.perf_counter() - start
        compiled = len(set(objects.rglob("*.o")) - before)
    if done.returncode != 0:
        errors = [ln for ln in done.stderr.splitlines() if "error" in ln.lower()] or done.stderr.splitlines()[-3:]
        raise ToolchainError(f"{project}: the firmware build failed: {' | '.join(errors[:3])[:600]}")
    elf = project / out / "fw.elf"
    board = get_board(rec["board"])
    record = {
        "elf": f"{out}/fw.elf", "board": rec["board"], "core": board.core, "kernels": rec["kernels"],
        "compiler": compiler, "object_cache": str(objects), "tflm_objects_compiled": compiled,
        "build_seconds": round(seconds, 1), "arena_size": arena_size or rec["arena_size"], "stack_size": rec["stack_size"],
        **elf_sizes(elf, f"{rec['name']}_model_data"),
    }  # fmt: skip
    parts = components((project / out / "fw.map").read_text(errors="replace"), name=rec["name"], objects=str(objects),
                       flash=(board.flash_origin, board.flash_size), ram=(board.ram_origin, board.ram_size),
                       rodata=board.rodata)  # fmt: skip
    if parts["flash_total"] != record["flash"]:  # the map and the ELF disagree: say so rather than guess
        parts["flash"].setdefault("padding", {})["not in the map"] = record["flash"] - parts["flash_total"]
    record["components"] = {"flash": parts["flash"], "ram": parts["ram"]}
    write_sizes(project, record, out)
    return record


def write_sizes(project: Path, record: dict, out: str = "build") -> None:
    (Path(project) / out / SIZES).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def read_sizes(project: Path, out: str = "build") -> dict | None:
    """``OUT/size.json`` of a built project, or None."""
    path = Path(project) / out / SIZES
    try:
        return json.loads(read_bounded(path, SIZES, error=ModelFileError))
    except FileNotFoundError:
        return None
    except ValueError as e:
        raise ModelFileError(f"{path}: unreadable ({e}); rebuild the firmware") from e
