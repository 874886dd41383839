"""Output directories that appear complete or not at all, and never at the cost of others.

A run writes into a hidden staging directory next to the destination and renames it into
place at the end (swapping it with an existing build in one atomic step on Linux); an
interrupted run leaves the destination as it was. Staging directories of runs that died are
removed by the next run, which also restores a build a killed run had moved aside.

``--force`` replaces only an edgekit build (its manifest has the ``edgekit_manifest`` key) or
an empty directory, and never one that holds an input of the run, the current directory or
one of its parents, the home directory, the filesystem root, a mount point or a symlink.
Every check happens before the work starts, under the destination's lock (edgekit.outlock).
Temporary names are random and created exclusively, so a planted symlink is never followed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from edgekit.build import BuildDir
from edgekit.errors import OutputError
# atomic_write lives beside the other small-file helpers; importers of edgekit.outdir keep it.
from edgekit.files import atomic_write, current_umask, temp_file  # noqa: F401
from edgekit.outlock import locked, locked_dir

# Bytes the staging (".NAME.tmp-PID_XXXXXXXX"), swap and lock names add to a destination's name.
NAME_RESERVE = 24
# In every staging directory while a run works in it: what _clean_stale may remove.
STAGE_MARKER = ".edgekit-staging"


def name_max(directory: Path) -> int:
    """The longest file name (bytes) the filesystem of ``directory`` or its first existing parent takes."""
    probe = Path(directory)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return os.pathconf(probe, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def resolve_out(out: Path) -> Path:
    """``out`` made absolute with its parents' symlinks and ``..`` resolved; the last
    component stays as given, so a symlink there can be seen and refused."""
    out = Path(out)
    try:
        return out.resolve() if out.name in ("", "..") else out.parent.resolve() / out.name
    except (OSError, RuntimeError) as e:  # a symlink loop
        raise OutputError(f"--out {out}: cannot resolve it ({e})") from e


def _refusal(out: Path, keep: Iterable[Path], option: str) -> str | None:
    """Why ``--force`` must not replace the existing directory ``out``, or None."""
    new, cwd = f"give {option} a new directory for the build", None
    with contextlib.suppress(RuntimeError, KeyError, OSError):
        if out == Path.home().resolve():
            return f"it is your home directory; {new}"
    if out == out.parent:
        return f"it is the filesystem root; {new}"
    with contextlib.suppress(OSError):
        cwd = Path.cwd().resolve()
    if cwd is not None and cwd.is_relative_to(out):
        return f"it is the current directory or one of its parents; run edgekit from elsewhere or {new}"
    if os.path.ismount(out):
        return f"it is a mount point; {new} inside it"
    for path in keep:
        if Path(path).resolve().is_relative_to(out):
            return f"it holds {path} (an input of this run); move that out first or {new}"
    if not BuildDir(out).is_edgekit_build() and any(out.iterdir()):
        return f"it is not an edgekit build (no edgekit manifest.json) and not empty; remove it yourself or {new}"
    return None


def check_output(out: Path, force: bool, option: str = "--out", keep: Iterable[Path] = ()) -> None:
    """Fail early if ``out`` cannot be made or replaced (see the module docstring)."""
    given, out = out, resolve_out(out)
    limit = name_max(out.parent) - NAME_RESERVE
    if len(os.fsencode(out.name)) > limit:
        raise OutputError(f"{option} {given}: name is too long ({len(os.fsencode(out.name))} bytes; at most {limit})")
    if out.is_symlink():
        raise OutputError(f"{option} {given} is a symlink (to {os.readlink(out)}); give the directory itself")
    if out.exists() and not force:
        raise OutputError(f"{option} {given} already exists; pass --force to replace it")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{option} {given} exists and is not a directory")
    if out.exists():
        why = _refusal(out, keep, option)
        if why:
            raise OutputError(f"{option} {out}: --force will not replace it: {why}")
    _check_writable(given, out.parent, option)


def _check_writable(given: Path, parent: Path, option: str) -> None:
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {given}: {probe} is not writable; choose another output directory")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ours(p: Path) -> bool:
    """A real directory (not a symlink) of this user, empty or marked as a stage or a build."""
    try:
        st = os.lstat(p)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        return False
    return (p / STAGE_MARKER).is_file() or BuildDir(p).is_edgekit_build() or not any(p.iterdir())


def _clean_stale(parent: Path, name: str) -> None:
    """Remove what dead runs on ``parent/name`` left: only directories edgekit made."""
    for p in parent.glob(f".{glob.escape(name)}.*-*"):
        kind, _, tail = p.name.rpartition("-")
        if not (kind == f".{name}.tmp" or kind == f".{name}.old"):
            continue
        try:
            dead = not _pid_alive(int(tail.split("_")[0]))
        except ValueError:
            continue
        if not dead or p.is_symlink() or not p.is_dir():
            continue
        if kind.endswith(".old") and not os.path.lexists(parent / name) and any(p.iterdir()):
            # Killed between the two renames of the non-atomic swap: put the old build back
            # (and never delete it, even if that fails).
            with contextlib.suppress(OSError):
                os.rename(p, parent / name)
        elif _ours(p):
            _remove(p)


def _remove(d: Path) -> None:
    """Delete a directory this run made or swapped out, the marker last: a run killed
    meanwhile leaves a directory the next run still recognises as edgekit's."""
    with contextlib.suppress(OSError):
        (d / STAGE_MARKER).touch()
    with contextlib.suppress(OSError):
        for child in d.iterdir():
            if child.name == STAGE_MARKER:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
        (d / STAGE_MARKER).unlink(missing_ok=True)
        d.rmdir()


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


