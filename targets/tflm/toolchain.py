"""The host tools a firmware build needs and where compiled objects are cached.

Compiled objects (TFLM's, the c target's kernels, CMSIS-NN's size functions) live under
``~/.cache/edgekit/tflm-objects/`` (``EDGEKIT_TFLM_OBJECTS`` overrides it), keyed by what
they are compiled from, so every build, test and run shares them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
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


LOCK_TIMEOUT = 3600.0  # seconds: as long as a cold firmware build may take


@contextlib.contextmanager
def cache_lock(directory: Path, timeout: float = LOCK_TIMEOUT):
    """Hold an exclusive lock on one object folder of the cache while compiling into it.

    Two builds of the same key at once (two test workers, two ``edgekit firmware`` runs) would
    each compile every missing object; with the lock the second waits, then finds them built.
    Objects are still written under a temporary name and renamed, so a reader never sees half
    of one; the lock only saves the duplicate work."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, only the duplicate work
        yield
        return
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    path = directory.with_name(directory.name + ".lock")
    with open(path, "a+b") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ToolchainError(f"{path}: another build held this object cache for over {timeout:.0f} s; "
                                         "if none is running, delete the file") from None  # fmt: skip
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
