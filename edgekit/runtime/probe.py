"""Crash isolation for the runtimes that run in the edgekit process (LiteRT, OpenVINO).

LiteRT and OpenVINO run in the edgekit process because validation batches through them
fast. A corrupt or hostile model can make their native code segfault or abort, so a model
file edgekit did not produce itself in this process is first loaded, allocated and invoked
once in a child process (``probe_worker``); only if that child survives does the in-process
runtime see the file. One worker serves every probe of a run, each probe in a fresh fork
of it, and a file is probed once.
"""

from __future__ import annotations

import atexit
import hashlib
import tempfile
from pathlib import Path

from edgekit.errors import ModelFileError
from edgekit.runtime.isolated import Child, ChildCrashed

WORKER = "edgekit.runtime.probe_worker"
TIMEOUT = 60.0  # seconds for one probe (load + allocate + one invoke) before it counts as a hang
_proven: set[tuple[str, str]] = set()  # (digest, runtime variant) that survived a probe
_trusted: set[str] = set()  # digests of what edgekit's own converters wrote in this process
_child: Child | None = None


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.hexdigest()


def trust(content: bytes) -> None:
    """Mark model bytes edgekit's own converter just produced as safe for the in-process runtime."""
    _trusted.add(_digest(content))


def files_digest(*paths: Path, source: Path) -> str:
    """The digest of a model stored in several files (an IR's .xml and .bin)."""
    try:
        return _digest(*(p.read_bytes() for p in paths))
    except OSError as e:
        raise ModelFileError(f"{source}: cannot read the model ({e.strerror}); re-export the build") from e


def trust_digest(digest: str) -> None:
    """Mark a model (by ``files_digest``) edgekit's own converter just saved as safe in process."""
    _trusted.add(digest)


def probe_file(probe: str, path: str, source: str, key: tuple[str, str], runtime: str, why: str, **extra) -> None:
    """Raise ModelFileError unless ``probe`` ("module:function" of the worker, see
    probe_worker) meets the model at ``path`` without crashing; ``key`` (digest, variant)
    is remembered so a file is probed once. ``runtime`` and ``why`` word the errors."""
    global _child
    if key in _proven or key[0] in _trusted:
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


def probe_litert(content: bytes, source: str, kernels: str = "xnnpack") -> None:
    """Raise ModelFileError unless LiteRT loads and runs ``content`` once without crashing."""
    key = (_digest(content), kernels)
    if key in _proven or key[0] in _trusted:
        return
    with tempfile.TemporaryDirectory(prefix="edgekit-probe-") as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(content)
        probe_file("edgekit.runtime.probe_worker:litert_probe", str(path), source, key, "LiteRT",
                   "the file is corrupt or uses an op LiteRT cannot run", kernels=kernels)
