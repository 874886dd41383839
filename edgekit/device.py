"""Device profiles: the edge boards edgekit estimates memory (and later latency) for.

Profiles are TOML files: the ones shipped in ``edgekit/devices/`` (``edgekit devices`` lists
them) or a user's own (``--device-file board.toml``). Schema (all keys required unless noted):

    name = "my-board"            # letters, digits, - and _
    board = "what it is"         # free text
    core = "Cortex-M4"
    clock_mhz = 120              # 1 to 10000
    sram_kb = 640                # 1 to 16 GiB in KiB, RAM available to the model and its runtime
    flash_kb = 2048              # 1 to 16 GiB in KiB
    features = ["dsp", "fpu"]    # any of dsp, fpu, simd, helium
    kernels = "cmsis-nn"         # reference, cmsis-nn or esp-nn: the kernel library assumed
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import OptionError

DEVICES = Path(__file__).resolve().parent / "devices"
FEATURES = ("dsp", "fpu", "simd", "helium")
KERNELS = ("reference", "cmsis-nn", "esp-nn")
# Sane ranges, so that estimates derived from them (cycles / clock, bytes / size) stay finite.
RANGES = {"clock_mhz": (1, 10_000), "sram_kb": (1, 16 * 1024**2), "flash_kb": (1, 16 * 1024**2)}


@dataclass(frozen=True)
class Device:
    name: str
    board: str
    core: str
    clock_mhz: float
    sram_kb: float
    flash_kb: float
    features: tuple[str, ...]
    kernels: str

    @property
    def sram_bytes(self) -> int:
        return int(self.sram_kb * 1024)

    @property
    def flash_bytes(self) -> int:
        return int(self.flash_kb * 1024)


def load_device_file(path: str | Path) -> Device:
    """A Device from a profile file, every problem reported with the file and key."""
    from edgekit.config import read_toml

    path = Path(path)
    raw = read_toml(path, "--device-file")
    fields = Device.__dataclass_fields__
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise OptionError(f"{path}: unknown key(s) {', '.join(unknown)}; a profile has {', '.join(fields)}")
    missing = [k for k in fields if k not in raw]
    if missing:
        raise OptionError(f"{path}: missing key(s) {', '.join(missing)}")
    for key in ("name", "board", "core", "kernels"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise OptionError(f"{path}: '{key}' must be a non-empty string")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", raw["name"]):
        raise OptionError(f"{path}: name {raw['name']!r} may only use letters, digits, '-' and '_'")
    for key, (lo, hi) in RANGES.items():
        v = raw[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
            raise OptionError(f"{path}: '{key}' must be a positive number from {lo:g} to {hi:g}, got {v!r}")
    if not isinstance(raw["features"], list) or any(f not in FEATURES for f in raw["features"]):
        raise OptionError(f"{path}: 'features' must be a list of {', '.join(FEATURES)}")
    if raw["kernels"] not in KERNELS:
        raise OptionError(f"{path}: 'kernels' must be one of {', '.join(KERNELS)}, got {raw['kernels']!r}")
    return Device(raw["name"], raw["board"], raw["core"], float(raw["clock_mhz"]), float(raw["sram_kb"]),
                  float(raw["flash_kb"]), tuple(raw["features"]), raw["kernels"])  # fmt: skip


def builtin_devices() -> dict[str, Device]:
    """The profiles shipped with edgekit, by name."""
    devices = [load_device_file(p) for p in sorted(DEVICES.glob("*.toml"))]
    return {d.name: d for d in devices}


def get_device(name: str | None = None, file: str | Path | None = None) -> Device:
    """A shipped profile by name, or the profile in ``file``."""
    if file is not None:
        return load_device_file(file)
    devices = builtin_devices()
    if name not in devices:
        raise OptionError(f"--device {name!r}: unknown; choose from {', '.join(devices)} or give --device-file")
    return devices[name]
