"""TFLiteGraph: a read-only view of a ``.tflite`` flatbuffer.

Read with the schema bindings LiteRT ships (``ai_edge_litert.schema_py_generated``), so it
needs neither TensorFlow nor an interpreter. Everything that reasons about a model's
structure (inspect, op resolvers, arena and cost estimates, C generation) reads this view.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path


from edgekit.errors import ModelFileError

_MAGIC = b"TFL3"
MAX_TENSOR_BYTES = 2**31 - 1  # LiteRT and TFLM size tensors with 32-bit ints
_READ_LOCK = threading.Lock()


def _schema():
    from ai_edge_litert import schema_py_generated as schema

    return schema


def _enum_names(cls) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


@dataclass(frozen=True)
class Quant:
    """Affine quantization of a tensor: one scale/zero point, or one per channel on ``axis``."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...]
    dtype: str  # lower-case TFLite type name: "float32", "int8", ...
    buffer: int
    data_bytes: int  # bytes of constant data stored in the model (0 for activations)
    quant: Quant | None
    is_variable: bool

    @property
    def is_constant(self) -> bool:
        return self.data_bytes > 0

    @property
    def elements(self) -> int:
        return math.prod(self.shape) if self.shape else 1

    @property
    def nbytes(self) -> int:
        """Bytes the tensor occupies at run time (from its shape and dtype)."""
        return math.ceil(self.elements * DTYPE_BITS.get(self.dtype, 32) / 8)

    @property
    def dynamic(self) -> bool:
        return any(d < 0 for d in self.shape_signature)

    def info(self):
        """The edgekit.tensors.TensorInfo runners describe this tensor with (per-tensor
        quantization only: a per-channel tensor is not a model input or output)."""
        from edgekit.tensors import TensorInfo

        q = self.quant if self.quant is not None and len(self.quant.scale) == 1 else None
        return TensorInfo(self.name, self.shape, self.dtype, q.scale[0] if q else None, q.zero_point[0] if q else None)


@dataclass(frozen=True)
class Op:
    index: int
    opcode: str  # builtin name such as "CONV_2D", or "CUSTOM:Name"
    version: int
    inputs: tuple[int, ...]  # -1 marks an omitted optional input
    outputs: tuple[int, ...]
    macs: int


