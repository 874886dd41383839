"""Lowering of int8 ops to direct CMSIS-NN calls (``--c-kernels cmsis-nn``).

Each op becomes the ``arm_*`` call TFLM's CMSIS-NN kernels (tensorflow/lite/micro/kernels/
cmsis_nn/) make for it, with the ``cmsis_nn_*`` structs their Prepare/Eval fill in written
as ``static const`` data, the parameters computed as for the portable back-end
(targets.c.quant). A lowering returns None where TFLM's CMSIS-NN kernel itself falls back to
the reference kernel (ADD/MUL with broadcasting) or where edgekit keeps the portable one (PAD
beyond 4 and TRANSPOSE below 3 dimensions); ops CMSIS-NN has no kernel for are not in
LOWERINGS: both run the portable shim, in the same model file. Ops on int16 activations:
targets.c.cmsis_s16 (it shares the struct helpers here).
"""

from __future__ import annotations

from targets import cmsis_nn_sizes as scratch
from targets.c import quant
from targets.c.ops import Lowered, _bias, _check_types, _q, _range, _scale, _zp, pad_args, transpose_args

HEADER = "arm_nnfunctions.h"
_OK = " != ARM_CMSIS_NN_SUCCESS) return {status};"


def _braced(values: dict) -> str:
    """A designated initializer, its braces doubled (the text goes through str.format)."""
    return "{{" + ", ".join(f".{k} = {v}" for k, v in values.items()) + "}}"


def _dims(n, h, w, c) -> str:
    return _braced({"n": n, "h": h, "w": w, "c": c})


def _tile(w, h) -> str:
    return _braced({"w": w, "h": h})


def _act(lo, hi) -> str:
    return _braced({"min": lo, "max": hi})


def _ctx(sizes: dict) -> tuple:
    """The cmsis_nn_context declaration: the op's scratch in the arena, or none."""
    if max(sizes.values(), default=0) == 0:
        return ("cmsis_nn_context", "ctx", _braced({"buf": "NULL", "size": 0}), None)
    return ("cmsis_nn_context", "ctx", _braced({"buf": "{scratch_buf}", "size": "{scratch_size}"}), None)


def _lowered(decls, arrays, call, sizes=None, inplace=()) -> Lowered:
    sizes = sizes or {}
    return Lowered(None, arrays, call, inplace, max(sizes.values(), default=0), decls=decls, sizes=sizes,
                   backend="cmsis-nn")  # fmt: skip


def _conv_common(graph, op, tensors):
    _check_types(op, tensors, {0: ("int8",), 1: ("int8",), 2: ("int32",)})
    opts = graph.op_options(op)
    x, w, y = tensors[op.inputs[0]], tensors[op.inputs[1]], tensors[op.outputs[0]]
    sh, sw = opts["strideH"], opts["strideW"]
    dh, dw = opts.get("dilationHFactor", 1), opts.get("dilationWFactor", 1)
    kh, kw = w.shape[1], w.shape[2]
    p = scratch.Conv(sw, sh, quant.pad(sw, dw, x.shape[2], kw, y.shape[2]), quant.pad(sh, dh, x.shape[1], kh, y.shape[1]),
                     dw, dh)  # fmt: skip
    lo, hi = _range(op, tensors, opts["fusedActivationFunction"], y)  # int16 range for int16x8 (cmsis_s16)
    common = {"input_offset": -_zp(x), "output_offset": _zp(y)}
    tail = {"stride": _tile(sw, sh), "padding": _tile(p.pad_w, p.pad_h), "dilation": _tile(dw, dh),
            "activation": _act(lo, hi)}  # fmt: skip
    return opts, x, w, y, p, common, tail


_QUANT = ("cmsis_nn_per_channel_quant_params", "quant", _braced({"multiplier": "(int32_t *){a_mult}",
                                                                   "shift": "(int32_t *){a_shift}"}), None)  # fmt: skip
_CONV_ARGS = ("(&{s_ctx}, &{s_conv}, &{s_quant}, &{s_dims}[0], {in0}, &{s_dims}[1], {in1}, &{s_dims}[2], BIAS, "
              "&{s_dims}[3], {out0})")  # fmt: skip


