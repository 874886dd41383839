"""Build one-op (or few-op) ML Programs with coremltools' MIL builder, save them as
.mlpackage files and run them in edgekit's interpreter: the interpreter sees exactly what
coremltools serializes."""

from __future__ import annotations

import inspect
import itertools
from pathlib import Path

import numpy as np

_COUNTER = itertools.count()


def save_program(fn, shapes: list[tuple[int, ...]], out_dir: Path, precision: str = "float32", passes: bool = False,
                 opset: str = "iOS16") -> Path:  # fmt: skip
    """Turn ``fn`` (params named like the program inputs) into a saved ML Program (``opset``: iOS16 or later)."""
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb

    names = list(inspect.signature(fn).parameters)
    specs = [mb.TensorSpec(shape=s) for s in shapes]
    target = getattr(ct.target, opset)
    prog = mb.program(input_specs=specs, opset_version=target)(fn)
    assert [v for v in prog.functions["main"].inputs] == names
    model = ct.convert(
        prog, convert_to="mlprogram", minimum_deployment_target=target, skip_model_load=True,
        compute_precision=ct.precision.FLOAT32 if precision == "float32" else ct.precision.FLOAT16,
        pass_pipeline=None if passes else ct.PassPipeline.EMPTY,
    )  # fmt: skip
    path = out_dir / f"p{next(_COUNTER)}.mlpackage"
    model.save(str(path))
    return path


def run_program(fn, *arrays: np.ndarray, out_dir: Path, precision: str = "float32", passes: bool = False,
                opset: str = "iOS16") -> list[np.ndarray]:  # fmt: skip
    """Outputs of ``fn`` built as an ML Program and executed by edgekit's interpreter."""
    from targets.coreml.mil_interpreter import MILInterpreter
    from targets.coreml.mil_program import MILProgram

    path = save_program(fn, [a.shape for a in arrays], out_dir, precision, passes, opset)
    program = MILProgram(path)
    return MILInterpreter(program).outputs({v.name: a for v, a in zip(program.inputs, arrays)})
