"""One edgekit run per destination at a time.

A run holds an exclusive ``flock`` on ``.NAME.lock`` next to its destination from before the
work starts until its build is in place, so a second run on the same destination fails at
once instead of silently replacing the first one's build. The kernel drops the lock of a run
that dies, so a lock file left by a killed run never blocks: the next run takes it over.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from edgekit.errors import OutputError

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not serialised there
    fcntl = None


def lock_path(out: Path) -> Path:
    """The lock file of destination ``out``."""
    return out.parent / f".{out.name}.lock"


@contextlib.contextmanager
def locked_dir(directory: Path, option: str) -> Iterator[None]:
    """Hold a lock on the existing ``directory`` itself (no lock file to leave in it) or fail."""
    if fcntl is None:
        yield
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_DIRECTORY", 0))
    except OSError as e:
        raise OutputError(f"{option} {directory}: cannot open it ({e.strerror})") from e
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(f"{option} {directory}: another edgekit run is writing into it; wait for it to finish") from None
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(out: Path, option: str = "--out") -> Iterator[None]:
    """Hold the lock of ``out`` (:func:`lock_path`) or fail at once naming its holder's pid."""
    lock = lock_path(out)
    if fcntl is None:
        yield
        return
    while True:
        fd = _open(lock, option)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise OutputError(
                f"{option} {out} is being written by another edgekit run ({holder}); "
                f"wait for it to finish or choose another {option}"
            ) from None
        # The previous holder unlinks the file when it is done: a lock on an unlinked file
        # (or on one replaced since we opened it) guards nothing, so open the name again.
        try:
            current = os.stat(lock, follow_symlinks=False)
        except FileNotFoundError:
            current = None
        mine = os.fstat(fd)
        if current is not None and (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)  # while still holding it: a waiting opener then sees a new file
        os.close(fd)


def _open(lock: Path, option: str) -> int:
    # O_NOFOLLOW: a planted symlink is never followed; O_NONBLOCK: a planted FIFO never hangs us.
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(lock, flags, 0o644)
    except OSError as e:
        if os.path.islink(lock):
            raise OutputError(f"{option}: {lock} is a symlink, not edgekit's lock file; remove it") from e
        raise OutputError(f"{option}: cannot create the lock file {lock} ({e.strerror})") from e
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        raise OutputError(f"{option}: {lock} is not a lock file edgekit made; remove it")
    return fd


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode().strip())
        return f"pid {pid}"
    return "pid unknown"
