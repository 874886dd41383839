"""The interpreter: op-by-op execution, constexpr ops folded at load, unknown ops refused."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import CannotSimulate
from edgekit.simulate.mil_interpreter import MILInterpreter
from edgekit.simulate.mil_program import MILProgram
from tests.simulate.mil_build import save_program

mb = pytest.importorskip("coremltools.converters.mil").Builder


def test_chain_of_ops_and_intermediate_values(tmp_path):
    w = np.random.default_rng(0).random((4, 3)).astype(np.float32)

    def f(x):
        h = mb.relu(x=mb.linear(x=x, weight=w, name="h"), name="r")
        return mb.softmax(x=h, axis=-1, name="y")

    program = MILProgram(save_program(f, [(2, 3)], tmp_path))
    interp = MILInterpreter(program)
    x = np.float32([[1, -2, 3], [0.5, 0.5, -1]])
    env = interp.run({"x": x})
    h = np.maximum(x @ w.T, 0)
    assert np.allclose(env["r"], h, atol=1e-6)
    e = np.exp(h - h.max(1, keepdims=True))
    assert np.allclose(interp.outputs({"x": x})[0], e / e.sum(1, keepdims=True), atol=1e-6)


def test_constexpr_ops_run_once_at_load(tmp_path):
    lut = np.float32([0.0, 1.0, 2.0, 3.0])

    def f(x):
        return mb.mul(x=x, y=mb.constexpr_lut_to_dense(lut=lut, indices=np.uint8([0b11100100]), shape=np.uint32([4])))

    interp = MILInterpreter(MILProgram(save_program(f, [(4,)], tmp_path)))
    assert [op.type for op in interp.steps] == ["mul"]
    assert np.allclose(interp.outputs({"x": np.ones(4, np.float32)})[0], lut)


def test_unknown_op_is_reported_not_guessed(tmp_path):
    def f(x):
        return mb.erf(x=x)  # not in the interpreter's op table

    interp = MILInterpreter(MILProgram(save_program(f, [(3,)], tmp_path)))
    assert interp.unsupported == ["erf"]
    with pytest.raises(CannotSimulate, match="cannot simulate op erf"):
        interp.run({"x": np.zeros(3, np.float32)})


def test_a_constexpr_form_it_cannot_decode_is_reported(tmp_path, monkeypatch):
    from edgekit.simulate import mil_ops

    def f(x):
        return mb.mul(x=x, y=mb.constexpr_lut_to_dense(lut=np.float32([0, 1]), indices=np.uint8([5]), shape=np.uint32([4])))

    path = save_program(f, [(4,)], tmp_path)

    def broken(a):
        raise ValueError("unexpected layout")

    monkeypatch.setitem(mil_ops.OPS, "constexpr_lut_to_dense", broken)
    interp = MILInterpreter(MILProgram(path))
    assert interp.unsupported == ["constexpr_lut_to_dense (ValueError: unexpected layout)"]
    with pytest.raises(CannotSimulate, match="cannot simulate op constexpr_lut_to_dense"):
        interp.run({"x": np.ones(4, np.float32)})
