"""Child process that drives the TFLite Micro interpreter (``tflite-micro`` package).

The TFLM Python interpreter can segfault or abort on an arena that is too small or a model
it cannot handle, taking its process down. It therefore only ever runs here, in a child of
the edgekit process, which turns a dead child into an error message.

Protocol (one JSON object per line on stdin, one reply line on stdout):
  {"cmd": "probe", "model": PATH, "arena": N}          -> {"ok": bool, "error": str}
  {"cmd": "allocations", "model": PATH, "arena": N}     -> {"ok": true, "text": print_allocations output}
  {"cmd": "narrow", "model": PATH, "arena": N}          -> {"ok": true, "op": {"index", "how"} | null}
       (the first op TFLM crashes on alone, see tflm_narrow)
  {"cmd": "run", "model": PATH, "arena": N, "n_outputs": K, "inputs": NPZ, "outputs": NPZ}
  {"cmd": "time", "model": PATH, "arena": N, "inputs": NPZ, "seconds": S}  -> {"times": [...]}
       inputs: arrays i0, i1, ... (samples first, stored dtype); writes o0, o1, ...
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

import numpy as np


def _interpreter(model: str, arena: int):
    from tflite_micro.python.tflite_micro import runtime

    with open(model, "rb") as f:
        data = f.read()
    return runtime.Interpreter.from_bytes(data, arena_size=arena)


def _with_log(fn):
    """Call ``fn`` with fd 2 (where TFLM's C++ logs go) captured: (result or exception, log)."""
    with tempfile.TemporaryFile() as tmp:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            result = fn()
        except (RuntimeError, ValueError) as e:
            result = e
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return result, tmp.read().decode("utf-8", "replace")


def _run(req: dict) -> dict:
    interp = _interpreter(req["model"], req["arena"])
    with np.load(req["inputs"]) as z:
        inputs = [z[f"i{i}"] for i in range(len(z.files))]
    n = len(inputs[0])
    outs: list[list[np.ndarray]] = []
    for s in range(n):
        for i, x in enumerate(inputs):
            interp.set_input(x[s : s + 1], i)
        interp.invoke()
        outs.append([np.array(interp.get_output(k)) for k in range(req["n_outputs"])])
        interp.reset()  # stateful models (LSTM, SVDF) start each sample fresh
    np.savez(req["outputs"], **{f"o{k}": np.concatenate([o[k] for o in outs]) for k in range(len(outs[0]))})
    return {"ok": True, "samples": n}


def _time(req: dict) -> dict:
    """Seconds per invoke (after warm-up), measured here to leave out the pipe to the parent."""
    import time

    interp = _interpreter(req["model"], req["arena"])
    with np.load(req["inputs"]) as z:
        inputs = [z[f"i{i}"] for i in range(len(z.files))]
    for i, x in enumerate(inputs):
        interp.set_input(x[:1], i)
    for _ in range(req.get("warmup", 5)):
        interp.invoke()
    times = []
    deadline = time.perf_counter() + req.get("seconds", 2.0)
    while len(times) < req.get("min_runs", 20) or (time.perf_counter() < deadline and len(times) < req.get("max_runs", 1000)):
        start = time.perf_counter()
        interp.invoke()
        times.append(time.perf_counter() - start)
    return {"ok": True, "times": times}


def handle(req: dict) -> dict:
    try:
        if req["cmd"] == "probe":
            result, log = _with_log(lambda: _interpreter(req["model"], req["arena"]))
            if isinstance(result, Exception):
                return {"ok": False, "error": str(result), "log": log[-2000:]}
            return {"ok": True}
        if req["cmd"] == "allocations":
            _, text = _with_log(_interpreter(req["model"], req["arena"]).print_allocations)
            return {"ok": True, "text": text}
        if req["cmd"] == "narrow":
            from targets.tflm.narrow import first_crashing_op

            with open(req["model"], "rb") as f:
                return {"ok": True, "op": first_crashing_op(f.read(), req["arena"])}
        if req["cmd"] == "run":
            return _run(req)
        if req["cmd"] == "time":
            return _time(req)
        return {"ok": False, "error": f"unknown command {req['cmd']!r}"}
    except (RuntimeError, ValueError) as e:
        return {"ok": False, "error": str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        reply = handle(json.loads(line))
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
