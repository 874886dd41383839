"""Which op makes TFLM crash: a model is cut into one-op models, each loaded and invoked alone.

TFLM aborts without a word on some kernels' preconditions (a quantization scale out of
range, a shape a kernel does not handle), so a crash says nothing about the file. The
worker (``tflm_worker``, command ``narrow``) tries every op of the main subgraph on its own,
each in a forked process, and answers with the first one that crashes. If none does, the
crash comes from the graph as a whole: a damaged file.
"""

from __future__ import annotations

import os

import numpy as np


def single_op_model(data: bytes, index: int) -> bytes:
    """A model of op ``index`` of the main subgraph alone: its tensors and constants, its
    non-constant inputs as the model inputs, its outputs as the model outputs."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(data, 0))
    sg = model.subgraphs[0]
    op = sg.operators[index]
    inner = list(op.intermediates) if op.intermediates is not None else []
    used = [t for t in dict.fromkeys([*op.inputs, *op.outputs, *inner]) if t >= 0]
    constant = {t for t in used if model.buffers[sg.tensors[t].buffer].data is not None
                and len(model.buffers[sg.tensors[t].buffer].data)}  # fmt: skip
    new = {t: k for k, t in enumerate(used)}
    sg.tensors = [sg.tensors[t] for t in used]
    sg.inputs = [new[t] for t in used if t in op.inputs and t not in constant and t not in op.outputs]
    sg.outputs = [new[t] for t in op.outputs]
    op.inputs = [new.get(t, -1) for t in op.inputs]
    op.outputs = [new[t] for t in op.outputs]
    if op.intermediates is not None:
        op.intermediates = [new[t] for t in op.intermediates]
    sg.operators = [op]
    model.subgraphs = [sg]
    model.signatureDefs = []
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _try(sub: bytes, inputs: int, arena: int) -> None:
    """In a forked child: load, allocate and invoke one op on zeros; exit 0 unless TFLM crashes."""
    try:
        from tflite_micro.python.tflite_micro import runtime

        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # TFLM's own log is not the answer
        interp = runtime.Interpreter.from_bytes(sub, arena_size=arena)
        for i in range(inputs):
            d = interp.get_input_details(i)
            interp.set_input(np.zeros(d["shape"], d["dtype"]), i)
        interp.invoke()
    except BaseException:  # noqa: BLE001 - refused with an error is an answer, not a crash
        pass
    os._exit(0)


def first_crashing_op(data: bytes, arena: int, timeout: float = 60.0) -> dict | None:
    """{"index", "how"} of the first op TFLM crashes on alone, or None (run in the worker)."""
    from ai_edge_litert import schema_py_generated as schema

    count = schema.Model.GetRootAs(data, 0).Subgraphs(0).OperatorsLength()
    for index in range(count):
        try:
            sub = single_op_model(data, index)
        except Exception:  # noqa: BLE001 - an op that cannot even be cut out is not the answer
            continue
        inputs = schema.Model.GetRootAs(sub, 0).Subgraphs(0).InputsLength()
        pid = os.fork()
        if pid == 0:
            _try(sub, inputs, arena)
        how = _wait(pid, timeout)
        if how is not None:
            return {"index": index, "how": how}
    return None


def _wait(pid: int, timeout: float) -> str | None:
    """How the forked child ``pid`` died (signal, exit code, hang), or None when it exited cleanly."""
    import signal
    import time

    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return f"no answer within {timeout:.0f} s"
        time.sleep(0.005)
    if os.WIFSIGNALED(status):
        return signal.Signals(os.WTERMSIG(status)).name
    return f"exit code {os.WEXITSTATUS(status)}" if os.WEXITSTATUS(status) else None
