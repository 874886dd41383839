"""Keep the terminal clean of framework noise.

TensorFlow, absl, oneDNN, coremltools and NNCF write to the process's file descriptors 1
and 2 from native code, before Python logging is even set up, so silencing Python loggers is
not enough. While a CLI command runs, fd 1 and fd 2 point at a log file; edgekit's own
output goes through consoles bound to duplicates of the original descriptors, made before
the redirect. ``-v`` turns the redirect off.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Read by TensorFlow at import time; set before any framework import happens.
_QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "GRPC_VERBOSITY": "ERROR",
    "GLOG_minloglevel": "2",
}


def quiet_environment() -> None:
    """Ask the frameworks to log less (only where the user has not set the variable)."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)


def terminal_stream(fd: int):
    """A text stream on a duplicate of ``fd``, unaffected by later redirects of ``fd``."""
    return os.fdopen(os.dup(fd), "w", buffering=1, encoding="utf-8", errors="replace")


@dataclass
class CapturedLog:
    path: Path | None

    def text(self) -> str:
        if self.path is None or not self.path.exists():
            return ""
        return self.path.read_text(errors="replace")


@contextlib.contextmanager
def captured_native_output(enabled: bool = True) -> Iterator[CapturedLog]:
    """Send everything written to fd 1 and fd 2 into a temporary log file."""
    if not enabled:
        yield CapturedLog(None)
        return
    fd, name = tempfile.mkstemp(prefix="edgekit-", suffix=".log")
    log = CapturedLog(Path(name))
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield log
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        os.close(fd)
