"""The parameters TFLM's kernels compute in Prepare, computed here at generation time with
the same arithmetic (same float/double steps, same rounding), so the generated code needs
nothing derived at run time and gives TFLM's results bit for bit.

Each function names the TFLM function it mirrors (tensorflow/lite/kernels/internal/
quantization_util.cc, kernels/kernel_util.cc, kernels/padding.h, micro/kernels/*_common.cc).
TFLM is built without TFLITE_SINGLE_ROUNDING and TFLITE_EMULATE_FLOAT: double rounding,
``std::frexp``.
"""

from __future__ import annotations

import math

import numpy as np

INT8_MIN, INT8_MAX = -128, 127
INT16_MIN, INT16_MAX = -32768, 32767


def _round(x: float) -> float:
    """``std::round``: halves away from zero (Python's ``round`` rounds them to even)."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


def quantize_multiplier(m: float) -> tuple[int, int]:
    """QuantizeMultiplier: ``m`` as a Q31 significand and a power-of-two exponent."""
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)
    q_fixed = int(_round(q * (1 << 31)))
    if q_fixed > 1 << 31:
        raise ValueError(f"multiplier {m!r} does not quantize")
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:  # flushed to zero, as TFLM does
        shift, q_fixed = 0, 0
    return q_fixed, shift


def _f32(x: float) -> np.float32:
    return np.float32(x)


def quantize_value(scale: float, zero_point: int, f: float) -> int:
    """kernel_util.cc Quantize: ``zero_point + round(f / scale)`` with a float division."""
    return zero_point + int(_round(float(_f32(f) / _f32(scale))))


def activation_range(activation: int, scale: float, zero_point: int,
                     qmin: int = INT8_MIN, qmax: int = INT8_MAX) -> tuple[int, int]:  # fmt: skip
    """CalculateActivationRangeQuantized (activation: the schema's ActivationFunctionType)."""
    if activation == 1:  # RELU
        return max(qmin, quantize_value(scale, zero_point, 0.0)), qmax
    if activation == 3:  # RELU6
        return max(qmin, quantize_value(scale, zero_point, 0.0)), min(qmax, quantize_value(scale, zero_point, 6.0))
    if activation == 2:  # RELU_N1_TO_1
        return max(qmin, quantize_value(scale, zero_point, -1.0)), min(qmax, quantize_value(scale, zero_point, 1.0))
    if activation == 0:
        return qmin, qmax
    raise ValueError(f"fused activation {activation} has no integer range")


def per_channel(input_scale: float, filter_scales: tuple[float, ...], output_scale: float,
                channels: int) -> tuple[list[int], list[int]]:  # fmt: skip
    """PopulateConvolutionQuantizationParams: one (multiplier, shift) per output channel, a
    per-tensor filter scale broadcast over the channels."""
    mults, shifts = [], []
    for i in range(channels):
        scale = filter_scales[i] if len(filter_scales) > 1 else filter_scales[0]
        m, s = quantize_multiplier(float(input_scale) * float(scale) / float(output_scale))
        mults.append(m)
        shifts.append(s)
    return mults, shifts


def fully_connected_multiplier(input_scale: float, filter_scale: float, output_scale: float) -> tuple[int, int]:
    """GetQuantizedConvolutionMultipler: the scale product is taken in float, then divided in double."""
    product = float(_f32(input_scale) * _f32(filter_scale))
    return quantize_multiplier(product / float(output_scale))


def add_params(s1: float, s2: float, so: float, left_shift: int = 20) -> dict:
    """add_common.cc CalculateOpDataAdd (int8: left shift 20)."""
    twice_max = 2 * float(max(_f32(s1), _f32(s2)))
    out = {"left_shift": left_shift}
    for key, real in (("input1", float(s1) / twice_max), ("input2", float(s2) / twice_max),
                      ("output", twice_max / ((1 << left_shift) * float(so)))):  # fmt: skip
        m, s = quantize_multiplier(real)
        if not (0.0 < real < 1.0) or s > 0:  # QuantizeMultiplierSmallerThanOneExp's checks
            raise ValueError(f"ADD {key} multiplier {real!r} is not in (0, 1)")
        out[f"{key}_multiplier"], out[f"{key}_shift"] = m, s
    return out


SCALED_DIFF_INTEGER_BITS = 5


def softmax_params(beta: float, input_scale: float) -> dict:
    """softmax_common.cc CalculateSoftmaxParams for int8 input: PreprocessSoftmaxScaling
    and CalculateInputRadius."""
    bits = SCALED_DIFF_INTEGER_BITS
    real = min(float(beta) * float(input_scale) * (1 << (31 - bits)), (1 << 31) - 1.0)
    if not real > 1.0:
        raise ValueError(f"SOFTMAX input multiplier {real!r} is not above 1")
    m, left_shift = quantize_multiplier(real)
    radius = math.floor(1.0 * ((1 << bits) - 1) * (1 << (31 - bits)) / (1 << left_shift))
    return {"input_multiplier": m, "input_left_shift": left_shift, "diff_min": int(-1.0 * radius)}


def out_size(padding: int, size: int, filt: int, stride: int, dilation: int = 1) -> int:
    """ComputeOutSize (padding: the schema's Padding, SAME 0 / VALID 1)."""
    effective = (filt - 1) * dilation + 1
    if padding == 0:
        return (size + stride - 1) // stride
    return (size + stride - effective) // stride


def pad(stride: int, dilation: int, size: int, filt: int, out: int) -> int:
    """ComputePaddingWithOffset's padding (the kernels read it, not the offset)."""
    total = max((out - 1) * stride + (filt - 1) * dilation + 1 - size, 0)
    return total // 2


def _down_to_int16(m: int) -> int:
    """DownScaleInt32ToInt16Multiplier."""
    return 32767 if m >= (2**31 - 1) - (1 << 15) else (m + (1 << 15)) >> 16


def hard_swish_params(input_scale: float, output_scale: float) -> dict:
    """hard_swish_common.cc HardSwishPrepare (int8): float scale arithmetic, then 16-bit multipliers."""
    hires = _f32(1.0 / 128.0) * _f32(input_scale)
    out_m, out_e = quantize_multiplier(float(np.float32(hires / _f32(output_scale))))
    if out_e > 0:
        raise ValueError("HARD_SWISH output multiplier exponent above 0 (TFLM refuses it)")
    rel_m, rel_e = quantize_multiplier(float(np.float32(hires / (_f32(3.0) / _f32(32768.0)))))
    return {"reluish_multiplier": _down_to_int16(rel_m), "reluish_exponent": rel_e,
            "output_multiplier": _down_to_int16(out_m), "output_exponent": out_e}  # fmt: skip


LOGISTIC_INPUT_INTEGER_BITS = 4


def logistic_params(input_scale: float) -> dict:
    """logistic_common.cc CalculateArithmeticOpData (int8): frexp and a rounded Q31, then
    CalculateInputRadius(4, shift, 31)."""
    bits = LOGISTIC_INPUT_INTEGER_BITS
    q, shift = math.frexp(float(input_scale) * float(1 << (31 - bits)))
    m = int(_round(q * (1 << 31)))
    if m >= 1 << 31 or shift < 0:
        raise ValueError(f"LOGISTIC input scale {input_scale!r} is out of the kernel's range")
    radius = math.floor(1.0 * ((1 << bits) - 1) * (1 << (31 - bits)) / (1 << shift))
    return {"input_multiplier": m, "input_left_shift": shift, "input_range_radius": radius}


def _lut_int16(input_scale, input_zero_point, output_scale, output_zero_point, transform) -> list[int]:
    """common.h detail::LUTPopulateInt16<float>: every step in float32, as TFLM computes it."""
    f = np.float32
    input_min = f(input_scale) * f(INT16_MIN - input_zero_point)
    input_max = f(input_scale) * f(INT16_MAX - input_zero_point)
    output_min = f(output_scale) * f(INT16_MIN - output_zero_point)
    output_max = f(output_scale) * f(INT16_MAX - output_zero_point)
    steps = 512
    step = (input_max - input_min) / f(steps)
    half = step / f(2)
    inv = f(INT16_MAX - INT16_MIN + 1) / (output_max - output_min)

    def rnd(x):
        return f(_round(float(x)))

    def clamp(x):
        return int(min(max(x, f(INT16_MIN)), f(INT16_MAX)))

    lut = []
    for i in range(steps):
        val = transform(input_min + f(i) * step)
        mid = transform(input_min + f(i) * step + half)
        nxt = transform(input_min + f(i + 1) * step)
        sample = rnd(val * inv)
        interp = rnd((nxt * inv + rnd(val * inv)) / f(2))
        err = interp - rnd(mid * inv)
        lut.append(clamp(sample - rnd(err / f(2))))
    lut.append(clamp(rnd(transform(input_max) * inv)))
    return lut


def _expf(x: np.float32) -> np.float32:
    """``std::exp(float)``: glibc's expf is correctly rounded, i.e. exp in double rounded to float."""
    return np.float32(math.exp(float(x)))


def softmax_s16_luts() -> tuple[list[int], list[int]]:
    """softmax_common.cc InitializeLutForInt16: the exp table over [-10, 0] and the 1/(1+x)
    table over [0, 1], 513 int16 entries each (the same for every model; a test compares them
    with TFLM's compiled LUTPopulate)."""
    rng = np.float32(INT16_MAX - INT16_MIN)
    f = np.float32
    exp_lut = _lut_int16(f(10.0) / rng, INT16_MAX, f(2.0) / rng, 0, _expf)
    one_over = _lut_int16(f(1.0) / rng, INT16_MIN, f(2.0) / rng, 0, lambda v: f(1.0) / (f(1.0) + v))
    return exp_lut, one_over


def checked_log2(x: float) -> tuple[int, bool]:
    """quantization_util.cc CheckedLog2: (the rounded log2 in float, whether ``x`` is a power of two)."""
    f = np.float32
    x_log2 = f(math.log(float(f(x)))) * (f(1.0) / f(math.log(2.0)))
    rounded = f(_round(float(x_log2)))
    return int(rounded), abs(float(x_log2 - rounded)) < float(f(1e-3))


def sigmoid_s16_params(input_scale: float, output_scale: float, tanh: bool) -> dict:
    """logistic_common.cc / tanh.cc Prepare for int16: a power-of-two input scale needs no
    multiplier; else the scale to 1/(3*4096), doubled up to 32767/2 (the shift counts it).
    The output scale must be 2^-15."""
    log2, pot = checked_log2(input_scale)
    shift = (15 - 3) + log2
    pot = pot and (shift in (0, 1) if tanh else shift == 0)
    multiplier = 0
    if not pot:
        m, shift = float(input_scale) * 4096.0 * 3.0, 0
        while m <= 32767.0 / 2.0 and shift <= 30:
            shift += 1
            m *= 2.0
        multiplier = int(m)
    out_log2, out_pot = checked_log2(output_scale)
    if not out_pot or out_log2 != -15 or multiplier > 32767:
        raise ValueError("int16 LOGISTIC/TANH needs an output scale of 2^-15 (as TFLM requires)")
    return {"input_multiplier": multiplier, "input_left_shift": shift}
