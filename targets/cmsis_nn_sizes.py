"""Scratch bytes of the CMSIS-NN kernels, as their ``arm_*_get_buffer_size`` functions
return them, for each code path the library compiles to: one home for both users, the c
target's memory plan (targets/c) and the arena a TFLM CMSIS-NN project adds
(targets/tflm/cmsis_scratch.py). Pure Python, so neither needs a host compiler.

CMSIS-NN picks its code at compile time from the core: plain C (no DSP: the host, Cortex-M0/M0+/M3),
``ARM_MATH_DSP`` (Cortex-M4/M7/M33) or ``ARM_MATH_MVEI`` (Cortex-M55/M85), and Arm Compiler 6 gets
other sizes than GCC/clang in two places. The generated C is one file for every core: its plan
holds the scratch of the BASE builds, and where another build needs more, that op's scratch is
placed for it alone around the same tensors (``VARIANTS``, chosen by the preprocessor).
The formulas mirror third_party/cmsis_nn/Source/*/arm_*_get_buffer_sizes_s8.c and _s16.c line by line
(tests/targets/test_cmsis_nn_sizes.py compares them with the compiled C).
"""

from __future__ import annotations

from dataclasses import dataclass

# (name, DSP, MVE, Arm Compiler 6)
FEATURES = (("c", False, False, False), ("dsp", True, False, False), ("mve", True, True, False),
            ("dsp-armclang", True, False, True), ("mve-armclang", True, True, True))  # fmt: skip
CH_IN_BLOCK_MVE = 124  # arm_nnsupportfunctions.h
# The builds the main plan is made for (GCC/clang without MVE: the host, Cortex-M0 to M33), and
# the others, each with the preprocessor test that picks it in the model file (after
# arm_nnfunctions.h has set ARM_MATH_DSP/ARM_MATH_MVEI).
BASE = ("c", "dsp")
VARIANTS = (("mve-armclang", "defined(__ARMCC_VERSION) && defined(ARM_MATH_MVEI)"),
            ("dsp-armclang", "defined(__ARMCC_VERSION) && defined(ARM_MATH_DSP) && !defined(ARM_MATH_MVEI)"),
            ("mve", "!defined(__ARMCC_VERSION) && defined(ARM_MATH_MVEI)"))  # fmt: skip
# (exclusive tests: an op whose scratch one build does not grow keeps its planned place there)


@dataclass(frozen=True)
class Dims:
    n: int
    h: int
    w: int
    c: int


@dataclass(frozen=True)
class Conv:
    """What the size functions read of cmsis_nn_conv_params / cmsis_nn_dw_conv_params."""

    stride_w: int
    stride_h: int
    pad_w: int
    pad_h: int
    dilation_w: int
    dilation_h: int


def is_1x1(p: Conv, i: Dims, f: Dims) -> bool:
    return p.pad_w == 0 and p.pad_h == 0 and f.w == 1 and f.h == 1 and p.dilation_w == 1 and p.dilation_h == 1 \
        and i.c == f.c


def is_1x1_fast(p: Conv) -> bool:
    return p.stride_w == 1 and p.stride_h == 1


def is_1_x_n(p: Conv, i: Dims, f: Dims) -> bool:
    return i.h == 1 and p.dilation_w == 1 and f.h == 1 and (p.stride_w * i.c) % 4 == 0 and i.c == f.c


