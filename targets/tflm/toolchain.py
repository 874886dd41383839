"""The host tools a firmware build needs and where compiled objects are cached.

Compiled objects (TFLM's, the c target's kernels, CMSIS-NN's size functions) live under
``~/.cache/edgekit/tflm-objects/`` (``EDGEKIT_TFLM_OBJECTS`` overrides it), keyed by what
they are compiled from, so every build, test and run shares them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from edgekit.errors import ToolchainError

CACHE_ENV = "EDGEKIT_TFLM_OBJECTS"
_CROSS = "gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib"
DEBIAN = {"arm-none-eabi-gcc": _CROSS, "arm-none-eabi-g++": _CROSS, "arm-none-eabi-size": _CROSS,
          "arm-none-eabi-nm": _CROSS, "qemu-system-arm": "qemu-system-arm", "make": "make"}  # fmt: skip


def require_tools(*tools: str) -> None:
    """One line naming what to install when a tool is missing."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pkgs = " ".join(dict.fromkeys(DEBIAN.get(t, t) for t in missing))
        raise ToolchainError(f"{', '.join(missing)} not found: run `make toolchain` or install the Debian packages {pkgs}")


def cache_root() -> Path:
    given = os.environ.get(CACHE_ENV)
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edgekit" / "tflm-objects"
