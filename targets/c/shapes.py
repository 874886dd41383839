"""Shape checks of every op before any C is generated: TFLM's Prepare refuses a graph whose
tensor shapes do not follow from the op's inputs and options; the generated C has no Prepare,
so a malformed model must be refused here (its kernels would write past their buffers)."""

from __future__ import annotations

import numpy as np

from edgekit.errors import ModelFileError
from targets.c import quant

# Inputs an op must have (not omitted): the data, then weights / second operand / axes.
_REQUIRED = {"CONV_2D": 2, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 2, "ADD": 2, "MUL": 2, "MEAN": 2,
             "PAD": 2, "TRANSPOSE": 2, "CONCATENATION": 1}  # fmt: skip
_SAME_SHAPE = frozenset({"SOFTMAX", "LOGISTIC", "HARD_SWISH", "QUANTIZE", "DEQUANTIZE", "RELU", "RELU6"})


def _fail(graph, op, why: str):
    return ModelFileError(f"{graph.source}: op {op.index} ({op.opcode}) {why}: a malformed model (TFLM refuses it too)")


def _ints(graph, t) -> list[int]:
    return [int(v) for v in np.frombuffer(graph.tensor_data(t), "<i8" if t.dtype == "int64" else "<i4")[:t.elements]]


def expected_shape(graph, op, tensors) -> tuple[int, ...] | None:
    """The output shape the op's inputs and options give (None: any shape with the input's
    element count, for aliases)."""
    x = tensors[op.inputs[0]]
    name = op.opcode
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"):
        o = graph.op_options(op)
        if len(x.shape) != 4:
            raise _fail(graph, op, f"has a {len(x.shape)}-D input; it takes NHWC")
        if name.endswith("POOL_2D"):
            kh, kw, channels, dh, dw = o["filterHeight"], o["filterWidth"], x.shape[3], 1, 1
        else:
            w = tensors[op.inputs[1]]
            if len(w.shape) != 4 or not w.is_constant:
                raise _fail(graph, op, "has no constant 4-D filter")
            kh, kw, dh, dw = w.shape[1], w.shape[2], o.get("dilationHFactor", 1), o.get("dilationWFactor", 1)
            if name == "CONV_2D":
                channels = w.shape[0]
                if w.shape[3] <= 0 or x.shape[3] % w.shape[3]:
                    raise _fail(graph, op, f"filter depth {w.shape[3]} does not divide the input depth {x.shape[3]}")
            else:
                channels = w.shape[3]
                if x.shape[3] * o.get("depthMultiplier", 0) != channels:
                    raise _fail(graph, op, f"input depth {x.shape[3]} x depth multiplier {o.get('depthMultiplier')} "
                                           f"is not the filter's {channels} channels")  # fmt: skip
            _bias(graph, op, tensors, channels)
        if min(o["strideH"], o["strideW"], kh, kw, dh, dw) <= 0 or o["padding"] not in (0, 1):
            raise _fail(graph, op, "has a non-positive stride, filter or dilation, or an unknown padding")
        oh, ow = quant.out_size(o["padding"], x.shape[1], kh, o["strideH"], dh), quant.out_size(o["padding"], x.shape[2], kw, o["strideW"], dw)
        return (x.shape[0], oh, ow, channels)
    if name == "FULLY_CONNECTED":
        w = tensors[op.inputs[1]]
        if len(w.shape) != 2 or not w.is_constant or w.shape[1] <= 0 or x.elements % w.shape[1]:
            raise _fail(graph, op, f"weights {w.shape} do not fit its input {x.shape}")
        _bias(graph, op, tensors, w.shape[0])
        y = tensors[op.outputs[0]]
        batches = x.elements // w.shape[1]
        return y.shape if y.shape and y.shape[-1] == w.shape[0] and y.elements == batches * w.shape[0] else (batches, w.shape[0])
    if name in ("ADD", "MUL"):
        b = tensors[op.inputs[1]]
        try:
            out = tuple(np.broadcast_shapes(x.shape, b.shape))
        except ValueError:
            raise _fail(graph, op, f"inputs {x.shape} and {b.shape} do not broadcast") from None
        if x.shape != b.shape and len(out) > 4:
            raise _fail(graph, op, "broadcasts in more than 4 dimensions")
        return out
    if name in _SAME_SHAPE:
        return x.shape
    if name == "MEAN":
        axes = {a + len(x.shape) if a < 0 else a for a in _ints(graph, tensors[op.inputs[1]])}
        if not axes <= set(range(len(x.shape))):
            raise _fail(graph, op, f"reduces axes outside its {len(x.shape)}-D input")
        keep = graph.op_options(op).get("keepDims", False)
        return tuple(1 if i in axes else d for i, d in enumerate(x.shape) if keep or i not in axes)
    if name == "PAD":
        pads = _ints(graph, tensors[op.inputs[1]])
        if len(pads) != 2 * len(x.shape) or min(pads, default=0) < 0:
            raise _fail(graph, op, "has paddings that do not match its input")
        return tuple(d + pads[2 * i] + pads[2 * i + 1] for i, d in enumerate(x.shape))
    if name == "TRANSPOSE":
        perm = _ints(graph, tensors[op.inputs[1]])
        if sorted(perm) != list(range(len(x.shape))):
            raise _fail(graph, op, f"permutation {perm} does not permute its {len(x.shape)}-D input")
        return tuple(x.shape[p] for p in perm)
    if name == "CONCATENATION":
        ins = [tensors[i] for i in op.inputs]
        axis = graph.op_options(op)["axis"]
        axis = axis + len(x.shape) if axis < 0 else axis
        if not 0 <= axis < len(x.shape) or any(len(t.shape) != len(x.shape) or
                                              t.shape[:axis] + t.shape[axis + 1:] != x.shape[:axis] + x.shape[axis + 1:]
                                              for t in ins):  # fmt: skip
            raise _fail(graph, op, "has inputs that differ outside the concatenated axis")
        return x.shape[:axis] + (sum(t.shape[axis] for t in ins),) + x.shape[axis + 1:]
    return None  # RESHAPE and friends: checked by element count


def _bias(graph, op, tensors, channels: int) -> None:
    if len(op.inputs) > 2 and op.inputs[2] >= 0 and tensors[op.inputs[2]].elements != channels:
        raise _fail(graph, op, f"has {tensors[op.inputs[2]].elements} biases for {channels} output channels")


def check_shapes(graph, op, tensors) -> None:
    """Refuse (ModelFileError) an op whose output shape or input structure TFLM would refuse."""
    need = _REQUIRED.get(op.opcode, 1)
    if len(op.inputs) < need or any(i < 0 for i in op.inputs[:need]) or not op.outputs or op.outputs[0] < 0:
        raise _fail(graph, op, f"lacks inputs or its output (needs {need} inputs)")
    if op.opcode == "CONCATENATION" and any(i < 0 for i in op.inputs):
        raise _fail(graph, op, "has an omitted input")
    y = tensors[op.outputs[0]]
    want = expected_shape(graph, op, tensors)
    if want is None:
        if y.nbytes != tensors[op.inputs[0]].nbytes:
            raise _fail(graph, op, f"output {y.shape} does not hold its input {tensors[op.inputs[0]].shape}")
    elif tuple(y.shape) != tuple(want):
        raise _fail(graph, op, f"output shape {y.shape} does not follow from its inputs ({tuple(want)})")
