"""A read-only view of the ML Program saved in a ``.mlpackage``.

Reads ``Data/com.apple.CoreML/model.mlmodel`` (the Core ML protobuf, with coremltools'
bindings) and the constants in ``weights/weight.bin`` as they are stored: the weight file is
parsed here with NumPy (64-byte file header, then per blob a 64-byte record starting with the
0xDEADBEEF sentinel: data type, size in bytes, offset of the data), sub-byte types (uint1..6,
int4) unpacked least significant bit first, as coremltools writes them.
"""

from __future__ import annotations

import math
import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.errors import ModelFileError

MODEL_FILE = Path("Data") / "com.apple.CoreML" / "model.mlmodel"
_SENTINEL = 0xDEADBEEF
# MIL DataType names -> (numpy dtype, bits) ; sub-byte types unpack into uint8/int8.
_DTYPES = {
    "BOOL": (np.bool_, 8), "FLOAT16": (np.float16, 16), "FLOAT32": (np.float32, 32), "FLOAT64": (np.float64, 64),
    "INT8": (np.int8, 8), "INT16": (np.int16, 16), "INT32": (np.int32, 32), "INT64": (np.int64, 64),
    "UINT8": (np.uint8, 8), "UINT16": (np.uint16, 16), "UINT32": (np.uint32, 32), "UINT64": (np.uint64, 64),
    "INT4": (np.int8, 4), "UINT1": (np.uint8, 1), "UINT2": (np.uint8, 2), "UINT3": (np.uint8, 3),
    "UINT4": (np.uint8, 4), "UINT6": (np.uint8, 6), "STRING": (np.object_, 0),
}  # fmt: skip


@dataclass(frozen=True)
class Var:
    """A named value of the program: its MIL data type name and static shape (None if unknown)."""

    name: str
    dtype: str
    shape: tuple[int, ...] | None


def _proto():
    from coremltools.proto import MIL_pb2, Model_pb2

    return Model_pb2, MIL_pb2


def unpack_bits(raw: np.ndarray, bits: int, count: int, signed: bool = False) -> np.ndarray:
    """``count`` values of ``bits`` bits each, packed least significant bit first."""
    flat = np.unpackbits(raw.view(np.uint8), bitorder="little")[: count * bits].reshape(count, bits)
    values = (flat.astype(np.int16) << np.arange(bits, dtype=np.int16)).sum(axis=1)
    if signed:
        values = np.where(values >= 1 << (bits - 1), values - (1 << bits), values)
        return values.astype(np.int8)
    return values.astype(np.uint8)


class WeightFile:
    """The blobs of one ``weight.bin``, read on demand."""

    def __init__(self, path: Path):
        self.path = path
        self.data = np.fromfile(path, np.uint8) if path.exists() else np.zeros(0, np.uint8)

    def blob(self, offset: int) -> bytes:
        if offset + 64 > len(self.data):
            raise ModelFileError(f"{self.path}: blob offset {offset} lies outside the weight file")
        sentinel, _dtype, size, data_offset = struct.unpack_from("<IIQQ", self.data, offset)
        if sentinel != _SENTINEL or data_offset + size > len(self.data):
            raise ModelFileError(f"{self.path}: no valid blob record at offset {offset} (corrupt weight file?)")
        return self.data[data_offset : data_offset + size]

    def read(self, offset: int, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
        raw = self.blob(offset)
        np_type, bits = _DTYPES[dtype]
        count = math.prod(shape)
        if bits < 8:
            values = unpack_bits(raw, bits, count, signed=dtype == "INT4")
        else:
            values = raw.view(np_type)[:count]
        if values.size != count:
            raise ModelFileError(f"{self.path}: blob at {offset} holds {values.size} values, expected {count}")
        return values.reshape(shape).copy()


class MILProgram:
    """The main function of an ML Program: inputs, operations, outputs, constants."""

    def __init__(self, package: Path):
        self.package = Path(package)
        model_path = self.package / MODEL_FILE
        if not model_path.is_file():
            raise ModelFileError(f"{package}: not a Core ML package (no {MODEL_FILE})")
        Model_pb2, MIL_pb2 = _proto()
        self._mil = MIL_pb2
        self.spec = Model_pb2.Model()
        try:
            self.spec.ParseFromString(model_path.read_bytes())
        except Exception as e:  # protobuf's DecodeError
            raise ModelFileError(f"{model_path}: not a readable Core ML model ({type(e).__name__})") from e
        if self.spec.WhichOneof("Type") != "mlProgram":
            raise ModelFileError(f"{package}: holds a {self.spec.WhichOneof('Type')} model, not an ML Program")
        program = self.spec.mlProgram
        if "main" not in program.functions:
            raise ModelFileError(f"{package}: the ML Program has no main function")
        fn = program.functions["main"]
        self.opset = fn.opset
        block = fn.block_specializations[fn.opset]
        self.inputs = tuple(self.var(v) for v in fn.inputs)
        self.ops = list(block.operations)
        self.output_names = tuple(block.outputs)
        self.weights = WeightFile(self.package / MODEL_FILE.parent / "weights" / "weight.bin")
        self.vars = {v.name: v for v in self.inputs}
        for op in self.ops:
            for out in op.outputs:
                self.vars[out.name] = self.var(out)

    def var(self, named) -> Var:
        """A Var from a NamedValueType."""
        dtype, shape = self.type_of(named.type)
        return Var(named.name, dtype, shape)

    def type_of(self, vtype) -> tuple[str, tuple[int, ...] | None]:
        kind = vtype.WhichOneof("type")
        if kind != "tensorType":
            return kind or "unknown", None
        t = vtype.tensorType
        dims = []
        for d in t.dimensions:
            if d.WhichOneof("dimension") != "constant":
                return self._mil.DataType.Name(t.dataType), None
            dims.append(int(d.constant.size))
        return self._mil.DataType.Name(t.dataType), tuple(dims)

    def value(self, v) -> np.ndarray | str | list:
        """The array (or string) a proto Value holds, immediate or in the weight file."""
        dtype, shape = self.type_of(v.type)
        kind = v.WhichOneof("value")
        if kind == "blobFileValue":
            return self.weights.read(int(v.blobFileValue.offset), dtype, shape or ())
        if kind != "immediateValue":
            raise ModelFileError(f"{self.package}: a value of kind {kind} cannot be read")
        imm = v.immediateValue
        if imm.WhichOneof("value") != "tensor":
            if imm.WhichOneof("value") == "list":
                return [self.value(e) for e in imm.list.values]
            raise ModelFileError(f"{self.package}: immediate {imm.WhichOneof('value')} values are not supported")
        tv = imm.tensor
        which = tv.WhichOneof("value")
        if which == "strings":
            vals = list(tv.strings.values)
            return vals[0] if shape == () else vals
        np_type, bits = _DTYPES.get(dtype, (np.float32, 32))
        if which == "bytes":
            raw = np.frombuffer(tv.bytes.values, np.uint8)
            arr = unpack_bits(raw, bits, math.prod(shape), dtype == "INT4") if bits < 8 else raw.view(np_type)
        else:
            arr = np.asarray(list(getattr(tv, which).values))
        return arr.astype(np_type).reshape(shape if shape is not None else arr.shape)

    def attribute(self, op, key: str, default=None):
        return self.value(op.attributes[key]) if key in op.attributes else default

    def op_histogram(self) -> dict[str, int]:
        counts = Counter(op.type for op in self.ops)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def weight_file_bytes(self) -> int:
        return int(self.weights.data.size)

    @property
    def is_classifier(self) -> bool:
        return any(op.type == "classify" for op in self.ops)