def conv_2d(graph, op, tensors) -> Lowered:
    """conv.cc: arm_convolve_wrapper_s8 (it picks 1x1, 1xN or the im2col kernel)."""
    _, x, w, y, p, common, tail = _conv_common(graph, op, tensors)
    bias, bias_ptr = _bias(graph, op, tensors)
    mults, shifts = quant.per_channel(_scale(x), _q(w).scale, _scale(y), w.shape[0])
    i, f, o = Dims4(x), scratch.Dims(1, w.shape[1], w.shape[2], w.shape[3]), Dims4(y)
    sizes = scratch.sizes(scratch.conv, p, i, f, o)
    dims = "{{" + ", ".join(_dims(d.n, d.h, d.w, d.c) for d in (i, f, scratch.Dims(1, 1, 1, y.shape[3]), o)) + "}}"
    decls = [("cmsis_nn_conv_params", "conv", _braced({**common, **tail}), None), _QUANT,
             ("cmsis_nn_dims", "dims", dims, 4), _ctx(sizes)]  # fmt: skip
    call = "if (arm_convolve_wrapper_s8" + _CONV_ARGS.replace("BIAS", bias_ptr) + _OK
    return _lowered(decls, [("mult", "int32_t", mults), ("shift", "int32_t", shifts)], call, sizes)


def depthwise_conv_2d(graph, op, tensors) -> Lowered:
    """depthwise_conv.cc: arm_depthwise_conv_wrapper_s8."""
    opts, x, w, y, p, common, tail = _conv_common(graph, op, tensors)
    bias, bias_ptr = _bias(graph, op, tensors)
    mults, shifts = quant.per_channel(_scale(x), _q(w).scale, _scale(y), w.shape[3])
    i, o = Dims4(x), Dims4(y)
    f = scratch.Dims(w.shape[0], w.shape[1], w.shape[2], y.shape[3])
    sizes = scratch.sizes(scratch.depthwise, p, i, f, o)
    dims = "{{" + ", ".join(_dims(d.n, d.h, d.w, d.c) for d in (i, f, scratch.Dims(1, 1, 1, y.shape[3]), o)) + "}}"
    params = {**common, "ch_mult": opts.get("depthMultiplier", 0), **tail}
    decls = [("cmsis_nn_dw_conv_params", "conv", _braced(params), None), _QUANT,
             ("cmsis_nn_dims", "dims", dims, 4), _ctx(sizes)]  # fmt: skip
    call = "if (arm_depthwise_conv_wrapper_s8" + _CONV_ARGS.replace("BIAS", bias_ptr) + _OK
    return _lowered(decls, [("mult", "int32_t", mults), ("shift", "int32_t", shifts)], call, sizes)


def Dims4(t) -> scratch.Dims:
    n, h, w, c = t.shape
    return scratch.Dims(n, h, w, c)


def fully_connected(graph, op, tensors) -> Lowered:
    """fully_connected.cc: arm_convolve_1x1_s8_fast when the output has more than 2 dimensions
    and the depth is a multiple of 4 (TFLM's per-tensor multipliers repeated per channel, here
    as constants instead of its scratch), else arm_fully_connected_wrapper_s8 (on MVE the
    kernel sums go to the scratch first, as TFLM does without KERNELS_OPTIMIZED_FOR_SPEED)."""
    _check_types(op, tensors, {0: ("int8",), 1: ("int8",), 2: ("int32",)})
    opts = graph.op_options(op)
    x, w, y = tensors[op.inputs[0]], tensors[op.inputs[1]], tensors[op.outputs[0]]
    bias, bias_ptr = _bias(graph, op, tensors)
    lo, hi = quant.activation_range(opts["fusedActivationFunction"], _scale(y), _zp(y))
    depth, out_depth = w.shape[-1], y.shape[-1]
    batches = y.elements // out_depth
    per_channel = _q(w).per_channel
    if per_channel:
        mults, shifts = quant.per_channel(_scale(x), _q(w).scale, _scale(y), len(_q(w).scale))
    else:
        m, s = quant.fully_connected_multiplier(_scale(x), _scale(w), _scale(y))
        mults, shifts = [m], [s]
    dims = [scratch.Dims(batches, 1, 1, depth), scratch.Dims(depth, 1, 1, out_depth), scratch.Dims(1, 1, 1, out_depth),
            scratch.Dims(batches, 1, 1, out_depth)]  # fmt: skip
    dims_decl = ("cmsis_nn_dims", "dims", "{{" + ", ".join(_dims(d.n, d.h, d.w, d.c) for d in dims) + "}}", 4)
    args = "(&{s_ctx}, &{s_fc}, &{s_quant}, &{s_dims}[0], {in0}, &{s_dims}[1], {in1}, &{s_dims}[2], BIAS, &{s_dims}[3], {out0})"
    if len(y.shape) > 2 and depth % 4 == 0:
        if not per_channel:
            mults, shifts = mults * out_depth, shifts * out_depth
        sizes = scratch.sizes(scratch.conv, scratch.Conv(1, 1, 0, 0, 1, 1), dims[0], scratch.Dims(1, 1, 1, depth), dims[3])
        conv = {"input_offset": -_zp(x), "output_offset": _zp(y), "stride": _tile(1, 1), "padding": _tile(0, 0),
                "dilation": _tile(1, 1), "activation": _act(lo, hi)}  # fmt: skip
        decls = [("cmsis_nn_conv_params", "fc", _braced(conv), None), _QUANT, dims_decl, _ctx(sizes)]
        call = "if (arm_convolve_1x1_s8_fast" + args.replace("BIAS", bias_ptr) + _OK
        return _lowered(decls, [("mult", "int32_t", mults), ("shift", "int32_t", shifts)], call, sizes)
    sizes = scratch.sizes(scratch.fully_connected, out_depth)
    fc = {"input_offset": -_zp(x), "filter_offset": -_zp(w), "output_offset": _zp(y), "activation": _act(lo, hi)}
    q = {"multiplier": "(int32_t *){a_mult}", "shift": "(int32_t *){a_shift}", "is_per_channel": int(per_channel)}
    decls = [("cmsis_nn_fc_params", "fc", _braced(fc), None), ("cmsis_nn_quant_params", "quant", _braced(q), None),
             dims_decl, _ctx(sizes)]  # fmt: skip
    sums = (f"#if defined(ARM_MATH_MVEI)\n  arm_vector_sum_s8((int32_t *){{s_ctx}}.buf, {depth}, {out_depth}, {{in1}}, "
            f"{-_zp(x)}, {-_zp(w)}, {bias_ptr});\n#endif\n  ")  # fmt: skip
    call = sums + "if (arm_fully_connected_wrapper_s8" + args.replace("BIAS", bias_ptr) + _OK
    return _lowered(decls, [("mult", "int32_t", mults), ("shift", "int32_t", shifts)], call, sizes)


