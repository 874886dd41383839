"""Executes an ML Program's main function op by op with the NumPy kernels of ``mil_ops``.

Constants and the compile-time ``constexpr_*`` ops are evaluated once at load; every other
op runs per call, its inputs looked up by name, its results rounded to the output types the
program declares (so fp16 compute rounds after every op). An op without a kernel is found at
load and reported as "cannot simulate op X"; nothing is ever guessed.
"""

from __future__ import annotations

import numpy as np

from edgekit.errors import CannotSimulate
from targets.coreml.mil_ops import MAX_ELEMENTS, OPS, result_elements
from targets.coreml.mil_program import MILProgram

_FLOAT = {"FLOAT16": np.float16, "FLOAT32": np.float32, "FLOAT64": np.float64}


class MILInterpreter:
    def __init__(self, program: MILProgram):
        self.program = program
        self.unsupported = sorted({op.type for op in program.ops if op.type != "const" and op.type not in OPS})
        self.consts: dict[str, object] = {}
        self.steps = []
        for op in program.ops:
            if op.type == "const":
                self.consts[op.outputs[0].name] = program.value(op.attributes["val"])
            elif op.type not in OPS:
                continue  # listed in self.unsupported; run() refuses
            elif op.type.startswith("constexpr_"):
                try:
                    args = self._args(op, self.consts)
                    too_big = self._too_big(op, args)
                    if too_big:
                        self.unsupported.append(f"{op.type} ({too_big})")
                        continue
                    self._store(op, OPS[op.type](args), self.consts)
                except (KeyError, ValueError, IndexError, NotImplementedError) as e:  # a form we do not know
                    self.unsupported.append(f"{op.type} ({type(e).__name__}: {e})")
            else:
                self.steps.append(op)

    def check(self) -> None:
        if self.unsupported:
            raise CannotSimulate(
                f"{self.program.package.name}: cannot simulate op {', '.join(self.unsupported)} "
                "(no NumPy kernel in edgekit's MIL interpreter); this artifact is not validated here"
            )

    @staticmethod
    def _too_big(op, args: dict) -> str | None:
        """Why an op's result is refused before it is made (a tile or broadcast a file asks for), or None."""
        elements = result_elements(op.type, args)
        if elements > MAX_ELEMENTS:
            return f"{op.outputs[0].name} would have {elements:,} elements, more than the {MAX_ELEMENTS:,} allowed"
        return None

    def _args(self, op, env: dict) -> dict:
        args = {key: self._arg(key, arg, env) for key, arg in op.inputs.items()}
        for key in op.attributes:  # constexpr ops carry their parameters as attributes
            if key not in ("name", "val") and key not in args:
                args[key] = self.program.value(op.attributes[key])
        return args

    def _arg(self, key: str, arg, env: dict):
        vals = [env[b.name] if b.WhichOneof("binding") == "name" else self.program.value(b.value) for b in arg.arguments]
        return vals if key == "values" or len(vals) > 1 else vals[0]

    def value_of(self, op, key: str):
        """A constant input of ``op`` (e.g. a classifier's class list)."""
        return self._arg(key, op.inputs[key], self.consts)

    def _store(self, op, result, env: dict) -> None:
        results = result if isinstance(result, tuple) else (result,)
        for out, value in zip(op.outputs, results):
            want = _FLOAT.get(self.program.vars[out.name].dtype)
            if want is not None and isinstance(value, np.ndarray) and value.dtype != want:
                value = value.astype(want)
            env[out.name] = value

    def _rebatched(self, op, args: dict) -> dict:
        """A reshape whose target pins the declared batch, applied to a larger batch: the
        target's first dimension follows the input's (the caller verifies the results)."""
        declared = self.program.vars.get(op.inputs["x"].arguments[0].name)
        shape = [int(d) for d in np.atleast_1d(args["shape"])]
        x = np.asarray(args["x"])
        if declared and declared.shape and shape and x.ndim and x.shape[0] != declared.shape[0] == shape[0]:
            shape[0] = x.shape[0]
        return {**args, "shape": np.asarray(shape)}

    def run(self, feeds: dict[str, np.ndarray], rebatch: bool = False) -> dict[str, object]:
        """Every named value after running the program on ``feeds`` (input name -> array);
        ``rebatch``: the feeds hold more samples than the program's fixed batch."""
        self.check()
        env = dict(self.consts)
        for var in self.program.inputs:
            want = _FLOAT.get(var.dtype, np.float32)
            env[var.name] = np.asarray(feeds[var.name]).astype(want)
        for op in self.steps:
            try:
                args = self._args(op, env)
                if rebatch and op.type == "reshape":
                    args = self._rebatched(op, args)
                too_big = self._too_big(op, args)
                if too_big:
                    raise CannotSimulate(f"{self.program.package.name}: cannot simulate op {op.type}: {too_big} "
                                         "for one result in edgekit's MIL interpreter")  # fmt: skip
                result = OPS[op.type](args)
            except (NotImplementedError, KeyError) as e:
                raise CannotSimulate(f"{self.program.package.name}: cannot simulate op {op.type} "
                                     f"({op.outputs[0].name}): {e}") from e  # fmt: skip
            self._store(op, result, env)
        return env

    def outputs(self, feeds: dict[str, np.ndarray], rebatch: bool = False) -> list[object]:
        env = self.run(feeds, rebatch)
        return [env[name] for name in self.program.output_names]
