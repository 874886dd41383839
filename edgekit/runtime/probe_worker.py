"""Child process that meets a model file in a native runtime first (see ``probe.py``).

Protocol (one JSON object per line on stdin, one reply line on stdout):
  {"probe": "module:function", "model": PATH, ...} -> {"ok": bool, "error": str}
``probe`` names the function of a runtime that meets the file (``litert_probe`` below for
LiteRT; each format with an in-process runtime has its own beside its runner); the parent
only ever names edgekit's own functions. Each loads the model, allocates it and runs one inference on zeros, in a process forked
for that one request: a corrupt model that damages the heap without crashing cannot poison
the next probe, and a segfault, abort or hang (killed after "timeout" seconds) is answered
as {"ok": false, "crashed": "SIGSEGV" | "no answer within N s"}. The runtimes are imported
once, before any fork, and never run in this process itself.
"""

from __future__ import annotations

import importlib
import json
import os
import sys

import numpy as np


def litert_probe(req: dict) -> None:
    """LiteRT: load, allocate and invoke once on zeros (``kernels`` as the runner will use)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = {"builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
                "reference": OpResolverType.BUILTIN_REF}.get(req.get("kernels"), OpResolverType.AUTO)  # fmt: skip
    interp = Interpreter(model_path=req["model"], experimental_op_resolver_type=resolver)
    interp.allocate_tensors()
    for d in interp.get_input_details():
        interp.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
    interp.invoke()
    for d in interp.get_output_details():
        interp.get_tensor(d["index"])


def _resolve(ref: str):
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def handle(req: dict) -> dict:
    try:
        _resolve(req["probe"])(req)
    except Exception as e:  # anything short of a crash is an answer
        # OpenVINO leads with where it threw ("Exception from src/...", "Check '...' failed"):
        # the line that says what is wrong comes after those.
        text = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        said = [ln for ln in text if not ln.startswith(("Exception from ", "Check '"))]
        return {"ok": False, "error": (said or text or [type(e).__name__])[0][:300]}
    return {"ok": True}


def _forked(req: dict) -> dict:
    """``handle(req)`` in a forked child; its death or silence becomes the answer."""
    import select
    import signal
    import time

    _resolve(req["probe"])  # imports the runtime here, once, rather than in every fork

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer through the pipe, then leave without cleanup
        os.close(read)
        try:
            os.write(write, json.dumps(handle(req)).encode())
        finally:
            os._exit(0)
    os.close(write)
    timeout = float(req.get("timeout", 60))
    deadline, chunks = time.monotonic() + timeout, []
    with os.fdopen(read, "rb") as pipe:
        while True:
            ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return {"ok": False, "crashed": f"no answer within {timeout:.0f} s"}
            chunk = os.read(pipe.fileno(), 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if chunks:
        return json.loads(b"".join(chunks))
    if os.WIFSIGNALED(status):
        try:
            return {"ok": False, "crashed": signal.Signals(os.WTERMSIG(status)).name}
        except ValueError:
            return {"ok": False, "crashed": f"signal {os.WTERMSIG(status)}"}
    return {"ok": False, "crashed": f"exit code {os.WEXITSTATUS(status)}"}


def main() -> None:
    # Native code may print to fd 1: keep the protocol on a private copy of it.
    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    import ai_edge_litert.interpreter  # noqa: F401  (imported once, before the forks)

    for line in sys.stdin:
        if line.strip():
            proto.write(json.dumps(_forked(json.loads(line))) + "\n")
            proto.flush()


if __name__ == "__main__":
    main()