def _pool(graph, op, tensors, fn: str, average: bool) -> Lowered:
    """pooling.cc: arm_avgpool_s8 / arm_max_pool_s8 (or _s16: the int16 activations' range and
    scratch, targets.c.cmsis_s16)."""
    _check_types(op, tensors, {0: ("int8",)})
    opts = graph.op_options(op)
    x, y = tensors[op.inputs[0]], tensors[op.outputs[0]]
    sh, sw, fh, fw = opts["strideH"], opts["strideW"], opts["filterHeight"], opts["filterWidth"]
    lo, hi = _range(op, tensors, opts["fusedActivationFunction"], y)
    params = {"stride": _tile(sw, sh), "padding": _tile(quant.pad(sw, 1, x.shape[2], fw, y.shape[2]),
                                                          quant.pad(sh, 1, x.shape[1], fh, y.shape[1])),
              "activation": _act(lo, hi)}  # fmt: skip
    i, o = Dims4(x), Dims4(y)
    sizes = scratch.sizes(scratch.avgpool, y.shape[3]) if average else {}  # s16: the same formula
    dims = "{{" + ", ".join(_dims(d.n, d.h, d.w, d.c) for d in (i, scratch.Dims(1, fh, fw, 1), o)) + "}}"
    decls = [("cmsis_nn_pool_params", "pool", _braced(params), None), ("cmsis_nn_dims", "dims", dims, 3), _ctx(sizes)]
    call = f"if ({fn}(&{{s_ctx}}, &{{s_pool}}, &{{s_dims}}[0], {{in0}}, &{{s_dims}}[1], &{{s_dims}}[2], {{out0}})" + _OK
    return _lowered(decls, [], call, sizes)


def average_pool_2d(graph, op, tensors):
    return _pool(graph, op, tensors, "arm_avgpool_s8", True)


def max_pool_2d(graph, op, tensors):
    return _pool(graph, op, tensors, "arm_max_pool_s8", False)


def _elementwise(graph, op, tensors):
    """The tensors and activation range of an ADD/MUL CMSIS-NN runs, or None if it broadcasts."""
    _check_types(op, tensors, {0: ("int8",), 1: ("int8",)})
    a, b, y = tensors[op.inputs[0]], tensors[op.inputs[1]], tensors[op.outputs[0]]
    if not a.shape == b.shape == y.shape:
        return None
    return (a, b, y, *_range(op, tensors, graph.op_options(op)["fusedActivationFunction"], y))


def elementwise_add(found, bits: int) -> Lowered | None:
    """arm_elementwise_add_s8/_s16 of ``found`` (_elementwise's tensors and range; None: the
    shapes broadcast, and TFLM runs the reference kernel). Left shift 20 for int8, 15 for int16."""
    if found is None:
        return None
    a, b, y, lo, hi = found
    p = quant.add_params(_scale(a), _scale(b), _scale(y), 15 if bits == 16 else 20)
    args = [-_zp(a), p["input1_multiplier"], p["input1_shift"], -_zp(b), p["input2_multiplier"], p["input2_shift"],
            p["left_shift"]]  # fmt: skip
    tail = [_zp(y), p["output_multiplier"], p["output_shift"], lo, hi, y.elements]
    call = (f"if (arm_elementwise_add_s{bits}({{in0}}, {{in1}}, {', '.join(map(str, args))}, {{out0}}, "
            f"{', '.join(map(str, tail))})" + _OK)  # fmt: skip
    return _lowered([], [], call, inplace=(0, 1))