@dataclass(frozen=True)
class Subgraph:
    index: int
    name: str
    tensors: tuple[Tensor, ...]
    ops: tuple[Op, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


DTYPE_BITS = {
    "float32": 32, "float16": 16, "int32": 32, "uint8": 8, "int64": 64, "bool": 8,
    "int16": 16, "int8": 8, "float64": 64, "complex64": 64, "complex128": 128,
    "uint64": 64, "uint32": 32, "uint16": 16, "int4": 4, "bfloat16": 16, "int2": 2,
    "uint4": 4, "float8_e4m3fn": 8, "float8_e5m2": 8,
}  # fmt: skip


class TFLiteGraph:
    """The structure of a TFLite model: subgraphs, ops, tensors, buffers, MACs, lifetimes."""

    def __init__(self, data: bytes, source: str = "<bytes>"):
        self.data = bytes(data)
        self.source = source
        verify_flatbuffer(self.data, source)
        try:
            self._parse()
        except ModelFileError:
            raise
        except Exception as e:  # a corrupt flatbuffer fails anywhere inside the bindings
            raise ModelFileError(
                f"{source}: corrupt TFLite flatbuffer ({type(e).__name__} while reading it); "
                "re-export the model"
            ) from e

    @classmethod
    def from_file(cls, path: str | Path) -> TFLiteGraph:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ModelFileError(f"{path}: cannot read ({e.strerror})") from e
        return cls(data, str(path))

    # -- parsing ---------------------------------------------------------------------------
    def _parse(self) -> None:
        schema = _schema()
        model = schema.Model.GetRootAs(self.data, 0)
        builtin = _enum_names(schema.BuiltinOperator)
        types = {k: v.lower() for k, v in _enum_names(schema.TensorType).items()}
        self.version = model.Version()
        self.description = (model.Description() or b"").decode("utf-8", "replace")

        n_buffers = model.BuffersLength()
        buffer_bytes = []
        for i in range(n_buffers):
            buf = model.Buffers(i)
            size = buf.DataLength()
            if size == 0 and buf.Offset() > 1:
                size = buf.Size()
                if buf.Offset() + size > len(self.data):
                    raise ModelFileError(
                        f"{self.source}: buffer {i} points past the end of the file (truncated?)"
                    )
            buffer_bytes.append(int(size))
        self.buffer_bytes = tuple(buffer_bytes)

        self.opcodes = []
        for i in range(model.OperatorCodesLength()):
            code = model.OperatorCodes(i)
            b = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            name = builtin.get(b, f"BUILTIN_{b}")
            if name == "CUSTOM":
                name = "CUSTOM:" + (code.CustomCode() or b"?").decode("utf-8", "replace")
            self.opcodes.append((name, code.Version()))

        subgraphs = []
        for s in range(model.SubgraphsLength()):
            sg = model.Subgraphs(s)
            tensors = tuple(self._tensor(sg.Tensors(t), t, types) for t in range(sg.TensorsLength()))
            ops = []
            for o in range(sg.OperatorsLength()):
                op = sg.Operators(o)
                idx = op.OpcodeIndex()
                if idx >= len(self.opcodes):
                    raise ModelFileError(f"{self.source}: op {o} uses opcode {idx}, which is not defined")
                ins = tuple(int(v) for v in (op.InputsAsNumpy() if op.InputsLength() else ()))
                outs = tuple(int(v) for v in (op.OutputsAsNumpy() if op.OutputsLength() else ()))
                for t in ins + outs:
                    if t >= len(tensors) or t < -1:
                        raise ModelFileError(
                            f"{self.source}: op {o} refers to tensor {t}, out of range"
                        )
                name, version = self.opcodes[idx]
                ops.append(Op(o, name, version, ins, outs, _macs(name, ins, outs, tensors)))
            sub_in = tuple(int(v) for v in (sg.InputsAsNumpy() if sg.InputsLength() else ()))
            sub_out = tuple(int(v) for v in (sg.OutputsAsNumpy() if sg.OutputsLength() else ()))
            for t in sub_in + sub_out:
                if not 0 <= t < len(tensors):
                    raise ModelFileError(f"{self.source}: subgraph {s} I/O tensor {t} out of range")
            name = (sg.Name() or b"").decode("utf-8", "replace")
            subgraphs.append(Subgraph(s, name, tensors, tuple(ops), sub_in, sub_out))
        if not subgraphs:
            raise ModelFileError(f"{self.source}: the model has no subgraph")
        if not subgraphs[0].outputs:
            raise ModelFileError(f"{self.source}: the main subgraph has no outputs")
        for t in subgraphs[0].inputs:  # an empty input cannot take a sample (runners divide by it)
            if 0 in subgraphs[0].tensors[t].shape:
                raise ModelFileError(f"{self.source}: input tensor {t} has a zero dimension {subgraphs[0].tensors[t].shape}")
        self.subgraphs = tuple(subgraphs)

        self.signatures = {}
        for i in range(model.SignatureDefsLength()):
            sig = model.SignatureDefs(i)
            key = (sig.SignatureKey() or b"").decode()
            sub = sig.SubgraphIndex()
            tensors = [sig.Inputs(j).TensorIndex() for j in range(sig.InputsLength())]
            tensors += [sig.Outputs(j).TensorIndex() for j in range(sig.OutputsLength())]
            if sub >= len(subgraphs) or any(t >= len(subgraphs[sub].tensors) for t in tensors):
                raise ModelFileError(f"{self.source}: signature {i} refers to a subgraph or tensor that does not exist")
            self.signatures[key] = {
                "subgraph": sig.SubgraphIndex(),
                "inputs": {
                    (sig.Inputs(j).Name() or b"").decode(): sig.Inputs(j).TensorIndex()
                    for j in range(sig.InputsLength())
                },
                "outputs": {
                    (sig.Outputs(j).Name() or b"").decode(): sig.Outputs(j).TensorIndex()
                    for j in range(sig.OutputsLength())
                },
            }

    def _tensor(self, t, index: int, types: dict[int, str]) -> Tensor:
        shape = tuple(int(d) for d in (t.ShapeAsNumpy() if t.ShapeLength() else ()))
        sig = tuple(int(d) for d in (t.ShapeSignatureAsNumpy() if t.ShapeSignatureLength() else shape))
        if any(d < 0 for d in shape) or any(d > 2**31 for d in shape):
            raise ModelFileError(f"{self.source}: tensor {index} has an invalid shape {shape}")
        dtype = types.get(t.Type(), f"type{t.Type()}")
        if math.prod(shape) * DTYPE_BITS.get(dtype, 8) // 8 > MAX_TENSOR_BYTES:
            raise ModelFileError(
                f"{self.source}: tensor {index} of shape {shape} would need more than 2 GiB (oversized dimension)"
            )
        buffer = t.Buffer()
        if buffer >= len(self.buffer_bytes):
            raise ModelFileError(f"{self.source}: tensor {index} refers to missing buffer {buffer}")
        q = t.Quantization()
        quant = None
        if q is not None and q.ScaleLength():
            scales = tuple(float(v) for v in q.ScaleAsNumpy())
            zps = tuple(int(v) for v in q.ZeroPointAsNumpy()) if q.ZeroPointLength() else (0,) * len(scales)
            quant = Quant(scales, zps, int(q.QuantizedDimension()))
            if len(zps) != len(scales) or len(scales) > max(math.prod(shape), 1):
                raise ModelFileError(
                    f"{self.source}: tensor {index} of shape {shape} has {len(scales)} scales and "
                    f"{len(zps)} zero points"
                )
        data_bytes = self.buffer_bytes[buffer] if buffer > 0 else 0
        if 0 < data_bytes < math.ceil(math.prod(shape) * DTYPE_BITS.get(dtype, 0) / 8) and t.Sparsity() is None:
            raise ModelFileError(
                f"{self.source}: tensor {index} of shape {shape} ({dtype}) has only {data_bytes} bytes of data"
            )
        return Tensor(
            index=index,
            name=(t.Name() or b"").decode("utf-8", "replace"),
            shape=shape,
            shape_signature=sig,
            dtype=dtype,
            buffer=buffer,
            data_bytes=data_bytes,
            quant=quant,
            is_variable=bool(t.IsVariable()),
        )

    # -- views -----------------------------------------------------------------------------
    @property
    def main(self) -> Subgraph:
        return self.subgraphs[0]

    @property
    def inputs(self) -> list[Tensor]:
        return [self.main.tensors[i] for i in self.main.inputs]

    @property
    def outputs(self) -> list[Tensor]:
        return [self.main.tensors[i] for i in self.main.outputs]

    @property
    def ops(self) -> list[Op]:
        return [op for sg in self.subgraphs for op in sg.ops]

    def op_histogram(self) -> dict[str, int]:
        """Op name -> count over all subgraphs, most frequent first (ties by name)."""
        counts = Counter(op.opcode for op in self.ops)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def op_names(self) -> list[str]:
        """Distinct op names used, sorted."""
        return sorted({op.opcode for op in self.ops})

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops)

    @cached_property
    def constants(self) -> list[Tensor]:
        """Constant tensors (weights, biases, tables), each counted once per buffer."""
        seen, out = set(), []
        for sg in self.subgraphs:
            for t in sg.tensors:
                if t.is_constant and t.buffer not in seen:
                    seen.add(t.buffer)
                    out.append(t)
        return out

    def params_by_dtype(self) -> dict[str, dict[str, int]]:
        """dtype -> {"params": element count, "bytes": stored bytes} of constant tensors."""
        out: dict[str, dict[str, int]] = {}
        for t in self.constants:
            d = out.setdefault(t.dtype, {"params": 0, "bytes": 0})
            d["params"] += t.elements
            d["bytes"] += t.data_bytes
        return dict(sorted(out.items()))

    @property
    def param_count(self) -> int:
        return sum(t.elements for t in self.constants)

    def activations(self, subgraph: int = 0) -> list[Tensor]:
        """Non-constant tensors of a subgraph, largest first."""
        sg = self.subgraphs[subgraph]
        used = {i for op in sg.ops for i in op.inputs + op.outputs if i >= 0} | set(sg.inputs)
        acts = [sg.tensors[i] for i in sorted(used) if not sg.tensors[i].is_constant]
        return sorted(acts, key=lambda t: (-t.nbytes, t.index))

    def lifetimes(self, subgraph: int = 0) -> dict[int, tuple[int, int]]:
        """Tensor index -> (first op that needs it, last op that needs it) for activations.

        Graph inputs start at -1, graph outputs and variable (state) tensors live to
        ``len(ops)``: those are the bounds a memory planner must respect.
        """
        sg = self.subgraphs[subgraph]
        end = len(sg.ops)
        life: dict[int, list[int]] = {i: [-1, -1] for i in sg.inputs}
        for op in sg.ops:
            for i in op.outputs:
                if i >= 0 and not sg.tensors[i].is_constant:
                    life.setdefault(i, [op.index, op.index])
            for i in op.inputs:
                if i >= 0 and not sg.tensors[i].is_constant:
                    first = -1 if sg.tensors[i].is_variable else op.index
                    life.setdefault(i, [first, op.index])[1] = op.index
        for i in sg.outputs:
            life.setdefault(i, [end, end])[1] = end
        for i, t in enumerate(sg.tensors):
            if t.is_variable:
                life[i] = [-1, end]
        return {i: (a, b) for i, (a, b) in sorted(life.items())}

    def op_options(self, op: Op, subgraph: int = 0) -> dict:
        """The builtin options of ``op`` (schema field names: ``strideW``, ``padding``,
        ``fusedActivationFunction``, ...); empty for ops without any."""
        schema = _schema()
        raw = schema.Model.GetRootAs(self.data, 0).Subgraphs(subgraph).Operators(op.index)
        try:
            opts = schema.BuiltinOptionsCreator(raw.BuiltinOptionsType(), raw.BuiltinOptions())
        except Exception as e:  # a damaged options table
            raise ModelFileError(f"{self.source}: op {op.index} ({op.opcode}) has unreadable options") from e
        if opts is None:
            return {}
        return {k: tuple(v.tolist()) if hasattr(v, "tolist") else tuple(v) if isinstance(v, list) else v
                for k, v in vars(opts).items()}  # fmt: skip

    def tensor_data(self, tensor: Tensor) -> bytes:
        """The constant data of ``tensor`` as stored in the file (b"" for activations)."""
        if not tensor.is_constant:
            return b""
        buf = _schema().Model.GetRootAs(self.data, 0).Buffers(tensor.buffer)
        if buf.DataLength():
            return buf.DataAsNumpy().tobytes()
        return self.data[buf.Offset():buf.Offset() + buf.Size()]

    def quant_scheme(self) -> str:
        """The edgekit scheme this file matches: float32, float16, dynamic, int8 or int16x8."""
        act_types = {t.dtype for sg in range(len(self.subgraphs)) for t in self.activations(sg) if t.quant}
        if "int16" in act_types:
            return "int16x8"
        if act_types & {"int8", "uint8"}:
            return "int8"
        weight_types = {t.dtype for t in self.constants if t.elements > 1}
        if weight_types & {"int8", "uint8", "int4"}:
            return "dynamic"
        if "float16" in weight_types:
            return "float16"
        return "float32"


