"""Small text files: reading those users point edgekit at (configs, profiles, labels,
baselines), and writing edgekit's own records in one atomic step.

They are read whole, so each read is bounded: a FIFO, a device such as /dev/zero or a file
far larger than any such input is refused before its content is read.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

from edgekit.errors import EdgekitError, OptionError, OutputError

TEXT_LIMIT = 8 * 1024 * 1024  # bytes; a label file for 100k classes is ~2 MB
_CHUNK = 64 * 1024


def read_bounded(path: str | Path, what: str, limit: int = TEXT_LIMIT, error: type[EdgekitError] = OptionError) -> str:
    """The UTF-8 text of the regular file ``path`` (at most ``limit`` bytes), else ``error`` naming ``what``.

    A missing file raises FileNotFoundError, so that callers can say how to create it.
    """
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer before we can refuse it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise
    except OSError as e:
        raise error(f"{what} {path}: cannot read ({e.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{what} {path}: not a regular file; give a file")
        if info.st_size > limit:
            raise error(f"{what} {path}: {info.st_size:,} bytes, more than the {limit:,} such a file may have")
        try:
            data = f.read(info.st_size + 1)  # sized by the file, not the limit: no big empty buffer
            while len(data) <= limit and (more := f.read(_CHUNK)):  # it grew after fstat
                data += more
        except OSError as e:
            raise error(f"{what} {path}: cannot read ({e.strerror})") from None
    if len(data) > limit:
        raise error(f"{what} {path}: more than the {limit:,} bytes such a file may have")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{what} {path}: not UTF-8 text (byte {e.start})") from None


def current_umask() -> int:
    """The process umask (reading it means setting it: put it straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_file(directory: Path, name: str) -> tuple[int, Path]:
    """A new file with a random name in ``directory`` for ``name``, created exclusively (O_EXCL:
    an existing name, symlinks included, is never opened); its descriptor and path."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name[:40]}.tmp-", dir=directory)
    os.fchmod(fd, 0o666 & ~current_umask())  # the mode a plain open() would give the final file
    return fd, Path(tmp)


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a fresh temporary file renamed into place."""
    path = Path(path)
    tmp = None
    try:
        fd, tmp = temp_file(path.parent, path.name)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write ({e.strerror})") from e


def tree_size(path: Path) -> int:
    """Bytes of a file, or of every file under a directory."""
    if path.is_dir():
        return sum(p.stat().st_size for p in sorted(path.rglob("*")) if p.is_file())
    return path.stat().st_size


def sha256_of(path: Path) -> str:
    """sha256 of a file, or of a directory's files (relative names and contents, sorted)."""
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(q for q in path.rglob("*") if q.is_file()):
            h.update(str(p.relative_to(path)).encode() + b"\0")
            h.update(p.read_bytes())
    else:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()