def elementwise_mul(found, bits: int) -> Lowered | None:
    """arm_elementwise_mul_s8/_s16 of ``found``, as elementwise_add (mul_common.cc's multiplier)."""
    if found is None:
        return None
    a, b, y, lo, hi = found
    m, s = quant.quantize_multiplier(float(_scale(a)) * float(_scale(b)) / float(_scale(y)))
    call = (f"if (arm_elementwise_mul_s{bits}({{in0}}, {{in1}}, {-_zp(a)}, {-_zp(b)}, {{out0}}, {_zp(y)}, {m}, {s}, "
            f"{lo}, {hi}, {y.elements})" + _OK)  # fmt: skip
    return _lowered([], [], call, inplace=(0, 1))


def add(graph, op, tensors) -> Lowered | None:
    """add.cc: arm_elementwise_add_s8 unless the shapes broadcast (then TFLM runs the reference)."""
    return elementwise_add(_elementwise(graph, op, tensors), 8)


def mul(graph, op, tensors) -> Lowered | None:
    """mul.cc: arm_elementwise_mul_s8 unless the shapes broadcast."""
    return elementwise_mul(_elementwise(graph, op, tensors), 8)


def softmax(graph, op, tensors) -> Lowered:
    """softmax.cc: arm_softmax_s8 over the rows of the last dimension."""
    from targets.c import ops

    ops.softmax(graph, op, tensors)  # the same checks (int8 output at scale 1/256, zero point -128)
    x = tensors[op.inputs[0]]
    p = quant.softmax_params(graph.op_options(op)["beta"], _scale(x))
    depth = x.shape[-1] if x.shape else 1
    call = (f"arm_softmax_s8({{in0}}, {x.elements // depth}, {depth}, {p['input_multiplier']}, "
            f"{p['input_left_shift']}, {p['diff_min']}, {{out0}});")  # fmt: skip
    return _lowered([], [], call)


def _four(values, fill) -> list:
    """The last four dimensions, missing leading ones as ``fill`` (pad.cc's cmsis_nn_dims)."""
    return [fill] * (4 - len(values)) + list(values)


def pad(graph, op, tensors) -> Lowered | None:
    """pad.cc: arm_pad_s8 over the last four dimensions (a 5-D PAD: the portable kernel)."""
    x, y, left, right, value = pad_args(graph, op, tensors)
    if len(x.shape) > 4:
        return None
    dims = "{{" + ", ".join(_dims(*d) for d in (_four(x.shape, 1), _four(left, 0), _four(right, 0))) + "}}"
    call = f"if (arm_pad_s8({{in0}}, {{out0}}, {value}, &{{s_dims}}[0], &{{s_dims}}[1], &{{s_dims}}[2])" + _OK
    return _lowered([("cmsis_nn_dims", "dims", dims, 3)], [], call)


def transpose(graph, op, tensors) -> Lowered | None:
    """transpose.cc: arm_transpose_s8 for 3 and 4 dimensions (fewer: the portable kernel; TFLM
    passes CMSIS-NN dims it never set there)."""
    x, y, perm = transpose_args(graph, op, tensors)
    if len(perm) not in (3, 4):
        return None
    dims = "{{" + ", ".join(_dims(*(list(t.shape) + [1] * (4 - len(t.shape)))) for t in (x, y)) + "}}"
    decls = [("uint32_t", "perm", "{{" + ", ".join(map(str, perm)) + "}}", len(perm)),
             ("cmsis_nn_transpose_params", "tp", _braced({"num_dims": len(perm), "permutations": "{s_perm}"}), None),
             ("cmsis_nn_dims", "dims", dims, 2)]  # fmt: skip
    call = "if (arm_transpose_s8({in0}, {out0}, &{s_dims}[0], &{s_dims}[1], &{s_tp})" + _OK
    return _lowered(decls, [], call)


LOWERINGS = {
    "CONV_2D": conv_2d, "DEPTHWISE_CONV_2D": depthwise_conv_2d, "FULLY_CONNECTED": fully_connected,
    "AVERAGE_POOL_2D": average_pool_2d, "MAX_POOL_2D": max_pool_2d, "ADD": add, "MUL": mul, "SOFTMAX": softmax,
    "PAD": pad, "TRANSPOSE": transpose,
}  # fmt: skip
