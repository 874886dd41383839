"""Output directories that appear complete or not at all.

A run writes into a hidden staging directory next to the destination and renames it into
place at the end (swapping it with an existing build in one atomic step on Linux); an
interrupted run leaves the destination as it was. Staging directories of runs that died are
removed by the next run, which also restores a build a killed run had moved aside.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from edgekit.errors import OutputError


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(parent: Path, name: str) -> None:
    for p in parent.glob(f".{name}.*-*"):
        kind, _, pid = p.name.rpartition("-")
        if not (kind.endswith(".tmp") or kind.endswith(".old")):
            continue
        try:
            dead = not _pid_alive(int(pid.split("_")[0]))
        except ValueError:
            continue
        if not dead:
            continue
        target = parent / name
        if kind.endswith(".old") and not target.exists():
            # Killed between the two renames of the non-atomic swap: put the old build back
            # (and never delete it, even if that fails).
            with contextlib.suppress(OSError):
                os.rename(p, target)
            continue
        shutil.rmtree(p, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def check_output(out: Path, force: bool, option: str = "--out") -> None:
    """Fail early if ``out`` exists without ``force`` or cannot be created."""
    if out.exists() and not force:
        raise OutputError(f"{option} {out} already exists; pass --force to replace it")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{option} {out} exists and is not a directory")
    parent = out.parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {out}: {probe} is not writable; choose another output directory")


@contextlib.contextmanager
def staged_output(out: Path, force: bool) -> Iterator[Path]:
    """Yield a staging directory that replaces ``out`` only if the block completes."""
    out = Path(out)
    if out.parent.is_dir():
        _clean_stale(out.parent, out.name)
    check_output(out, force)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}_", dir=out.parent))
    except OSError as e:
        raise OutputError(f"--out {out}: cannot create it ({e.strerror})") from e
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    os.chmod(stage, 0o755 & ~_umask())
    if out.exists():
        if _exchange(stage, out):  # one atomic step: a kill leaves the old or the new build
            shutil.rmtree(stage, ignore_errors=True)
            return
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.rename(out, old)
        os.rename(stage, out)  # a kill between these two renames is undone by the next run
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(stage, out)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_files(out_dir: Path, files: dict[str, str], force: bool, option: str = "-o") -> list[Path]:
    """Write text files into ``out_dir`` (which may hold other files) all or nothing.

    Existing files of the same names are only replaced with ``force``. Every file is written
    to a temporary name first and renamed into place once all of them are on disk.
    """
    out_dir = Path(out_dir)
    clashes = [n for n in files if (out_dir / n).exists()]
    if clashes and not force:
        raise OutputError(f"{option} {out_dir}: {', '.join(clashes)} already exist(s); pass --force to replace")
    check_output(out_dir, force=True, option=option)
    temps: list[tuple[Path, Path]] = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            tmp = out_dir / f".{name}.tmp-{os.getpid()}"
            tmp.write_text(text)
            temps.append((tmp, out_dir / name))
    except BaseException as e:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise OutputError(f"{option} {out_dir}: cannot write ({e.strerror})") from e
        raise
    for tmp, final in temps:
        os.replace(tmp, final)
    return [final for _, final in temps]


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write ({e.strerror})") from e
