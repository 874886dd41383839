"""Child process that meets a model file in a native runtime first (see ``probe.py``).

Protocol (one JSON object per line on stdin, one reply line on stdout):
  {"cmd": "litert", "model": PATH, "kernels": "xnnpack"|"builtin"|"reference"} -> {"ok": bool, "error": str}
  {"cmd": "openvino", "model": XML}                                           -> {"ok": bool, "error": str}
Each loads the model, allocates it and runs one inference on zeros. A segfault or abort
kills only this process; the parent turns that into an error naming the file.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np


def _litert(req: dict) -> None:
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


def _openvino(req: dict) -> None:
    import openvino as ov

    core = ov.Core()
    compiled = core.compile_model(core.read_model(req["model"]), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    arrays = []
    for port in compiled.inputs:
        shape = port.get_partial_shape()
        if shape.is_dynamic:
            raise ValueError(f"input {port.get_any_name()} has a dynamic shape {shape}")
        arrays.append(np.zeros(shape.to_shape(), port.get_element_type().to_dtype()))
    compiled(arrays)


def handle(req: dict) -> dict:
    try:
        {"litert": _litert, "openvino": _openvino}[req["cmd"]](req)
    except Exception as e:  # anything short of a crash is an answer
        # OpenVINO leads with where it threw ("Exception from src/...", "Check '...' failed"):
        # the line that says what is wrong comes after those.
        text = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        said = [ln for ln in text if not ln.startswith(("Exception from ", "Check '"))]
        return {"ok": False, "error": (said or text or [type(e).__name__])[0][:300]}
    return {"ok": True}


def main() -> None:
    # Native code may print to fd 1: keep the protocol on a private copy of it.
    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    for line in sys.stdin:
        if line.strip():
            proto.write(json.dumps(handle(json.loads(line))) + "\n")
            proto.flush()


if __name__ == "__main__":
    main()
