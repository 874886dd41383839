"""The CMSIS-NN scratch sizes (targets/cmsis_nn_sizes.py, pure Python so neither the c target
nor a TFLM CMSIS-NN project needs a compiler) equal CMSIS-NN's own get_buffer_size functions:
the plain-C ones and the ``_dsp``/``_mve`` host variants, compiled for the host
(tests/cmsis_nn_oracle.py). GCC sizes: Arm Compiler 6's two differences are not compiled here."""

from __future__ import annotations

import ctypes
import random

import pytest

from targets import cmsis_nn_sizes as cs
from targets.tflm.firmware import default_tflm_root
from tests.cmsis_nn_oracle import FEATURES as C_FEATURES
from tests.cmsis_nn_oracle import conv_params, library
from tests.targets.c.conftest import needs_compiler

pytestmark = needs_compiler()
_WHICH = {"c": C_FEATURES["plain"], "dsp": C_FEATURES["dsp"], "mve": C_FEATURES["mve"]}
_GCC = [(b, dsp, mve) for b, dsp, mve, armclang in cs.FEATURES if not armclang]


@pytest.fixture(scope="module")
def lib():
    return library(default_tflm_root("cmsis-nn"))


def _cases(n: int):
    rng = random.Random(0)
    for _ in range(n):
        k = rng.choice([1, 1, 3, 5])
        kh, s, dil = rng.choice([1, k]), rng.choice([1, 2]), rng.choice([1, 1, 2])
        ih, iw, c = rng.choice([1, 5, 12]), rng.choice([4, 9, 16]), rng.choice([1, 2, 3, 4, 8, 12])
        pw, ph = rng.choice([0, k // 2]), rng.choice([0, kh // 2])
        ow = max(1, (iw + 2 * pw - dil * (k - 1) - 1) // s + 1)
        oh = max(1, (ih + 2 * ph - dil * (kh - 1) - 1) // s + 1)
        yield cs.Conv(s, s, pw, ph, dil, dil), cs.Dims(1, ih, iw, c), kh, k, oh, ow, rng.choice([1, 4, 8, 16])


def test_conv_and_depthwise_sizes_match_cmsis_nn(lib):
    paths = set()
    for p, i, kh, kw, oh, ow, oc in _cases(400):
        f, o = cs.Dims(1, kh, kw, i.c), cs.Dims(1, oh, ow, oc)
        od = cs.Dims(1, oh, ow, i.c)  # depthwise, multiplier 1
        paths.add((cs.is_1x1(p, i, f), cs.is_1_x_n(p, i, f)))
        for build, dsp, mve in _GCC:
            assert lib.ek_conv(8, _WHICH[build], conv_params(p, i, f, o)) == cs.conv(p, i, f, o, dsp, mve, False), (build, p, i, f)
            want = cs.depthwise(p, i, f, od, dsp, mve, False)
            assert lib.ek_depthwise_conv_s8(_WHICH[build], conv_params(p, i, f, od)) == want, (build, p, i, f)
    assert {(True, False), (False, True), (False, False)} <= paths  # 1x1, 1xN and im2col all met


def test_a_depthwise_conv_of_one_input_channel_runs_as_a_conv_on_mve(lib):
    # MVE converts it to CONV_2D: the conv's scratch plus the transposed weights
    p, i = cs.Conv(1, 1, 1, 1, 1, 1), cs.Dims(1, 10, 10, 1)
    for oc in (2, 8, 16):
        f, o = cs.Dims(1, 3, 3, oc), cs.Dims(1, 10, 10, oc)
        assert cs.depthwise(p, i, f, o, True, True, False) > 0
        for build, dsp, mve in _GCC:
            assert lib.ek_depthwise_conv_s8(_WHICH[build], conv_params(p, i, f, o)) == cs.depthwise(p, i, f, o, dsp, mve, False)


def test_fully_connected_and_avgpool_sizes_match_cmsis_nn(lib):
    for build, dsp, mve in _GCC:
        for n in (1, 3, 10, 64):
            assert lib.ek_fully_connected(8, _WHICH[build], (ctypes.c_int32 * 4)(16, 1, 1, n)) == cs.fully_connected(n, dsp, mve, False)
            assert lib.ek_avgpool(8, _WHICH[build], (ctypes.c_int32 * 2)(8, n)) == cs.avgpool(n, dsp, mve, False)


def test_int16_conv_fully_connected_and_avgpool_sizes_match_cmsis_nn(lib):
    # The _s16 functions the int16x8 lowerings call (targets/c/cmsis_s16.py): every conv path
    # (1x1, 1xN, im2col) sizes the same two int16 columns, or MVE's four 8-lane ones.
    for p, i, kh, kw, oh, ow, oc in _cases(200):
        f, o = cs.Dims(1, kh, kw, i.c), cs.Dims(1, oh, ow, oc)
        for build, dsp, mve in _GCC:
            assert lib.ek_conv(16, _WHICH[build], conv_params(p, i, f, o)) == cs.conv_s16(i, f, dsp, mve, False), (build, i, f)
    for build, dsp, mve in _GCC:
        for n in (1, 3, 10, 64):
            assert lib.ek_fully_connected(16, _WHICH[build], (ctypes.c_int32 * 4)(16, 1, 1, n)) == cs.fully_connected_s16(n, dsp, mve, False)
            assert lib.ek_avgpool(16, _WHICH[build], (ctypes.c_int32 * 2)(8, n)) == cs.avgpool(n, dsp, mve, False)


def test_the_1x1_fast_conv_size_matches_cmsis_nn(lib):
    # FULLY_CONNECTED's 1x1-convolution path in TFLM (outputs of more than 2 dimensions)
    for c in (4, 16, 64):
        for build, dsp, mve in _GCC:
            got = lib.ek_convolve_1x1_fast_s8(_WHICH[build], (ctypes.c_int32 * 4)(3, 1, 1, c))
            assert got == cs.conv_1x1_fast(cs.Dims(3, 1, 1, c), dsp, mve, False)
