"""Crash isolation for the in-process runtimes (LiteRT, OpenVINO).

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
_RUNTIMES = {"litert": ("LiteRT", "the file is corrupt or uses an op LiteRT cannot run"),
             "openvino": ("OpenVINO", "the IR is corrupt or uses an op OpenVINO cannot run")}  # fmt: skip
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


def _ir_digest(xml: Path) -> str:
    try:
        return _digest(xml.read_bytes(), xml.with_suffix(".bin").read_bytes())
    except OSError as e:
        raise ModelFileError(f"{xml}: cannot read the IR ({e.strerror}); re-export the build") from e


def trust_ir(xml: Path) -> None:
    """Mark an IR edgekit's own OpenVINO converter just saved as safe for the in-process runtime."""
    _trusted.add(_ir_digest(Path(xml)))


def _ask(cmd: str, path: str, source: str, key: tuple[str, str], **extra) -> None:
    global _child
    if key in _proven or key[0] in _trusted:
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


def probe_litert(content: bytes, source: str, kernels: str = "xnnpack") -> None:
    """Raise ModelFileError unless LiteRT loads and runs ``content`` once without crashing."""
    key = (_digest(content), kernels)
    if key in _proven or key[0] in _trusted:
        return
    with tempfile.TemporaryDirectory(prefix="edgekit-probe-") as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(content)
        _ask("litert", str(path), source, key, kernels=kernels)


def probe_openvino(xml: Path) -> None:
    """Raise ModelFileError unless OpenVINO reads, compiles and runs the IR once without crashing."""
    xml = Path(xml)
    _ask("openvino", str(xml), str(xml), (_ir_digest(xml), "openvino"))