class _OutOfBounds(Exception):
    pass


@contextlib.contextmanager
def _checked_reads(size: int):
    """Make every read of the flatbuffer bindings fail unless it lies inside the file.

    The bindings read wherever an offset points (a negative one wraps around in Python),
    and native interpreters do the same in C++. With this in place, walking the whole
    model through the bindings is the schema verifier: every table, vtable, vector, string
    and union the schema defines is reached and bounds-checked.
    """
    from flatbuffers import encode, table

    get, as_numpy, string = encode.Get, encode.GetVectorAsNumpy, table.Table.String

    def checked_get(packer, buf, head):
        if head < 0 or head + packer.size > size:
            raise _OutOfBounds(f"offset {head} outside the file")
        return get(packer, buf, head)

    def checked_numpy(numpy_type, buf, count, offset):
        if offset < 0 or offset + count * numpy_type.itemsize > size:
            raise _OutOfBounds(f"a vector of {count} items at offset {offset} runs past the end of the file")
        return as_numpy(numpy_type, buf, count, offset)

    def checked_string(self, off):
        start = off + encode.Get(table.N.UOffsetTFlags.packer_type, self.Bytes, off) + 4
        length = encode.Get(table.N.UOffsetTFlags.packer_type, self.Bytes, start - 4)
        if start + length > size:
            raise _OutOfBounds(f"a string of {length} bytes at offset {start} runs past the end of the file")
        return string(self, off)

    with _READ_LOCK:
        encode.Get, encode.GetVectorAsNumpy, table.Table.String = checked_get, checked_numpy, checked_string
        try:
            yield
        finally:
            encode.Get, encode.GetVectorAsNumpy, table.Table.String = get, as_numpy, string


