"""The ML Program reader: weight blobs, sub-byte unpacking, immediates, bad packages."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from edgekit.errors import ModelFileError
from targets.coreml.mil_program import MILProgram, WeightFile, unpack_bits
from tests.targets.coreml.mil_build import save_program

mb = pytest.importorskip("coremltools.converters.mil").Builder


@pytest.mark.parametrize("bits,signed", [(1, False), (2, False), (3, False), (4, False), (6, False), (4, True)])
def test_unpack_bits_matches_coremltools(bits, signed):
    from coremltools.optimize import _utils as ref

    rng = np.random.default_rng(bits)
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1)) if signed else (0, 2**bits)
    values = rng.integers(lo, hi, 37).astype(np.int8 if signed else np.uint8)
    packed = ref.pack_elements_into_bits(values, bits)
    assert (unpack_bits(packed, bits, 37, signed) == values).all()
    assert (ref.restore_elements_from_packed_bits(packed, bits, 37, signed) == values).all()


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    w = np.arange(4096, dtype=np.float32).reshape(64, 64) / 7.0

    def f(x):
        return mb.linear(x=x, weight=w, bias=np.float32(np.arange(64)), name="y")

    return save_program(f, [(1, 64)], tmp_path_factory.mktemp("prog")), w


def test_reads_weights_from_the_blob_file(package):
    path, w = package
    program = MILProgram(path)
    consts = {op.outputs[0].name: program.value(op.attributes["val"]) for op in program.ops if op.type == "const"}
    big = [v for v in consts.values() if isinstance(v, np.ndarray) and v.shape == (64, 64)]
    assert len(big) == 1 and np.array_equal(big[0], w)  # stored in weight.bin (large), read back exactly
    assert program.inputs[0].shape == (1, 64) and program.inputs[0].dtype == "FLOAT32"
    assert program.op_histogram()["linear"] == 1 and program.weight_file_bytes() > w.nbytes
    assert program.vars["y"].shape == (1, 64) and not program.is_classifier


def test_blob_reader_agrees_with_coremltools(package):
    from coremltools.libmilstoragepython import _BlobStorageReader

    path, w = package
    program = MILProgram(path)
    op = next(op for op in program.ops if op.type == "const" and op.attributes["val"].WhichOneof("value") == "blobFileValue")
    offset = op.attributes["val"].blobFileValue.offset
    ref = np.asarray(_BlobStorageReader(str(program.weights.path)).read_float_data(offset))
    assert np.array_equal(program.weights.read(offset, "FLOAT32", (64, 64)).reshape(-1), ref)


def test_bad_packages_are_one_line_errors(package, tmp_path):
    path, _ = package
    with pytest.raises(ModelFileError, match="not a Core ML package"):
        MILProgram(tmp_path)
    broken = tmp_path / "broken.mlpackage"
    shutil.copytree(path, broken)
    (broken / "Data/com.apple.CoreML/model.mlmodel").write_bytes(b"\x08\x01garbage")
    with pytest.raises(ModelFileError, match="not a readable Core ML model|not an ML Program"):
        MILProgram(broken)
    weights = tmp_path / "weight.bin"
    weights.write_bytes(b"\0" * 128)
    with pytest.raises(ModelFileError, match="no valid blob record"):
        WeightFile(weights).read(64, "FLOAT32", (2,))
    with pytest.raises(ModelFileError, match="outside the weight file"):
        WeightFile(weights).read(4096, "FLOAT32", (2,))
