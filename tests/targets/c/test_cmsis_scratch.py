"""The CMSIS-NN scratch sizes the plan reserves equal CMSIS-NN's own get_buffer_size functions,
compiled for the host: the plain-C ones, and the ``_dsp``/``_mve`` variants it exports for
planning on another machine (GCC sizes; Arm Compiler's two differences are not compiled here)."""

from __future__ import annotations

import ctypes
import random
import subprocess

import pytest

from targets.c import cmsis_scratch as cs
from targets.c.hostbuild import cmsis_includes, cmsis_objects, cmsis_root
from tests.targets.c.conftest import needs_compiler

pytestmark = needs_compiler()

_HELPER = r"""
#include "arm_nnfunctions.h"
static cmsis_nn_dims d(const int *v) { cmsis_nn_dims x = {v[0], v[1], v[2], v[3]}; return x; }
/* p: stride w,h, pad w,h, dilation w,h; which: 0 plain (host), 1 dsp, 2 mve */
int conv(int which, const int *p, const int *i, const int *f, const int *o) {
  cmsis_nn_conv_params c = {0, 0, {p[0], p[1]}, {p[2], p[3]}, {p[4], p[5]}, {-128, 127}};
  cmsis_nn_dims a = d(i), b = d(f), e = d(o);
  return which == 0 ? arm_convolve_wrapper_s8_get_buffer_size(&c, &a, &b, &e)
       : which == 1 ? arm_convolve_wrapper_s8_get_buffer_size_dsp(&c, &a, &b, &e)
                    : arm_convolve_wrapper_s8_get_buffer_size_mve(&c, &a, &b, &e);
}
int dw(int which, const int *p, const int *i, const int *f, const int *o) {
  cmsis_nn_dw_conv_params c = {0, 0, 1, {p[0], p[1]}, {p[2], p[3]}, {p[4], p[5]}, {-128, 127}};
  cmsis_nn_dims a = d(i), b = d(f), e = d(o);
  return which == 0 ? arm_depthwise_conv_wrapper_s8_get_buffer_size(&c, &a, &b, &e)
       : which == 1 ? arm_depthwise_conv_wrapper_s8_get_buffer_size_dsp(&c, &a, &b, &e)
                    : arm_depthwise_conv_wrapper_s8_get_buffer_size_mve(&c, &a, &b, &e);
}
int fc(int which, int out_c) {
  cmsis_nn_dims f = {16, 1, 1, out_c};
  return which == 0 ? arm_fully_connected_s8_get_buffer_size(&f)
       : which == 1 ? arm_fully_connected_s8_get_buffer_size_dsp(&f) : arm_fully_connected_s8_get_buffer_size_mve(&f);
}
int avg(int which, int ch) {
  return which == 0 ? arm_avgpool_s8_get_buffer_size(8, ch)
       : which == 1 ? arm_avgpool_s8_get_buffer_size_dsp(8, ch) : arm_avgpool_s8_get_buffer_size_mve(8, ch);
}
"""


@pytest.fixture(scope="module")
def helper(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cmsis-sizes")
    (tmp / "sizes.c").write_text(_HELPER)
    lib = tmp / "libsizes.so"
    root = cmsis_root()
    subprocess.run(["gcc", "-std=c99", "-O1", "-fPIC", "-shared", *cmsis_includes(root), str(tmp / "sizes.c"),
                    *map(str, cmsis_objects()), "-o", str(lib)], check=True, capture_output=True, timeout=300)  # fmt: skip
    return ctypes.CDLL(str(lib))


def _arr(v):
    return (ctypes.c_int * 4)(*v)


def _cases(n: int):
    rng = random.Random(0)
    for _ in range(n):
        k = rng.choice([1, 1, 3, 5])
        kh = rng.choice([1, k])
        s = rng.choice([1, 2])
        ih = rng.choice([1, 5, 12])
        iw = rng.choice([4, 9, 16])
        c = rng.choice([1, 2, 3, 4, 8, 12])
        pw, ph = rng.choice([0, k // 2]), rng.choice([0, kh // 2])
        dil = rng.choice([1, 1, 2])
        ow, oh = max(1, (iw + 2 * pw - dil * (k - 1) - 1) // s + 1), max(1, (ih + 2 * ph - dil * (kh - 1) - 1) // s + 1)
        yield cs.Conv(s, s, pw, ph, dil, dil), cs.Dims(1, ih, iw, c), (kh, k), (oh, ow), rng.choice([1, 4, 8, 16])


_WHICH = {"c": 0, "dsp": 1, "mve": 2}


def test_conv_and_depthwise_sizes_match_cmsis_nn(helper):
    checked = 0
    for p, i, (kh, kw), (oh, ow), oc in _cases(400):
        pv = [p.stride_w, p.stride_h, p.pad_w, p.pad_h, p.dilation_w, p.dilation_h]
        f = cs.Dims(1, kh, kw, i.c)
        o = cs.Dims(1, oh, ow, oc)
        fd = cs.Dims(1, kh, kw, i.c)  # depthwise: multiplier 1
        od = cs.Dims(1, oh, ow, i.c)
        for build, dsp, mve, armclang in cs.FEATURES:
            if armclang:
                continue
            w = _WHICH[build]
            args = (ctypes.c_int(w), (ctypes.c_int * 6)(*pv), _arr(vars(i).values()))
            assert helper.conv(*args, _arr(vars(f).values()), _arr(vars(o).values())) == cs.conv(p, i, f, o, dsp, mve, False), (build, p, i, f, o)
            assert helper.dw(*args, _arr(vars(fd).values()), _arr(vars(od).values())) == cs.depthwise(p, i, fd, od, dsp, mve, False), (build, p, i, fd)
            checked += 1
    assert checked == 1200


def test_fully_connected_and_avgpool_sizes_match_cmsis_nn(helper):
    for build, dsp, mve, armclang in cs.FEATURES:
        if not armclang:
            for n in (1, 3, 10, 64):
                assert helper.fc(_WHICH[build], n) == cs.fully_connected(n, dsp, mve, False)
                assert helper.avg(_WHICH[build], n) == cs.avgpool(n, dsp, mve, False)
