"""Crash isolation for the in-process runtimes (LiteRT, OpenVINO).

LiteRT and OpenVINO run in the edgekit process because validation batches through them
fast. A corrupt or hostile model can make their native code segfault or abort, so a model
file the current export run did not write itself (its ``ExportSession.trusted`` digests,
handed to the runner) is first loaded, allocated and invoked
once in a child process (``probe_worker``); only if that child survives does the in-process
runtime see the file. One worker serves every probe of a run, each probe in a fresh fork
of it, and a file is probed once.
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
_RUNTIMES = {"litert": ("LiteRT", "the file is corrupt or uses an op LiteRT cannot run"),
             "openvino": ("OpenVINO", "the IR is corrupt or uses an op OpenVINO cannot run")}  # fmt: skip
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


def ir_digest(xml: Path) -> str:
    """The digest of an OpenVINO IR: its .xml and .bin together."""
    try:
        return digest(xml.read_bytes(), xml.with_suffix(".bin").read_bytes())
    except OSError as e:
        raise ModelFileError(f"{xml}: cannot read the IR ({e.strerror}); re-export the build") from e


def _ask(cmd: str, path: str, source: str, key: tuple[str, str], trusted: Collection[str], **extra) -> None:
    global _child
    if key in _proven or key[0] in trusted:
        return
    if _child is None:
        _child = Child(WORKER)
        atexit.register(_child.close)
    runtime, why = _RUNTIMES[cmd]
    try:
        reply = _child.request({"cmd": cmd, "model": path, "timeout": TIMEOUT, **extra}, timeout=TIMEOUT + 60)
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
        _ask("litert", str(path), source, key, trusted, kernels=kernels)


def probe_openvino(xml: Path, trusted: Collection[str] = ()) -> None:
    """Raise ModelFileError unless OpenVINO reads, compiles and runs the IR once without crashing."""
    xml = Path(xml)
    _ask("openvino", str(xml), str(xml), (ir_digest(xml), "openvino"), trusted)
