"""The interpreter: op-by-op execution, constexpr ops folded at load, unknown ops refused."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import CannotSimulate
from targets.coreml.mil_interpreter import MILInterpreter
from targets.coreml.mil_program import MILProgram
from tests.targets.coreml.mil_build import save_program

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
    from targets.coreml import mil_ops

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


class _AddressSpace:
    """At most ``extra`` more bytes of address space while inside: an allocation the test
    must never make fails fast (MemoryError) instead of exhausting the machine."""

    def __init__(self, extra: int):
        self.extra = extra

    def __enter__(self):
        import resource

        self.old = resource.getrlimit(resource.RLIMIT_AS)
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (used + self.extra, self.old[1]))

    def __exit__(self, *exc):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, self.old)


def test_a_16_gib_tile_is_refused_before_allocating(tmp_path):
    def f(x):
        return mb.tile(x=x, reps=[65536, 65536], name="huge")  # 4 Gi float32 = 16 GiB

    interp = MILInterpreter(MILProgram(save_program(f, [(1, 1)], tmp_path)))
    with _AddressSpace(512 << 20), pytest.raises(CannotSimulate, match=r"op tile: huge would have 4,294,967,296 elements"):
        interp.run({"x": np.ones((1, 1), np.float32)})


def test_a_huge_constexpr_is_reported_at_load(tmp_path):
    import struct

    from targets.coreml.mil_program import MODEL_FILE

    def f(x):
        return mb.mul(x=x, y=mb.constexpr_lut_to_dense(lut=np.float32([0, 1]), indices=np.uint8([5]), shape=np.uint32([8])))

    path = save_program(f, [(8,)], tmp_path)
    program = MILProgram(path)
    # A crafted file: the constexpr's shape says 65536 x 65536 (16 GiB of float32).
    shape = next(op for op in program.ops if op.type == "constexpr_lut_to_dense").attributes["shape"]
    shape.type.tensorType.dimensions[0].constant.size = 2
    shape.immediateValue.tensor.bytes.values = struct.pack("<II", 65536, 65536)
    (path / MODEL_FILE).write_bytes(program.spec.SerializeToString())
    with _AddressSpace(512 << 20):
        interp = MILInterpreter(MILProgram(path))
    assert interp.unsupported and "4,294,967,296 elements" in interp.unsupported[0]
    with pytest.raises(CannotSimulate, match="cannot simulate op constexpr_lut_to_dense"):
        interp.run({"x": np.ones(8, np.float32)})