def _conv_s8(i: Dims, f: Dims, mve: bool) -> int:
    if mve:
        return 4 * ((i.c * f.w * f.h + 15) // 16) * 16
    cols = f.w * f.h * i.c
    return 2 * (cols + (4 - cols % 4) % 4) * 2


def conv_1x1_fast(i: Dims, dsp: bool, mve: bool, armclang: bool) -> int:
    """arm_convolve_1x1_s8_fast_get_buffer_size: only Arm Compiler 6's DSP code takes any."""
    return 2 * i.c * 2 if dsp and not mve and armclang else 0


def _conv_1_x_n_mve(p: Conv, i: Dims, f: Dims, o: Dims) -> int:
    total_pad = (o.w - 1) * p.stride_w + f.w - i.w
    asym = total_pad % 2  # C's % (total_pad >= 0 for the shapes TFLite makes)
    right = max(1, (p.pad_w + asym + p.stride_w - 1) // p.stride_w) if p.pad_w + asym != 0 else 0
    left = max(1, (p.pad_w + p.stride_w - 1) // p.stride_w) if p.pad_w != 0 else 0
    no_pad = max(o.w - (right + left), 0)
    if right + no_pad + left != o.w:
        return _conv_s8(i, f, mve=True)
    pad_left = p.pad_w * i.c
    pad_right = right * i.c if asym else pad_left
    left_elems = f.w * i.c
    return max(left_elems + pad_left, left_elems - i.c + pad_right)


def conv(p: Conv, i: Dims, f: Dims, o: Dims, dsp: bool, mve: bool, armclang: bool) -> int:
    """arm_convolve_wrapper_s8_get_buffer_size."""
    if is_1x1(p, i, f):
        return conv_1x1_fast(i, dsp, mve, armclang) if is_1x1_fast(p) else 0
    if is_1_x_n(p, i, f):
        return _conv_1_x_n_mve(p, i, f, o) if mve else _conv_s8(i, f, mve=False)
    return _conv_s8(i, f, mve)


def depthwise(p: Conv, i: Dims, f: Dims, o: Dims, dsp: bool, mve: bool, armclang: bool) -> int:
    """arm_depthwise_conv_wrapper_s8_get_buffer_size (``f``: {1, h, w, output channels})."""
    threshold = 8 if armclang else 1  # CONVERT_DW_CONV_WITH_ONE_INPUT_CH_AND_OUTPUT_CH_ABOVE_THRESHOLD
    if mve and i.c == 1 and o.c > threshold:  # run as a CONV_2D on transposed weights
        return conv(p, i, Dims(f.c, f.h, f.w, f.n), o, dsp, mve, armclang) + f.c * f.h * f.w * f.n
    if i.c == o.c and i.n == 1 and p.dilation_w == 1 and p.dilation_h == 1:
        if not mve and f.w == 3 and f.h == 3 and p.pad_h <= 1 and p.pad_w <= 1:
            return 0
        if mve:
            return 4 * CH_IN_BLOCK_MVE * f.w * f.h
        return i.c * f.w * f.h * 2 if dsp else 0
    return 0


def conv_s16(i: Dims, f: Dims, dsp: bool, mve: bool, armclang: bool) -> int:
    """arm_convolve_wrapper_s16_get_buffer_size (arm_convolve_get_buffer_sizes_s16.c): two
    im2col columns, or four lanes of 8 int16 on MVE; the same for every conv shape and compiler."""
    cols = i.c * f.w * f.h
    return 4 * ((cols + 7) // 8) * 8 * 2 if mve else 2 * cols * 2


def fully_connected(output_depth: int, dsp: bool, mve: bool, armclang: bool) -> int:
    """arm_fully_connected_s8_get_buffer_size: MVE keeps the kernel sums there."""
    return output_depth * 4 if mve else 0


def fully_connected_s16(output_depth: int, dsp: bool, mve: bool, armclang: bool) -> int:
    """arm_fully_connected_s16_get_buffer_size: none on any core."""
    return 0


def avgpool(channels: int, dsp: bool, mve: bool, armclang: bool) -> int:
    """arm_avgpool_s8_get_buffer_size (and arm_avgpool_s16_get_buffer_size: the same)."""
    return channels * 4 if dsp and not mve else 0


def sizes(fn, *args) -> dict[str, int]:
    """``fn``'s bytes for each CMSIS-NN build in FEATURES (fn takes dsp, mve, armclang last)."""
    return {name: fn(*args, dsp, mve, armclang) for name, dsp, mve, armclang in FEATURES}