def _make_parents(directory: Path) -> list[Path]:
    """``mkdir -p directory``; the directories it created, outermost first."""
    missing = []
    probe = directory
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for d in reversed(missing):
        d.mkdir(exist_ok=True)
    return list(reversed(missing))


@contextlib.contextmanager
def staged_output(out: Path, force: bool, option: str = "--out", keep: Iterable[Path] = ()) -> Iterator[Path]:
    """Yield a staging directory that replaces ``out`` only if the block completes.

    ``keep``: the run's inputs, which ``--force`` must never delete. The destination is locked
    and checked before the block runs, and checked again before its build is put in place.
    """
    check_output(out, force, option, keep)
    out = resolve_out(out)
    try:
        created = _make_parents(out.parent)
    except OSError as e:
        raise OutputError(f"{option} {out}: cannot create it ({e.strerror})") from e
    try:
        with locked(out, option):
            _clean_stale(out.parent, out.name)
            check_output(out, force, option, keep)  # again: a run that died may have left a build
            try:
                stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}_", dir=out.parent))
                (stage / STAGE_MARKER).touch()
            except OSError as e:
                raise OutputError(f"{option} {out}: cannot create it ({e.strerror})") from e
            try:
                yield stage
                (stage / STAGE_MARKER).unlink()
                check_output(out, force, option, keep)  # what changed there while we worked
                _commit(stage, out, option)
            except BaseException:
                _remove(stage)
                raise
    except BaseException:
        for d in reversed(created):  # only the parents this run made, and only if still empty
            with contextlib.suppress(OSError):
                d.rmdir()
        raise


def _commit(stage: Path, out: Path, option: str) -> None:
    os.chmod(stage, 0o755 & ~current_umask())
    try:
        if not out.exists():
            os.rename(stage, out)
            return
        if _exchange(stage, out):  # one atomic step: a kill leaves the old or the new build
            _remove(stage)  # now the old build
            return
        # A fresh empty directory to rename the old build onto: no predictable name to plant.
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}_", dir=out.parent))
        os.rename(out, old)
        try:
            os.rename(stage, out)  # a kill between these two renames is undone by the next run
        except OSError:
            os.rename(old, out)
            raise
        _remove(old)
    except OSError as e:
        raise OutputError(f"{option} {out}: cannot put the build in place ({e.strerror}); nothing was changed") from e


def write_files(out_dir: Path, files: dict[str, str], force: bool, option: str = "-o") -> list[Path]:
    """Write text files into ``out_dir`` (which may hold other files) all or nothing.

    Existing files of the same names are only replaced with ``force``, and no other file is
    touched; a symlink of the same name is replaced, never written through. Every file is
    written to a fresh temporary name first and renamed into place once all of them are on disk.
    """
    out_dir = Path(out_dir)
    clashes = [n for n in files if os.path.lexists(out_dir / n)]
    if clashes and not force:
        raise OutputError(f"{option} {out_dir}: {', '.join(clashes)} already exist(s); pass --force to replace")
    dirs = [n for n in clashes if (out_dir / n).is_dir() and not (out_dir / n).is_symlink()]
    if dirs:
        raise OutputError(f"{option} {out_dir}: {', '.join(dirs)} is a directory; remove it or choose another {option}")
    limit = name_max(out_dir)
    long = [n for n in files if len(os.fsencode(n)) > limit]
    if long:
        raise OutputError(f"{option} {out_dir}: file name {long[0]} is too long (at most {limit} bytes); pass a shorter --name")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{option} {out_dir} exists and is not a directory")
    _check_writable(out_dir, out_dir, option)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{option} {out_dir}: cannot create it ({e.strerror})") from e
    with locked_dir(out_dir, option):  # one run writing these files at a time
        return _write_all(out_dir, files, option)


def _write_all(out_dir: Path, files: dict[str, str], option: str) -> list[Path]:
    temps: list[tuple[Path, Path]] = []
    try:
        for name, text in files.items():
            fd, tmp = temp_file(out_dir, name)
            temps.append((tmp, out_dir / name))
            with os.fdopen(fd, "w") as f:
                f.write(text)
    except BaseException as e:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise OutputError(f"{option} {out_dir}: cannot write ({e.strerror})") from e
        raise
    for tmp, final in temps:
        os.replace(tmp, final)
    return [final for _, final in temps]
