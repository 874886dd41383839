"""RAM a TFLite flatbuffer needs under TFLite Micro on a 32-bit microcontroller."""

from __future__ import annotations

from edgekit.tflite_graph import TFLiteGraph


def device_ram(artifact, data: bytes) -> tuple[int, str] | None:
    """(32-bit arena with margin, where the figure came from) for the flatbuffer ``data`` of
    ``artifact``; None when TFLM cannot run it (no arena to size)."""
    measured = artifact.runner_metadata.arena_size_32bit
    if measured:
        return measured, "tflm target measurement"
    from targets.tflm.exporter import default_margin
    from targets.tflm.ops import problems
    from targets.tflm.runner import measure_arena

    if problems(TFLiteGraph(data, artifact.files[0])):
        return None
    m = measure_arena(data, artifact.files[0])
    return m.nonpersistent + m.persistent32 + default_margin(m.required), "measured now with the TFLM interpreter"


FIRMWARE_DIR = "firmware"  # beside the artifact's sources: one measurement file per board and kernel library


def measurement_path(artifact_dir, board: str, kernels: str):
    from pathlib import Path

    return Path(artifact_dir) / FIRMWARE_DIR / f"{board}-{kernels}.json"


def _core_key(core: str) -> str | None:
    """"Cortex-M4F" and "Cortex-M4" -> "m4"; None for other cores."""
    import re

    m = re.match(r"cortex-(m\d+)", core.strip().lower())
    return m.group(1) if m else None


def device_measurement(artifact, device) -> dict | None:
    """Flash, RAM and instructions per inference measured from a firmware build of ``artifact``
    (``edgekit firmware BUILD --build`` records them beside the sources) for ``device``'s core
    and kernel library, or None."""
    import json

    from edgekit.files import read_bounded

    folder = artifact.directory / FIRMWARE_DIR
    want = _core_key(device.core)
    if want is None or not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.json")):
        try:
            rec = json.loads(read_bounded(path, path.name))
            if _core_key(rec["core"]) != want or rec["kernels"] != device.kernels or "ram" not in rec:
                continue
            if rec.get("tflite_sha256") != artifact.runner_metadata.tflite_sha256:
                continue  # made from other model bytes (the build was exported again)
            out = {"flash_bytes": int(rec["flash"]), "ram_bytes": int(rec["ram"]["total"]),
                   "source": f"measured: firmware for {rec['board']} ({rec['core']}, {rec['kernels']} kernels), {path.name}"}  # fmt: skip
            counted = (rec.get("run") or {}).get("instructions")
            if isinstance(counted, int) and counted > 0:  # QEMU's count of the compiled-in sample's Invoke
                out["instructions"] = counted
                out["instructions_per_op"] = [(str(o["op"]), int(o["instructions"])) for o in rec["run"].get("instructions_per_op", [])
                                              if o.get("depth") == 0]  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # a damaged record is no measurement; the estimate stands
        return out
    return None
