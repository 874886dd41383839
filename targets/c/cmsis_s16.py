"""Lowering of int16x8 ops (int16 activations, int8 weights, int64 biases) to direct CMSIS-NN
``_s16`` calls (``--c-kernels cmsis-nn``).

Each op becomes the call TFLM's CMSIS-NN kernel (tensorflow/lite/micro/kernels/cmsis_nn/)
makes on its int16 path: conv.cc arm_convolve_wrapper_s16 (int64 bias in a
cmsis_nn_bias_data), depthwise_conv.cc arm_depthwise_conv_s16 (not the wrapper, and no
scratch), fully_connected.cc arm_fully_connected_s16 (per-tensor), pooling.cc
arm_avgpool_s16 / arm_max_pool_s16, add.cc / mul.cc arm_elementwise_add_s16 /
arm_elementwise_mul_s16 (no broadcasting) and softmax.cc arm_softmax_s16 with TFLM's tables.
A lowering returns None where TFLM's CMSIS-NN kernel runs the reference kernel for int16
(ADD/MUL that broadcast; PAD, TRANSPOSE: not in LOWERINGS) or refuses the op (a per-channel
int16 FULLY_CONNECTED): the portable shim runs it, in the same model file.
"""

from __future__ import annotations

from edgekit.errors import UnsupportedError
from targets import cmsis_nn_sizes as scratch
from targets.c import quant
from targets.c.cmsis import (_CONV_ARGS, _OK, _QUANT, Dims4, _act, _braced, _conv_common, _ctx, _dims, _elementwise,
                             _lowered, _pool, elementwise_add, elementwise_mul)  # fmt: skip
from targets.c.ops import _bias, _check_types, _q, _range, _scale, _zp

_NO_CTX = ("cmsis_nn_context", "ctx", _braced({"buf": "NULL", "size": 0}), None)


def _zero_points(op, tensors, positions=(0,)) -> None:
    """TFLM's CMSIS-NN Prepare for int16: input and output zero points 0 (TF_LITE_ENSURE_EQ)."""
    ts = [tensors[op.inputs[p]] for p in positions] + [tensors[op.outputs[0]]]
    if any(_zp(t) != 0 for t in ts):
        raise UnsupportedError(f"{op.opcode} (node {op.index}): int16 zero points must be 0 (as TFLM's CMSIS-NN "
                               "kernels require); use --c-kernels portable")  # fmt: skip


def _four_dims(*dims) -> str:
    return "{{" + ", ".join(_dims(d.n, d.h, d.w, d.c) for d in dims) + "}}"


def conv_2d(graph, op, tensors):
    """conv.cc EvalInt16x8: arm_convolve_wrapper_s16, the int64 bias (or none) in a
    cmsis_nn_bias_data, scratch from arm_convolve_wrapper_s16_get_buffer_size."""
    _, x, w, y, p, common, tail = _conv_common(graph, op, tensors)
    _zero_points(op, tensors)
    bias, bias_ptr = _bias(graph, op, tensors)
    mults, shifts = quant.per_channel(_scale(x), _q(w).scale, _scale(y), w.shape[0])
    i, f, o = Dims4(x), scratch.Dims(1, w.shape[1], w.shape[2], w.shape[3]), Dims4(y)
    sizes = scratch.sizes(scratch.conv_s16, i, f)
    decls = [("cmsis_nn_conv_params", "conv", _braced({**common, **tail}), None), _QUANT,
             ("cmsis_nn_dims", "dims", _four_dims(i, f, scratch.Dims(1, 1, 1, y.shape[3]), o), 4), _ctx(sizes),
             ("cmsis_nn_bias_data", "bias", _braced({"data": bias_ptr, "is_int32_bias": "false"}), None)]  # fmt: skip
    call = "if (arm_convolve_wrapper_s16" + _CONV_ARGS.replace("BIAS", "&{s_bias}") + _OK
    return _lowered(decls, [("mult", "int32_t", mults), ("shift", "int32_t", shifts)], call, sizes)


def depthwise_conv_2d(graph, op, tensors):
    """depthwise_conv.cc EvalQuantizedPerChannel16x8: arm_depthwise_conv_s16 with an empty
    context (TFLM requests no scratch for it)."""
    opts, x, w, y, p, common, tail = _conv_common(graph, op, tensors)
    _zero_points(op, tensors)
    bias, bias_ptr = _bias(graph, op, tensors)
    mults, shifts = quant.per_channel(_scale(x), _q(w).scale, _scale(y), w.shape[3])
    i, o = Dims4(x), Dims4(y)
    f = scratch.Dims(w.shape[0], w.shape[1], w.shape[2], y.shape[3])
    params = {**common, "ch_mult": opts.get("depthMultiplier", 0), **tail}
    decls = [("cmsis_nn_dw_conv_params", "conv", _braced(params), None), _QUANT,
             ("cmsis_nn_dims", "dims", _four_dims(i, f, scratch.Dims(1, 1, 1, y.shape[3]), o), 4), _NO_CTX]  # fmt: skip
    call = "if (arm_depthwise_conv_s16" + _CONV_ARGS.replace("BIAS", bias_ptr) + _OK
    return _lowered(decls, [("mult", "int32_t", mults), ("shift", "int32_t", shifts)], call)


