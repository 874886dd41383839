"""Flash and RAM of a linked firmware, per component, from the GNU linker's map file.

Every input section the map places in an allocated output section is charged to the object
it came from, and objects are known by name: the model array's object, the application
(main, start-up, sample), TFLM's runtime core, each kernel (its file and ``_common.cc``),
CMSIS-NN's library, and the C/C++ libraries by archive (libc, libm, libstdc++, libgcc,
librdimon). Alignment fill goes to ``padding``, so the components add up to the output
sections' sizes exactly.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

# Output sections that take no memory on the device (the map lists them too).
_NOT_LOADED = re.compile(r"^\.(debug|comment|ARM\.attributes|stab|gnu\.attributes|note)")
_OUTPUT = re.compile(r"^(\.[\w.]+|[\w.]+)(?:\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)(?:\s+load address 0x([0-9a-f]+))?)?\s*$")
_INPUT = re.compile(r"^ (\S+)(?:\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)(?:\s+(\S.*))?)?\s*$")
_CONTINUED = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)(?:\s+load address 0x([0-9a-f]+))?(?:\s+(\S.*))?\s*$")
# Sections our board.ld places with NOLOAD: the map shows a load address for them all the same.
_NOBITS = re.compile(r"^\.(bss|noinit|tbss|heap|stack)")
_LIBS = {"libc": "libc", "libc_nano": "libc", "libg": "libc", "libg_nano": "libc", "libm": "libm",
         "libstdc++": "libstdc++", "libstdc++_nano": "libstdc++", "libsupc++": "libstdc++", "libsupc++_nano": "libstdc++",
         "libgcc": "libgcc", "librdimon": "librdimon (semihosting)", "librdimon_nano": "librdimon (semihosting)"}  # fmt: skip
_KERNELS = "tensorflow/lite/micro/kernels/"


def parse_map(text: str) -> tuple[list[dict], list[dict]]:
    """(output sections: name, address, size, load address; input sections: output section,
    name, size, file ("*fill*" for alignment fill)) of the map's memory map part. A long
    section name stands alone on its line, its numbers on the next."""
    start = text.find("Linker script and memory map")
    lines = text[start:].splitlines()[1:] if start >= 0 else []
    outputs, inputs = [], []
    current = None  # the output section the input lines belong to
    pending = None  # ("output" | "input", name) whose numbers are on the next line
    for line in lines:
        if not line.strip():
            continue
        if pending is not None:
            kind, name = pending
            pending = None
            m = _CONTINUED.match(line)
            if m is not None:
                if kind == "output":
                    current = {"name": name, "address": int(m.group(1), 16), "size": int(m.group(2), 16),
                               "load": int(m.group(3), 16) if m.group(3) else None}  # fmt: skip
                    outputs.append(current)
                elif current is not None and m.group(4):
                    inputs.append({"output": current["name"], "name": name, "address": int(m.group(1), 16),
                                   "size": int(m.group(2), 16), "file": m.group(4).strip()})  # fmt: skip
                continue
            if kind == "output":
                current = {"name": name, "address": 0, "size": 0, "load": None}
                outputs.append(current)
        if not line[0].isspace():
            m = _OUTPUT.match(line)
            if m is None:
                current = None
            elif m.group(2) is None:
                pending = ("output", m.group(1))
            else:
                current = {"name": m.group(1), "address": int(m.group(2), 16), "size": int(m.group(3), 16),
                           "load": int(m.group(4), 16) if m.group(4) else None}  # fmt: skip
                outputs.append(current)
            continue
        m = _INPUT.match(line)
        if current is None or m is None or not re.match(r"[.*A-Za-z_]", m.group(1)) or m.group(1).startswith("*("):
            continue
        if m.group(2) is None:
            pending = ("input", m.group(1))
        elif m.group(1) == "*fill*" or m.group(4):
            inputs.append({"output": current["name"], "name": m.group(1), "address": int(m.group(2), 16),
                           "size": int(m.group(3), 16), "file": "*fill*" if m.group(1) == "*fill*" else m.group(4).strip()})  # fmt: skip
    return outputs, inputs


def component(file: str, name: str, objects: str, section: str = "", known: dict | None = None,
              arena: str = "tensor_arena") -> tuple[str, str]:  # fmt: skip
    """(group, component) an input section of ``file`` is charged to: ("model", ...),
    ("arena", ...), ("application", ...), ("runtime", ...), ("kernels", KERNEL),
    ("libraries", LIB) or ("padding", ...). ``known``: object path -> (group, component) for
    objects of other builds (the standalone C's); ``arena``: the arena array's symbol."""
    if arena in section:  # main.cc's arena array (or the generated model's)
        return "arena", "tensor arena"
    if file == "*fill*":
        return "padding", "alignment fill"
    if known and file in known:
        return known[file]
    archive = re.match(r"^(.*?\.a)\((.*)\)$", file)
    if archive:
        lib = PurePosixPath(archive.group(1)).name.removesuffix(".a")
        return "libraries", _LIBS.get(lib, lib)
    path = file.replace("\\", "/")
    if objects and path.startswith(objects.rstrip("/") + "/"):
        rel = path[len(objects.rstrip("/")) + 1 :]
        if rel.startswith(_KERNELS):
            stem = PurePosixPath(rel).stem.removesuffix("_common")
            return "kernels", "kernel helpers" if stem in ("kernel_util", "micro_tensor_utils") else stem
        if rel.startswith("third_party/cmsis_nn/"):
            return "kernels", "CMSIS-NN library"
        return "runtime", "TFLM runtime"
    base = PurePosixPath(path).name
    if base == f"{name}_model_data.c.o" or base == f"{name}_model_data.cc.o":
        return "model", "model data"
    if path.endswith(".o") and not path.startswith("/"):
        return "application", base.removesuffix(".o")
    return "libraries", "other"  # linker stubs, crt objects


def _in(addr: int | None, origin: int, size: int) -> bool:
    return addr is not None and origin <= addr < origin + size


def components(map_text: str, *, name: str, objects: str, flash: tuple[int, int], ram: tuple[int, int],
               rodata: tuple[int, int] | None = None, known: dict | None = None,
               arena: str = "tensor_arena") -> dict:  # fmt: skip
    """Flash and static RAM per group and component, from the map. ``flash``/``ram``: the
    board's (origin, size); ``rodata``: a second read-only region (the an547's QSPI flash,
    where the model goes). Flash = the output sections stored in either (their load address);
    static RAM = the ones placed in RAM (.data, .bss). ``known``, ``arena``: as ``component``."""
    outputs, inputs = parse_map(map_text)
    where = {}
    for o in outputs:
        if _NOT_LOADED.match(o["name"]) or o["size"] == 0:
            continue
        load = None if _NOBITS.match(o["name"]) else o["load"] if o["load"] is not None else o["address"]
        where[o["name"]] = (_in(load, *flash) or (rodata is not None and _in(load, *rodata)), _in(o["address"], *ram))
    out = {"flash": {}, "ram": {}}
    charged = {k: 0 for k in where}
    ends = {o["name"]: o["address"] + o["size"] for o in outputs}
    placed = sorted((i for i in inputs if i["output"] in where and i["size"]), key=lambda i: (i["address"], -i["size"]))
    for k, i in enumerate(placed):
        # Merged string sections (.str1.1) are listed at their sizes before the merge, all at
        # the one address they were merged to: each is charged the bytes up to the next one.
        nxt = next((j["address"] for j in placed[k + 1 :] if j["output"] == i["output"] and j["address"] > i["address"]),
                   ends[i["output"]])  # fmt: skip
        same = k > 0 and placed[k - 1]["address"] == i["address"] and placed[k - 1]["output"] == i["output"]
        size = 0 if same else max(0, min(i["size"], nxt - i["address"]))  # the largest at an address takes it
        if size == 0:
            continue
        group, comp = component(i["file"], name, objects, i["name"], known, arena)
        charged[i["output"]] += size
        for kind, yes in zip(("flash", "ram"), where[i["output"]]):
            if yes:
                bucket = out[kind].setdefault(group, {})
                bucket[comp] = bucket.get(comp, 0) + size
    sizes = {o["name"]: o["size"] for o in outputs if o["name"] in where}
    for sec, got in charged.items():  # what the linker adds past the inputs (end alignment)
        rest = sizes[sec] - got
        for kind, yes in zip(("flash", "ram"), where[sec]):
            if yes and rest:
                bucket = out[kind].setdefault("padding", {})
                bucket["section alignment"] = bucket.get("section alignment", 0) + rest
    for kind in out:
        out[kind] = {g: dict(sorted(c.items())) for g, c in sorted(out[kind].items())}
    out["flash_total"] = sum(s for sec, s in sizes.items() if where[sec][0])
    out["ram_total"] = sum(s for sec, s in sizes.items() if where[sec][1])
    return out


def group_totals(parts: dict) -> dict[str, int]:
    """Group -> bytes of one kind (``components(...)["flash"]``)."""
    return {g: sum(c.values()) for g, c in parts.items()}


def table_rows(sizes: dict) -> list[tuple[str, int | None, int | None]]:
    """(component, flash bytes, RAM bytes) rows of a build's size.json for a table: model,
    runtime, each kernel, the application, each library, padding, then arena, stack, heap."""
    flash, ram = sizes["components"]["flash"], sizes["components"]["ram"]
    rows: list[tuple[str, int | None, int | None]] = []
    for group in ("model", "runtime", "kernels", "application", "libraries", "padding", "arena"):
        names = sorted(set(flash.get(group, {})) | set(ram.get(group, {})))
        for comp in names:
            label = {"kernels": f"kernel: {comp}", "libraries": f"library: {comp}"}.get(group, comp)
            rows.append((label, flash.get(group, {}).get(comp), ram.get(group, {}).get(comp)))
    measured = sizes.get("ram") or {}
    if measured:
        rows.append(("stack (high-water mark)", None, measured["stack_high_water"]))
        rows.append(("heap", None, measured["heap"]))
    rows.append(("total", sizes["flash"], measured.get("total", sizes["ram_static"])))
    return rows