def verify_flatbuffer(data: bytes, source: str = "<bytes>") -> None:
    """Check that ``data`` is a structurally sound TFLite flatbuffer (ModelFileError if not).

    Everything the schema defines is read once with bounds checks (see ``_checked_reads``),
    vector lengths included, before any native code sees the bytes.
    """
    import struct

    if len(data) < 16 or data[4:8] != _MAGIC:
        raise ModelFileError(
            f"{source}: not a TFLite flatbuffer (missing the 'TFL3' identifier; "
            "truncated, or another format renamed to .tflite?)"
        )
    if len(data) >= 2**31:
        raise ModelFileError(f"{source}: larger than 2 GiB, which a flatbuffer cannot address")
    root = struct.unpack_from("<I", data, 0)[0]
    if root + 4 > len(data):
        raise ModelFileError(f"{source}: the root table offset {root} points past the end of the file")
    schema = _schema()
    try:
        with _checked_reads(len(data)):
            schema.ModelT.InitFromObj(schema.Model.GetRootAs(data, 0))
    except _OutOfBounds as e:
        raise ModelFileError(f"{source}: corrupt TFLite flatbuffer ({e}); re-export the model") from None
    except RecursionError:
        raise ModelFileError(f"{source}: corrupt TFLite flatbuffer (tables nest without end)") from None
    except Exception as e:
        raise ModelFileError(
            f"{source}: corrupt TFLite flatbuffer ({type(e).__name__} while reading it); re-export the model"
        ) from None