def fully_connected(graph, op, tensors):
    """fully_connected.cc EvalQuantizedInt16: arm_fully_connected_s16, per-tensor, over
    {batches, depth} (every output rank; no 1x1-conv path for int16). Per-channel weights:
    TFLM's CMSIS-NN Prepare refuses them for int16, so the portable kernel runs them."""
    _check_types(op, tensors, {0: ("int8",), 1: ("int8",), 2: ("int32",)})
    if _q(tensors[op.inputs[1]]).per_channel:
        return None
    _zero_points(op, tensors)
    x, w, y = tensors[op.inputs[0]], tensors[op.inputs[1]], tensors[op.outputs[0]]
    bias, bias_ptr = _bias(graph, op, tensors)
    lo, hi = _range(op, tensors, graph.op_options(op)["fusedActivationFunction"], y)
    depth, out_depth = w.shape[-1], y.shape[-1]
    batches = y.elements // out_depth
    m, s = quant.fully_connected_multiplier(_scale(x), _scale(w), _scale(y))
    dims = [scratch.Dims(batches, 1, 1, depth), scratch.Dims(depth, 1, 1, out_depth), scratch.Dims(1, 1, 1, out_depth),
            scratch.Dims(batches, 1, 1, out_depth)]  # fmt: skip
    fc = {"input_offset": -_zp(x), "filter_offset": 0, "output_offset": _zp(y), "activation": _act(lo, hi)}
    decls = [("cmsis_nn_fc_params", "fc", _braced(fc), None),
             ("cmsis_nn_per_tensor_quant_params", "quant", _braced({"multiplier": m, "shift": s}), None),
             ("cmsis_nn_dims", "dims", _four_dims(*dims), 4), _NO_CTX]  # fmt: skip
    call = ("if (arm_fully_connected_s16(&{s_ctx}, &{s_fc}, &{s_quant}, &{s_dims}[0], {in0}, &{s_dims}[1], {in1}, "
            f"&{{s_dims}}[2], {bias_ptr}, &{{s_dims}}[3], {{out0}})" + _OK)  # fmt: skip
    return _lowered(decls, [], call)


def average_pool_2d(graph, op, tensors):
    """pooling.cc AverageEvalInt16: arm_avgpool_s16 (its scratch: the s8 formula)."""
    return _pool(graph, op, tensors, "arm_avgpool_s16", True)


def max_pool_2d(graph, op, tensors):
    """pooling.cc MaxEvalInt16: arm_max_pool_s16."""
    return _pool(graph, op, tensors, "arm_max_pool_s16", False)


def _same_shapes(graph, op, tensors):
    """The tensors and int16 activation range of an ADD/MUL CMSIS-NN runs, or None if it broadcasts."""
    found = _elementwise(graph, op, tensors)
    if found is not None:
        _zero_points(op, tensors, (0, 1))
    return found


def add(graph, op, tensors):
    """add.cc EvalAddQuantizedInt16: arm_elementwise_add_s16 (left shift 15) unless the shapes
    broadcast (then TFLM runs the reference kernel)."""
    return elementwise_add(_same_shapes(graph, op, tensors), 16)


def mul(graph, op, tensors):
    """mul.cc EvalQuantized (int16): arm_elementwise_mul_s16 unless the shapes broadcast."""
    return elementwise_mul(_same_shapes(graph, op, tensors), 16)


def softmax(graph, op, tensors):
    """softmax.cc SoftmaxEvalInt16: arm_softmax_s16 over the rows of the last dimension with
    the parameters and tables of softmax_common.cc (the portable lowering's, checks included)."""
    from targets.c import ops

    portable = ops.softmax(graph, op, tensors)  # zero points 0, output scale 1/32768; the two tables
    x = tensors[op.inputs[0]]
    m, s = ops.softmax_s16_multiplier(graph, op, x)
    depth = x.shape[-1] if x.shape else 1
    lut = ("cmsis_nn_softmax_lut_s16", "lut", _braced({"exp_lut": "{a_exp_lut}", "one_by_one_lut": "{a_one_over_lut}"}),
           None)  # fmt: skip
    call = (f"if (arm_softmax_s16({{in0}}, {x.elements // depth}, {depth}, {m}, {s}, &{{s_lut}}, {{out0}})" + _OK)  # fmt: skip
    return _lowered([lut], portable.arrays, call)


LOWERINGS = {
    "CONV_2D": conv_2d, "DEPTHWISE_CONV_2D": depthwise_conv_2d, "FULLY_CONNECTED": fully_connected,
    "AVERAGE_POOL_2D": average_pool_2d, "MAX_POOL_2D": max_pool_2d, "ADD": add, "MUL": mul, "SOFTMAX": softmax,
}  # fmt: skip
