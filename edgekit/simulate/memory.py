"""RAM and flash of a microcontroller artifact against a device profile.

RAM = the TFLite Micro tensor arena for a 32-bit target, margin included (measured with the
TFLM interpreter: see targets/tflm/memory.py). Flash = the model data bytes (what the
generated C array puts in flash). Not counted, and said so in every result: the TFLM
runtime and kernel code in flash (no TFLM sources are available here to size it), and the
stack and application buffers in RAM. Both figures are therefore lower bounds: a model that
does not fit here does not fit on the device.
"""

from __future__ import annotations

from edgekit.fmt import fmt_bytes

NOT_COUNTED = "not counted: TFLM runtime/kernel code (flash), stack and application buffers (RAM)"


def _ram(artifact) -> tuple[int, str] | None:
    """(RAM on a 32-bit MCU, where it came from), from the artifact's format; None if it has no arena."""
    from targets import format_of

    fmt = format_of(artifact)
    data = fmt.call("flatbuffer", artifact)
    return fmt.call("device_ram", artifact, data) if data is not None else None


def memory_fit(artifact, device) -> dict:
    """RAM/flash needs of one artifact on ``device`` and whether it fits."""
    key = f"{artifact.target}/{artifact.scheme}"
    arena = _ram(artifact)
    if arena is None:
        return {"artifact": key, "applies": False, "why": "not a TFLite Micro model (no tensor arena to size)"}
    ram, source = arena
    flash = artifact.runner_metadata.model_bytes or artifact.primary.stat().st_size
    fits_ram, fits_flash = ram <= device.sram_bytes, flash <= device.flash_bytes
    problems = []
    if not fits_ram:
        problems.append(f"needs {fmt_bytes(ram)} RAM, {device.board} has {fmt_bytes(device.sram_bytes)}")
    if not fits_flash:
        problems.append(f"needs {fmt_bytes(flash)} flash, {device.board} has {fmt_bytes(device.flash_bytes)}")
    verdict = "fits" if not problems else "does not fit: " + "; ".join(problems)
    return {
        "artifact": key, "applies": True, "device": device.name, "ram_bytes": ram, "flash_bytes": flash,
        "ram_source": source, "sram_bytes": device.sram_bytes, "flash_capacity_bytes": device.flash_bytes,
        "fits": not problems, "verdict": f"{key} on {device.name}: {verdict}", "not_counted": NOT_COUNTED,
    }  # fmt: skip
