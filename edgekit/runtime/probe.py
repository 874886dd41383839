"""Crash isolation for the runtimes that run in the edgekit process (LiteRT, OpenVINO).

LiteRT and OpenVINO run in the edgekit process because validation batches through them
fast. A corrupt or hostile model can make their native code segfault or abort, so a model
file the current export run did not write itself (its ``ExportSession.trusted`` digests,
handed to the runner) is first loaded, allocated and invoked once in a child process
(``probe_worker``); only if that child survives does the in-process runtime see the file.
One worker serves every probe of a run, each probe in a fresh fork of it, and a file is
probed once.
"""

from __future__ import annotations

import atexit
import hashlib
import tempfile
from collections.abc import Collection
from pathlib import Path

from edgekit.errors import ModelFileError
from edgekit.runtime.isolated import Child, ChildCrashed

WORKER = "edgekit.runtime.probe_worker"
TIMEOUT = 60.0  # seconds for one probe (load + allocate + one invoke) before it counts as a hang
# (digest, runtime variant) that survived a probe: a fact about those bytes and this process's
# runtime, true whichever run asks, so a process-wide memo and not run state.
_proven: set[tuple[str, str]] = set()
_child: Child | None = None


def digest(*parts: bytes) -> str:
    """The digest a probe and an ExportSession's trusted set know model bytes by."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.hexdigest()


def files_digest(*paths: Path, source: Path) -> str:
    """The digest of a model stored in several files (an IR's .xml and .bin), in that order."""
    try:
        return digest(*(Path(p).read_bytes() for p in paths))
    except OSError as e:
        raise ModelFileError(f"{source}: cannot read the model ({e.strerror}); re-export the build") from e


def probe_file(probe: str, path: str, source: str, key: tuple[str, str], runtime: str, why: str,
               trusted: Collection[str] = (), **extra) -> None:  # fmt: skip
    """Raise ModelFileError unless ``probe`` ("module:function" run by the worker, see
    probe_worker) meets the model at ``path`` without crashing. ``key`` (digest, variant) is
    remembered so a file is probed once; a digest in ``trusted`` (written by the current
    export run itself) is not probed. ``runtime`` and ``why`` word the errors."""
    global _child
    if key in _proven or key[0] in trusted:
        return
    if _child is None:
        _child = Child(WORKER)
        atexit.register(_child.close)
    try:
        reply = _child.request({"probe": probe, "model": path, "timeout": TIMEOUT, **extra}, timeout=TIMEOUT + 60)
    except ChildCrashed as e:  # the worker itself died: as good as a crash of the probe
        reply = {"ok": False, "crashed": e.reason}
    crashed = reply.get("crashed")
    if crashed and crashed.startswith("no answer"):
        raise ModelFileError(f"{runtime} did not finish loading {source} ({crashed}): {why}")
    if crashed:
        raise ModelFileError(f"{runtime} crashed ({crashed}) while loading {source}: {why}")
    if not reply["ok"]:
        raise ModelFileError(f"{source}: {runtime} cannot load the model ({reply['error']})")
    _proven.add(key)


def probe_litert(content: bytes, source: str, kernels: str = "xnnpack", trusted: Collection[str] = ()) -> None:
    """Raise ModelFileError unless LiteRT loads and runs ``content`` once without crashing
    (``trusted``: digests of files the current export run wrote itself, not probed)."""
    key = (digest(content), kernels)
    if key in _proven or key[0] in trusted:
        return
    with tempfile.TemporaryDirectory(prefix="edgekit-probe-") as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(content)
        probe_file("edgekit.runtime.probe_worker:litert_probe", str(path), source, key, "LiteRT",
                   "the file is corrupt or uses an op LiteRT cannot run", trusted, kernels=kernels)  # fmt: skip
