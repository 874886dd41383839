"""The scratch buffers TFLM's CMSIS-NN kernels request in the arena, per op, for one core.

edgekit measures the arena with the Python TFLM interpreter, whose reference kernels ask for
no scratch; TFLM's CMSIS-NN kernels ask ``RequestScratchBufferInArena`` for what CMSIS-NN's
``arm_*_get_buffer_size`` functions return on the target (im2col columns, depthwise blocks,
Helium's kernel sums). On a Cortex-M55, KWS needs 27,300 B where the reference measurement
gives 22,784 B, so a CMSIS-NN firmware sized from it fails AllocateTensors.

The sizes are CMSIS-NN's functions as targets/cmsis_nn_sizes.py writes them (the c target
plans with the same ones; a test holds both to CMSIS-NN's compiled C), so generating a
CMSIS-NN project needs no host compiler. This module mirrors only TFLM's glue: which dims its
Prepare functions pass (micro/kernels/cmsis_nn/{conv,depthwise_conv,fully_connected,pooling}.cc),
for the GCC builds the firmware projects make.
"""

from __future__ import annotations

from dataclasses import dataclass

from targets import cmsis_nn_sizes as sizes

# a board's cmsis_nn_features -> (DSP, MVE) as CMSIS-NN's arm_nn_math_types.h derives them
FEATURES = {"plain": (False, False), "dsp": (True, False), "mve": (True, True)}


@dataclass(frozen=True)
class OpScratch:
    op: int
    opcode: str
    bytes: int


def _nhwc(shape: tuple[int, ...]) -> sizes.Dims:
    return sizes.Dims(*shape) if len(shape) == 4 else sizes.Dims(1, 1, 1, 1)


def _pad(stride: int, dilation: int, size: int, filt: int, out: int) -> int:
    # TFLM's ComputePaddingHeightWidth, applied whatever the padding type (kernels/padding.h)
    return max((out - 1) * stride + (filt - 1) * dilation + 1 - size, 0) // 2


def _conv_args(graph, op, x, w, y) -> tuple[sizes.Conv, sizes.Dims, sizes.Dims, sizes.Dims]:
    o = graph.op_options(op)
    sh, sw = o.get("strideH", 1), o.get("strideW", 1)
    dh, dw = o.get("dilationHFactor", 1), o.get("dilationWFactor", 1)
    i, ws, out = _nhwc(x.shape), _nhwc(w.shape), _nhwc(y.shape)
    p = sizes.Conv(sw, sh, _pad(sw, dw, i.w, ws.w, out.w), _pad(sh, dh, i.h, ws.h, out.h), dw, dh)
    # filter dims as TFLM passes them: n = 1, h, w, c = the filter's last dim
    return p, i, sizes.Dims(1, ws.h, ws.w, ws.c), out


def op_scratch(graph, features: str) -> list[OpScratch]:
    """Every scratch request of the CMSIS-NN kernels for ``graph`` on a core with ``features``."""
    dsp, mve = FEATURES[features]
    flags = (dsp, mve, False)  # GCC: Arm Compiler 6's other sizes are not this build's
    found: list[OpScratch] = []
    tensors = graph.main.tensors
    for op in graph.ops:
        t = [tensors[i] if i >= 0 else None for i in op.inputs]
        x, y = t[0], tensors[op.outputs[0]] if op.outputs else None
        if x is None or y is None or x.dtype not in ("int8", "int16"):
            continue
        s16 = x.dtype == "int16"
        if op.opcode == "CONV_2D":
            p, i, f, o = _conv_args(graph, op, x, t[1], y)
            n = sizes.conv_s16(i, f, *flags) if s16 else sizes.conv(p, i, f, o, *flags)
        elif op.opcode == "DEPTHWISE_CONV_2D" and not s16:  # int16: arm_depthwise_conv_s16, no scratch
            n = sizes.depthwise(*_conv_args(graph, op, x, t[1], y), *flags)
        elif op.opcode == "AVERAGE_POOL_2D":
            n = sizes.avgpool(_nhwc(y.shape).c, *flags)  # s8 and s16 alike
        elif op.opcode == "FULLY_CONNECTED":
            n = _fc_scratch(flags, s16, t, y)
        else:
            continue
        if n > 0:
            found.append(OpScratch(op.index, op.opcode, int(n)))
    return found


def _fc_scratch(flags: tuple, s16: bool, t, y) -> int:
    w, accum, depth = t[1], t[1].shape[-1], y.shape[-1]
    if s16:
        return sizes.fully_connected_s16(depth, *flags)
    if w.dtype == "int8" and len(y.shape) > 2 and accum % 4 == 0:
        # fully_connected.cc's 1x1-convolution path: a per-channel table when the weights are per-tensor
        batches = 1
        for d in y.shape[:-1]:
            batches *= d
        table = 0 if (w.quant and w.quant.per_channel) else depth * 4 * 2
        return table + sizes.conv_1x1_fast(sizes.Dims(batches, 1, 1, accum), *flags)
    return sizes.fully_connected(depth, *flags)


def scratch_bound(graph, board) -> dict:
    """The arena to add to a reference-kernel measurement for CMSIS-NN on ``board``: scratch
    buffers live for their op only, so the largest one (rounded to TFLM's 16-byte alignment)."""
    ops = op_scratch(graph, board.cmsis_nn_features)
    largest = max((s.bytes for s in ops), default=0)
    return {"bytes": -(-largest // 16) * 16, "features": board.cmsis_nn_features,
            "ops": [{"op": s.op, "opcode": s.opcode, "bytes": s.bytes} for s in ops]}  # fmt: skip