def _shape(tensors, i) -> tuple[int, ...]:
    return tensors[i].shape if 0 <= i < len(tensors) else ()


def _macs(name: str, ins: tuple[int, ...], outs: tuple[int, ...], tensors) -> int:
    """Multiply-accumulates of one op, from its tensor shapes (0 for ops that do none)."""
    if not outs:
        return 0
    out_elems = math.prod(_shape(tensors, outs[0]) or (0,))
    try:
        if name == "CONV_2D":  # weights [Cout, KH, KW, Cin/groups]
            _, kh, kw, cin = _shape(tensors, ins[1])
            return out_elems * kh * kw * cin
        if name == "DEPTHWISE_CONV_2D":  # weights [1, KH, KW, Cout]
            _, kh, kw, _ = _shape(tensors, ins[1])
            return out_elems * kh * kw
        if name == "CONV_3D":  # weights [KD, KH, KW, Cin, Cout]
            kd, kh, kw, cin, _ = _shape(tensors, ins[1])
            return out_elems * kd * kh * kw * cin
        if name == "FULLY_CONNECTED":  # weights [units, in]
            return out_elems * _shape(tensors, ins[1])[-1]
        if name == "TRANSPOSE_CONV":  # (output_shape, weights [Cout,KH,KW,Cin], input)
            _, kh, kw, _ = _shape(tensors, ins[1])
            cout = _shape(tensors, ins[1])[0]
            return math.prod(_shape(tensors, ins[2])) * kh * kw * cout
        if name == "BATCH_MATMUL":
            return out_elems * _shape(tensors, ins[0])[-1]
        if name == "UNIDIRECTIONAL_SEQUENCE_LSTM":
            x = _shape(tensors, ins[0])
            steps = math.prod(x[:-1])
            n_cell, n_in = _shape(tensors, ins[4])  # input-to-output weights
            n_out = _shape(tensors, ins[8])[-1]  # recurrent-to-output weights
            proj = math.prod(_shape(tensors, ins[16])) if len(ins) > 16 and ins[16] >= 0 else 0
            gates = 4 if ins[1] >= 0 else 3  # CIFG variants omit the input gate
            return steps * (gates * n_cell * (n_in + n_out) + proj)
        if name == "SVDF":  # feature weights [F, I], time weights [F, M]
            batch = _shape(tensors, ins[0])[0]
            return batch * (math.prod(_shape(tensors, ins[1])) + math.prod(_shape(tensors, ins[2])))
    except (ValueError, IndexError):
        return 0  # an unexpected layout: count nothing rather than guess
    return 0
