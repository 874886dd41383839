"""RAM and flash of a microcontroller artifact against a device profile.

Measured where a firmware build of the artifact for the device's core and kernel library
exists (``edgekit firmware BUILD --build``): flash = the linked ELF's text + rodata + data,
RAM = data + bss (the arena included) + the stack's high-water mark + heap, run on the
emulated core. Otherwise estimated: RAM = the TFLite Micro tensor arena for a 32-bit target,
margin included (measured with the TFLM interpreter: see targets/tflm/memory.py), flash = the
model data bytes. Not counted in an estimate, and said so: the TFLM runtime and kernel code
in flash, and the stack and application buffers in RAM, so an estimate is a lower bound: a
model that does not fit then does not fit on the device.
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
    from targets import format_of

    measured = format_of(artifact).call("device_measurement", artifact, device)
    if measured is not None:
        ram, flash, source, basis = measured["ram_bytes"], measured["flash_bytes"], measured["source"], "measured"
    else:
        ram, source = arena
        flash, basis = artifact.runner_metadata.model_bytes or artifact.primary.stat().st_size, "estimated"
    fits_ram, fits_flash = ram <= device.sram_bytes, flash <= device.flash_bytes
    problems = []
    if not fits_ram:
        problems.append(f"needs {fmt_bytes(ram)} RAM, {device.board} has {fmt_bytes(device.sram_bytes)}")
    if not fits_flash:
        problems.append(f"needs {fmt_bytes(flash)} flash, {device.board} has {fmt_bytes(device.flash_bytes)}")
    verdict = ("fits" if not problems else "does not fit: " + "; ".join(problems)) + f" ({basis})"
    return {
        "artifact": key, "applies": True, "device": device.name, "ram_bytes": ram, "flash_bytes": flash,
        "ram_source": source, "sram_bytes": device.sram_bytes, "flash_capacity_bytes": device.flash_bytes,
        "fits": not problems, "basis": basis, "verdict": f"{key} on {device.name}: {verdict}",
        "not_counted": NOT_COUNTED if basis == "estimated" else "",
    }  # fmt: skip
