"""Lowering of TFLite int8 and int16x8 ops to calls of the portable kernel shim (firmware/c/portable).

Each lowering reads the op's tensors and options from the TFLiteGraph, computes every
parameter TFLM's Prepare would (targets.c.quant), and returns the C the model file holds
for it: a ``static const`` parameter struct, constant arrays and one call. An op whose
activations are int16 (int16x8: int8 weights, int64 biases) calls the shim's ``_s16``
function, the int16 path of the same TFLM kernel, with int16 activation ranges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgekit.errors import UnsupportedError
from targets.c import quant

# Ops whose output is the input's bytes under another shape: no code, one buffer.
ALIASES = frozenset({"RESHAPE", "SQUEEZE", "EXPAND_DIMS"})


@dataclass
class Lowered:
    """The C of one op: the parameter struct, its constant arrays, the call."""

    struct: tuple[str, str] | None = None  # (C type, initializer)
    arrays: list = field(default_factory=list)  # (suffix, C type, values)
    call: str = ""  # a format string: {p} the struct, {a_<suffix>} arrays, {in0}.. {out0} pointers
    inplace: tuple[int, ...] = ()  # input positions the output may overwrite (elementwise kernels)
    scratch: int = 0  # bytes of arena scratch the kernel needs during the op ({scratch})
    decls: list = field(default_factory=list)  # (C type, suffix, initializer, count or None): static const {s_<suffix>}
    sizes: dict = field(default_factory=dict)  # CMSIS-NN: scratch bytes per build (targets.cmsis_nn_sizes)
    backend: str = "portable"  # whose kernel the call is


def shape(t) -> str:
    dims = list(t.shape) or [1]
    if len(dims) > 6:
        raise UnsupportedError(f"tensor '{t.name}' has {len(dims)} dimensions; the c target takes at most 6")
    return "{" + f"{len(dims)}, {{{', '.join(str(d) for d in dims)}}}" + "}"


def _q(t):
    if t.quant is None:
        raise UnsupportedError(f"tensor '{t.name}' is not quantized; the c target runs int8 graphs")
    return t.quant


def _scale(t) -> float:
    return _q(t).scale[0]


def _zp(t) -> int:
    return _q(t).zero_point[0]


def _s16(op, tensors) -> bool:
    """Whether the op runs on int16 activations (its first input's type decides, as in TFLM's Eval)."""
    return tensors[op.inputs[0]].dtype == "int16"


def _wide(op, tensors, want: dict) -> dict:
    """``want`` (int8 graphs' input types) for the op's activation type: int16 where int8, the
    int64 bias of int16x8 where int32 at position 2 of a conv/FC."""
    if not _s16(op, tensors):
        return want
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
        return {0: ("int16",), 1: ("int8",), 2: ("int64",)}
    return {pos: tuple("int16" if d == "int8" else d for d in ds) for pos, ds in want.items()}


def _range(op, tensors, activation: int, y) -> tuple[int, int]:
    """CalculateActivationRangeQuantized in the output's type."""
    if y.dtype == "int16":
        return quant.activation_range(activation, _scale(y), _zp(y), quant.INT16_MIN, quant.INT16_MAX)
    return quant.activation_range(activation, _scale(y), _zp(y))


def _check_types(op, tensors, want: dict) -> None:
    out_dtype = "int16" if _s16(op, tensors) else "int8"
    want = _wide(op, tensors, want)
    for pos, dtypes in want.items():
        if pos < len(op.inputs) and op.inputs[pos] >= 0 and tensors[op.inputs[pos]].dtype not in dtypes:
            raise UnsupportedError(
                f"{op.opcode} (node {op.index}) with a {tensors[op.inputs[pos]].dtype} input {pos}: the c target's "
                f"kernels take {'/'.join(dtypes)} there; export it with --target tflm")  # fmt: skip
    out = tensors[op.outputs[0]]
    if out.dtype != out_dtype:
        raise UnsupportedError(f"{op.opcode} (node {op.index}) with a {out.dtype} output: the c target's kernels "
                               f"write {out_dtype} there; export it with --target tflm")  # fmt: skip


def _only_int8(op, tensors) -> None:
    """Ops whose int16 path the c target does not have (TFLM runs them)."""
    if _s16(op, tensors):
        raise UnsupportedError(f"{op.opcode} (node {op.index}) with int16 activations: the c target runs int16x8 "
                               f"only for {', '.join(sorted(INT16_OPS))}; export it with --target tflm")  # fmt: skip


def _init(values: dict) -> str:
    return "{" + ", ".join(f".{k} = {v}" for k, v in values.items()) + "}"


def _bias(graph, op, tensors):
    has = len(op.inputs) > 2 and op.inputs[2] >= 0
    return (tensors[op.inputs[2]], "{a_bias}") if has else (None, "NULL")


def _conv(graph, op, tensors, depthwise: bool) -> Lowered:
    _check_types(op, tensors, {0: ("int8",), 1: ("int8",), 2: ("int32",)})
    sfx = "s16" if _s16(op, tensors) else "s8"
    opts = graph.op_options(op)
    x, w, y = tensors[op.inputs[0]], tensors[op.inputs[1]], tensors[op.outputs[0]]
    bias, bias_ptr = _bias(graph, op, tensors)
    # shapes were checked (targets.c.shapes): 4-D NHWC, output size from strides and padding
    sh, sw, dh, dw = opts["strideH"], opts["strideW"], opts.get("dilationHFactor", 1), opts.get("dilationWFactor", 1)
    kh, kw = w.shape[1], w.shape[2]
    oh, ow = y.shape[1], y.shape[2]
    channels = w.shape[3] if depthwise else w.shape[0]
    mults, shifts = quant.per_channel(_scale(x), _q(w).scale, _scale(y), channels)
    lo, hi = _range(op, tensors, opts["fusedActivationFunction"], y)
    params = {
        "input": shape(x), "filter": shape(w), "bias": shape(bias) if bias is not None else "{1, {0}}",
        "output": shape(y), "stride_w": sw, "stride_h": sh, "dilation_w": dw, "dilation_h": dh,
        "pad_w": quant.pad(sw, dw, x.shape[2], kw, ow), "pad_h": quant.pad(sh, dh, x.shape[1], kh, oh),
        "depth_multiplier": opts.get("depthMultiplier", 0) if depthwise else 0,
        "input_offset": -_zp(x), "output_offset": _zp(y), "act_min": lo, "act_max": hi,
    }  # fmt: skip
    fn = f"ek_depthwise_conv_{sfx}" if depthwise else f"ek_conv_{sfx}"
    return Lowered(("ek_conv", _init(params)), [("mult", "int32_t", mults), ("shift", "int32_t", shifts)],
                   f"{fn}(&{{p}}, {{a_mult}}, {{a_shift}}, {{in0}}, {{in1}}, {bias_ptr}, {{out0}});")  # fmt: skip


def conv_2d(graph, op, tensors):
    return _conv(graph, op, tensors, depthwise=False)


def depthwise_conv_2d(graph, op, tensors):
    return _conv(graph, op, tensors, depthwise=True)


def fully_connected(graph, op, tensors) -> Lowered:
    _check_types(op, tensors, {0: ("int8",), 1: ("int8",), 2: ("int32",)})
    sfx = "s16" if _s16(op, tensors) else "s8"
    opts = graph.op_options(op)
    x, w, y = tensors[op.inputs[0]], tensors[op.inputs[1]], tensors[op.outputs[0]]
    bias, bias_ptr = _bias(graph, op, tensors)
    lo, hi = _range(op, tensors, opts["fusedActivationFunction"], y)
    params = {"input": shape(x), "filter": shape(w), "bias": shape(bias) if bias is not None else "{1, {0}}",
              "output": shape(y), "input_offset": -_zp(x), "weights_offset": -_zp(w), "output_offset": _zp(y),
              "act_min": lo, "act_max": hi}  # fmt: skip
    if _q(w).per_channel:
        mults, shifts = quant.per_channel(_scale(x), _q(w).scale, _scale(y), len(_q(w).scale))
        params.update(output_multiplier=0, output_shift=0)
        return Lowered(("ek_fc", _init(params)), [("mult", "int32_t", mults), ("shift", "int32_t", shifts)],
                       f"ek_fully_connected_per_channel_{sfx}(&{{p}}, {{a_mult}}, {{a_shift}}, {{in0}}, {{in1}}, {bias_ptr}, {{out0}});")  # fmt: skip
    m, s = quant.fully_connected_multiplier(_scale(x), _scale(w), _scale(y))
    params.update(output_multiplier=m, output_shift=s)
    return Lowered(("ek_fc", _init(params)), [], f"ek_fully_connected_{sfx}(&{{p}}, {{in0}}, {{in1}}, {bias_ptr}, {{out0}});")


def _pool(graph, op, tensors, fn: str) -> Lowered:
    _check_types(op, tensors, {0: ("int8",)})
    fn = fn.replace("_s8", "_s16") if _s16(op, tensors) else fn
    opts = graph.op_options(op)
    x, y = tensors[op.inputs[0]], tensors[op.outputs[0]]
    sh, sw, fh, fw = opts["strideH"], opts["strideW"], opts["filterHeight"], opts["filterWidth"]
    oh, ow = y.shape[1], y.shape[2]  # checked against strides and padding (targets.c.shapes)
    lo, hi = _range(op, tensors, opts["fusedActivationFunction"], y)
    params = {"input": shape(x), "output": shape(y), "stride_w": sw, "stride_h": sh, "filter_w": fw, "filter_h": fh,
              "pad_w": quant.pad(sw, 1, x.shape[2], fw, ow), "pad_h": quant.pad(sh, 1, x.shape[1], fh, oh),
              "act_min": lo, "act_max": hi}  # fmt: skip
    return Lowered(("ek_pool", _init(params)), [], f"{fn}(&{{p}}, {{in0}}, {{out0}});")


def average_pool_2d(graph, op, tensors):
    return _pool(graph, op, tensors, "ek_average_pool_s8")


def max_pool_2d(graph, op, tensors):
    return _pool(graph, op, tensors, "ek_max_pool_s8")


def add(graph, op, tensors) -> Lowered:
    _check_types(op, tensors, {0: ("int8",), 1: ("int8",)})
    opts = graph.op_options(op)
    a, b, y = tensors[op.inputs[0]], tensors[op.inputs[1]], tensors[op.outputs[0]]
    lo, hi = _range(op, tensors, opts["fusedActivationFunction"], y)
    s16 = _s16(op, tensors)
    p = quant.add_params(_scale(a), _scale(b), _scale(y), 15 if s16 else 20)  # add_common.cc: 15 for int16
    params = {"input1": shape(a), "input2": shape(b), "output": shape(y), "left_shift": p["left_shift"],
              "input1_offset": -_zp(a), "input1_multiplier": p["input1_multiplier"], "input1_shift": p["input1_shift"],
              "input2_offset": -_zp(b), "input2_multiplier": p["input2_multiplier"], "input2_shift": p["input2_shift"],
              "output_offset": _zp(y), "output_multiplier": p["output_multiplier"],
              "output_shift": p["output_shift"], "act_min": lo, "act_max": hi}  # fmt: skip
    # The elementwise kernel reads element i of both inputs before it writes element i.
    same = a.shape == b.shape == y.shape
    return Lowered(("ek_add", _init(params)), [], f"ek_add_{'s16' if s16 else 's8'}(&{{p}}, {{in0}}, {{in1}}, {{out0}});",
                   (0, 1) if same else ())  # fmt: skip


def softmax(graph, op, tensors) -> Lowered:
    _check_types(op, tensors, {0: ("int8",)})
    x, y = tensors[op.inputs[0]], tensors[op.outputs[0]]
    if _s16(op, tensors):
        return _softmax_s16(graph, op, x, y)
    if _zp(y) != -128 or np.float32(_scale(y)) != np.float32(1 / 256):
        raise UnsupportedError(f"SOFTMAX (node {op.index}): int8 output must have scale 1/256 and zero point -128 "
                               "(as TFLM requires)")  # fmt: skip
    p = quant.softmax_params(graph.op_options(op)["beta"], _scale(x))
    params = {"input": shape(x), "output": shape(y), **p}
    return Lowered(("ek_softmax", _init(params)), [], "ek_softmax_s8(&{p}, {in0}, {out0});")


def _softmax_s16(graph, op, x, y) -> Lowered:
    """softmax_common.cc for int16: zero points 0, output scale 1/32768 (within 0.1%), the input
    multiplier from scale x beta over 10/65535, and TFLM's exp and 1/(1+x) tables."""
    if _zp(x) != 0 or _zp(y) != 0 or abs(float(np.float32(_scale(y))) - 1 / 32768) > 0.001 / 32768:
        raise UnsupportedError(f"SOFTMAX (node {op.index}): int16 input and output need zero point 0 and output "
                               "scale 1/32768 (as TFLM requires)")  # fmt: skip
    m, s = softmax_s16_multiplier(graph, op, x)
    params = {"input": shape(x), "output": shape(y), "input_multiplier": m, "input_left_shift": s, "diff_min": 0}
    exp_lut, one_over = quant.softmax_s16_luts()
    return Lowered(("ek_softmax", _init(params)), [("exp_lut", "int16_t", exp_lut), ("one_over_lut", "int16_t", one_over)],
                   "ek_softmax_s16(&{p}, {a_exp_lut}, {a_one_over_lut}, {in0}, {out0});")  # fmt: skip


def softmax_s16_multiplier(graph, op, x) -> tuple[int, int]:
    """softmax_common.cc for int16: the input multiplier and shift of scale x beta over 10/65535."""
    return quant.quantize_multiplier(float(_scale(x)) * float(graph.op_options(op)["beta"]) / (10.0 / 65535.0))


LOWERINGS = {
    "CONV_2D": conv_2d, "DEPTHWISE_CONV_2D": depthwise_conv_2d, "FULLY_CONNECTED": fully_connected,
    "AVERAGE_POOL_2D": average_pool_2d, "MAX_POOL_2D": max_pool_2d, "ADD": add, "SOFTMAX": softmax,
}  # fmt: skip
SUPPORTED = frozenset(LOWERINGS) | ALIASES


def check_ops(graph) -> None:
    """Refuse, in one line naming them, ops the c target has no kernel for (before any file
    is written); TFLM runs them."""
    missing = sorted({op.opcode for op in graph.ops if op.opcode not in SUPPORTED})
    if missing:
        raise UnsupportedError(
            f"{graph.source}: the c target has no kernel for {', '.join(missing)} (it runs "
            f"{', '.join(sorted(SUPPORTED))}); export this model with --target tflm")  # fmt: skip
    if len(graph.subgraphs) > 1:
        raise UnsupportedError(f"{graph.source}: {len(graph.subgraphs)} subgraphs; the c target runs one "
                               "(control flow needs --target tflm)")  # fmt: skip


def _op_tensors(op, tensors):
    return tensors[op.inputs[0]], tensors[op.outputs[0]]


def mul(graph, op, tensors) -> Lowered:
    _check_types(op, tensors, {0: ("int8",), 1: ("int8",)})
    a, b, y = tensors[op.inputs[0]], tensors[op.inputs[1]], tensors[op.outputs[0]]
    lo, hi = _range(op, tensors, graph.op_options(op)["fusedActivationFunction"], y)
    s16 = _s16(op, tensors)
    if s16 and (_zp(a), _zp(b), _zp(y)) != (0, 0, 0):
        raise UnsupportedError(f"MUL (node {op.index}): int16 zero points must be 0 (as TFLM requires)")
    m, s = quant.quantize_multiplier(float(_scale(a)) * float(_scale(b)) / float(_scale(y)))  # mul_common.cc
    params = {"input1": shape(a), "input2": shape(b), "output": shape(y), "input1_offset": -_zp(a),
              "input2_offset": -_zp(b), "output_offset": _zp(y), "output_multiplier": m, "output_shift": s,
              "act_min": lo, "act_max": hi}  # fmt: skip
    same = a.shape == b.shape == y.shape
    return Lowered(("ek_mul", _init(params)), [], f"ek_mul_{'s16' if s16 else 's8'}(&{{p}}, {{in0}}, {{in1}}, {{out0}});",
                   (0, 1) if same else ())  # fmt: skip


def _const_ints(graph, t) -> list[int]:
    if not t.is_constant:
        raise UnsupportedError(f"tensor '{t.name}' must be constant for the c target (TFLM needs it so too)")
    return [int(v) for v in np.frombuffer(graph.tensor_data(t), "<i8" if t.dtype == "int64" else "<i4")[:t.elements]]


def _five(values: list[int]) -> str:
    return "{" + ", ".join(str(v) for v in (values + [0] * 5)[:5]) + "}"


def _dims(values: list[int]) -> str:
    return "{" + ", ".join(str(v) for v in (values + [0] * 6)[:6]) + "}"


def mean(graph, op, tensors) -> Lowered:
    _check_types(op, tensors, {0: ("int8",), 1: ("int32",)})
    x, y = _op_tensors(op, tensors)
    axes = [a + len(x.shape) if a < 0 else a for a in _const_ints(graph, tensors[op.inputs[1]])]
    m, s = quant.quantize_multiplier(float(_scale(x)) / float(_scale(y)))  # reduce_common.cc PrepareSimple
    params = {"input": shape(x), "output": shape(y), "axis": _dims(axes), "num_axis": len(axes),
              "keep_dims": int(bool(graph.op_options(op).get("keepDims", False))), "input_zero_point": _zp(x),
              "output_zero_point": _zp(y), "multiplier": m, "shift": s}  # fmt: skip
    # TFLM's accumulator scratch buffer (int32 per output element) is planned in the arena.
    return Lowered(("ek_mean", _init(params)), [], f"ek_mean_{'s16' if _s16(op, tensors) else 's8'}(&{{p}}, {{in0}}, {{scratch}}, {{out0}});",
                   scratch=4 * max(y.elements, 1))  # fmt: skip


def pad_args(graph, op, tensors):
    """(input, output, padding before and after each dimension, pad value) of a PAD: the
    constant value input, else the output's zero point (pad.cc)."""
    _check_types(op, tensors, {0: ("int8",), 1: ("int32", "int64"), 2: ("int8",)})
    x, y = _op_tensors(op, tensors)
    pads = _const_ints(graph, tensors[op.inputs[1]])
    if len(x.shape) > 5 or len(pads) != 2 * len(y.shape):
        raise UnsupportedError(f"PAD (node {op.index}): TFLM pads at most 5 dimensions, one pair each")
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        value = np.frombuffer(graph.tensor_data(tensors[op.inputs[2]]), "<i2" if _s16(op, tensors) else "<i1")[0]
    else:
        value = 0 if _s16(op, tensors) else _zp(y)  # pad.cc: int16 pads with 0, int8 with the zero point
    return x, y, pads[0::2], pads[1::2], int(value)


def pad(graph, op, tensors) -> Lowered:
    x, y, left, right, value = pad_args(graph, op, tensors)
    if _s16(op, tensors):  # pad.cc: reference_ops::Pad (no image-style path for int16)
        params = {"input": shape(x), "output": shape(y), "count": len(x.shape), "left": _five(left),
                  "right": _five(right), "value": int(value), "image_style": 0}  # fmt: skip
        return Lowered(("ek_pad", _init(params)), [], "ek_pad_s16(&{p}, {in0}, {out0});")
    pads = [v for pair in zip(left, right) for v in pair]
    image = len(pads) == 8 and pads[0] == pads[1] == pads[6] == pads[7] == 0  # pad_common.cc
    params = {"input": shape(x), "output": shape(y), "count": len(x.shape), "left": _five(left),
              "right": _five(right), "value": int(value), "image_style": int(image)}  # fmt: skip
    return Lowered(("ek_pad", _init(params)), [], "ek_pad_s8(&{p}, {in0}, {out0});")


def concatenation(graph, op, tensors) -> Lowered:
    ins = [tensors[i] for i in op.inputs]
    _check_types(op, tensors, {k: ("int8",) for k in range(len(ins))})
    y = tensors[op.outputs[0]]
    if len(ins) > 10 or any((_scale(t), _zp(t)) != (_scale(y), _zp(y)) for t in ins):
        raise UnsupportedError(f"CONCATENATION (node {op.index}): TFLM takes at most 10 int8 inputs, each with the "
                               "output's scale and zero point")  # fmt: skip
    axis = graph.op_options(op)["axis"]
    axis = axis + len(y.shape) if axis < 0 else axis
    params = {"output": shape(y), "axis": axis, "count": len(ins), "inputs": "{" + ", ".join(shape(t) for t in ins) + "}"}
    pointers = ", ".join(f"{{in{k}}}" for k in range(len(ins)))
    ctype, sfx = ("int16_t", "s16") if _s16(op, tensors) else ("int8_t", "s8")
    call = f"{{{{ const {ctype} *const in[] = {{{{{pointers}}}}}; ek_concatenation_{sfx}(&{{p}}, in, {{out0}}); }}}}"
    return Lowered(("ek_concat", _init(params)), [], call)


def transpose_args(graph, op, tensors):
    """(input, output, permutation) of a TRANSPOSE."""
    _only_int8(op, tensors)
    _check_types(op, tensors, {0: ("int8",), 1: ("int32",)})
    x, y = _op_tensors(op, tensors)
    return x, y, _const_ints(graph, tensors[op.inputs[1]])


def transpose(graph, op, tensors) -> Lowered:
    x, y, perm = transpose_args(graph, op, tensors)
    params = {"input": shape(x), "output": shape(y), "perm_count": len(perm), "perm": _dims(perm)}
    return Lowered(("ek_transpose", _init(params)), [], "ek_transpose_s8(&{p}, {in0}, {out0});")


def hard_swish(graph, op, tensors) -> Lowered:
    _only_int8(op, tensors)
    _check_types(op, tensors, {0: ("int8",)})
    x, y = _op_tensors(op, tensors)
    params = {"input": shape(x), "output": shape(y), "input_zero_point": _zp(x), "output_zero_point": _zp(y),
              **quant.hard_swish_params(_scale(x), _scale(y))}  # fmt: skip
    return Lowered(("ek_hard_swish", _init(params)), [], "ek_hard_swish_s8(&{p}, {in0}, {out0});", (0,))


def _sigmoid_s16(graph, op, tensors, tanh: bool) -> Lowered:
    """LOGISTIC/TANH int16 -> int16 (zero points 0, output scale 2^-15, as TFLM requires)."""
    _check_types(op, tensors, {0: ("int8",)})
    x, y = _op_tensors(op, tensors)
    if _zp(x) != 0 or _zp(y) != 0:
        raise UnsupportedError(f"{op.opcode} (node {op.index}): int16 zero points must be 0 (as TFLM requires)")
    try:
        p = quant.sigmoid_s16_params(_scale(x), _scale(y), tanh)
    except ValueError as e:
        raise UnsupportedError(f"{op.opcode} (node {op.index}): {e}") from None
    params = {"size": x.elements, "input_zero_point": 0, "input_range_radius": 0, **p}
    fn = "ek_tanh_s16" if tanh else "ek_logistic_s16"
    return Lowered(("ek_logistic", _init(params)), [], f"{fn}(&{{p}}, {{in0}}, {{out0}});", (0,))


def tanh(graph, op, tensors) -> Lowered:
    if not _s16(op, tensors):
        raise UnsupportedError(f"TANH (node {op.index}) with {tensors[op.inputs[0]].dtype} activations: the c target "
                               "runs TANH on int16 only; export it with --target tflm")  # fmt: skip
    return _sigmoid_s16(graph, op, tensors, tanh=True)


def logistic(graph, op, tensors) -> Lowered:
    if _s16(op, tensors):
        return _sigmoid_s16(graph, op, tensors, tanh=False)
    _check_types(op, tensors, {0: ("int8",)})
    x, y = _op_tensors(op, tensors)
    if _zp(y) != -128:
        raise UnsupportedError(f"LOGISTIC (node {op.index}): int8 output must have zero point -128 (as TFLM requires)")
    params = {"size": x.elements, "input_zero_point": _zp(x), **quant.logistic_params(_scale(x))}
    return Lowered(("ek_logistic", _init(params)), [], "ek_logistic_s8(&{p}, {in0}, {out0});", (0,))


def quantize(graph, op, tensors) -> Lowered:
    x, y = _op_tensors(op, tensors)
    if not (x.dtype in ("float32", y.dtype) and y.dtype in ("int8", "int16")):
        raise UnsupportedError(f"QUANTIZE (node {op.index}) from {x.dtype} to {y.dtype}: the c target quantizes "
                               "float32 or int8 to int8 and float32 or int16 to int16; export it with --target tflm")  # fmt: skip
    params = {"input": shape(x), "output": shape(y), "scale": f"{float(np.float32(_scale(y)))!r}f",
              "input_zero_point": 0, "output_zero_point": _zp(y), "multiplier": 0, "shift": 0}  # fmt: skip
    if x.dtype == "float32":
        fn = "ek_quantize_f32_s16" if y.dtype == "int16" else "ek_quantize_f32_s8"
        return Lowered(("ek_quantize", _init(params)), [], f"{fn}(&{{p}}, {{in0}}, {{out0}});")
    m, s = quant.quantize_multiplier(float(_scale(x)) / float(_scale(y)))  # quantize_common.cc
    params.update(input_zero_point=_zp(x), multiplier=m, shift=s)
    fn = "ek_requantize_s16" if y.dtype == "int16" else "ek_requantize_s8"
    return Lowered(("ek_quantize", _init(params)), [], f"{fn}(&{{p}}, {{in0}}, {{out0}});", (0,))


def dequantize(graph, op, tensors) -> Lowered:
    x, y = _op_tensors(op, tensors)
    if x.dtype not in ("int8", "int16") or y.dtype != "float32":
        raise UnsupportedError(f"DEQUANTIZE (node {op.index}) from {x.dtype} to {y.dtype}: the c target dequantizes "
                               "int8 and int16 to float32; export it with --target tflm")  # fmt: skip
    params = {"input": shape(x), "output": shape(y), "scale": f"{float(np.float32(_scale(x)))!r}f",
              "input_zero_point": _zp(x), "output_zero_point": 0, "multiplier": 0, "shift": 0}  # fmt: skip
    fn = "ek_dequantize_s16_f32" if x.dtype == "int16" else "ek_dequantize_s8_f32"
    return Lowered(("ek_quantize", _init(params)), [], f"{fn}(&{{p}}, {{in0}}, {{out0}});")


def relu(graph, op, tensors) -> Lowered:
    """activations_common.cc CalculateReluOpData: requantize by in/out scale (a float
    division), clamp at the output's zero point."""
    _only_int8(op, tensors)
    _check_types(op, tensors, {0: ("int8",)})
    x, y = _op_tensors(op, tensors)
    m, s = quant.quantize_multiplier(float(np.float32(_scale(x)) / np.float32(_scale(y))))
    params = {"input": shape(x), "output": shape(y), "input_offset": _zp(x), "output_offset": _zp(y),
              "output_multiplier": m, "output_shift": s, "act_min": max(quant.INT8_MIN, _zp(y)), "act_max": quant.INT8_MAX}  # fmt: skip
    return Lowered(("ek_relu", _init(params)), [], "ek_relu_s8(&{p}, {in0}, {out0});", (0,))


def relu6(graph, op, tensors) -> Lowered:
    """Relu6Prepare: a clamp to [zero point, 6.0 quantized] in the input's quantization."""
    _only_int8(op, tensors)
    _check_types(op, tensors, {0: ("int8",)})
    x, y = _op_tensors(op, tensors)
    six = min(quant.INT8_MAX, max(quant.INT8_MIN, quant.quantize_value(_scale(x), _zp(x), 6.0)))  # FloatToQuantizedType
    params = {"input": shape(x), "output": shape(y), "input_offset": 0, "output_offset": 0, "output_multiplier": 0,
              "output_shift": 0, "act_min": _zp(x), "act_max": six}  # fmt: skip
    return Lowered(("ek_relu", _init(params)), [], "ek_relu6_s8(&{p}, {in0}, {out0});", (0,))


LOWERINGS.update({
    "RELU": relu, "RELU6": relu6,
    "MUL": mul, "MEAN": mean, "PAD": pad, "CONCATENATION": concatenation, "TRANSPOSE": transpose,
    "HARD_SWISH": hard_swish, "LOGISTIC": logistic, "TANH": tanh, "QUANTIZE": quantize, "DEQUANTIZE": dequantize,
})  # fmt: skip
SUPPORTED = frozenset(LOWERINGS) | ALIASES
# The ops with an int16x8 path (the rest refuse int16 activations in one line).
INT16_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD",
                       "MUL", "SOFTMAX", "MEAN", "PAD", "CONCATENATION", "QUANTIZE", "DEQUANTIZE", "LOGISTIC",
                       "TANH"}) | ALIASES  # fmt: skip
