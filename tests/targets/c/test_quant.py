"""The generation-time parameters are TFLM's: QuantizeMultiplier and the softmax scaling
compared with TFLM's own quantization_util.cc compiled on the host, on many values."""

from __future__ import annotations

import random
import subprocess

import numpy as np
import pytest

from targets.c import quant
from tests.targets.c.conftest import TREE, needs_compiler

PROGRAM = r"""
#include <cstdio>
#include "tensorflow/lite/kernels/internal/quantization_util.h"
int main() {
  double m, beta, scale;
  while (std::scanf("%lf %lf %lf", &m, &beta, &scale) == 3) {
    int32_t q; int s; tflite::QuantizeMultiplier(m, &q, &s);
    int32_t sq; int ls; tflite::PreprocessSoftmaxScaling(beta, scale, 5, &sq, &ls);
    int radius = tflite::CalculateInputRadius(5, ls);
    std::printf("%d %d %d %d %d\n", q, s, sq, ls, radius);
  }
}
"""


@pytest.fixture(scope="module")
def tflm_quant(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quant")
    (tmp / "q.cc").write_text(PROGRAM)
    subprocess.run(["g++", "-std=c++17", "-O1", "-DTF_LITE_STATIC_MEMORY", "-I", str(TREE), str(tmp / "q.cc"),
                    str(TREE / "tensorflow/lite/kernels/internal/quantization_util.cc"), "-o", str(tmp / "q")],
                   check=True, capture_output=True)  # fmt: skip
    return tmp / "q"


def _cases() -> list[tuple[float, float, float]]:
    rng = random.Random(3)
    ms = [0.0, 0.5, 1.0, 2.0, 1 - 2**-40, 2**-31, 2**-33, 0.75 + 2**-32, 3e-10]
    ms += [10 ** rng.uniform(-9, 2) for _ in range(400)]
    # float32 scales, as the flatbuffer stores them
    return [(m, 1.0, float(np.float32(10 ** rng.uniform(-4, 0)))) for m in ms]


@needs_compiler()
def test_multipliers_and_softmax_scaling_equal_tflm(tflm_quant):
    cases = _cases()
    text = "".join(f"{m!r} {b!r} {s!r}\n" for m, b, s in cases)
    out = subprocess.run([str(tflm_quant)], input=text, capture_output=True, text=True, check=True).stdout.split("\n")
    for (m, beta, scale), line in zip(cases, out):
        q, s, sq, ls, radius = map(int, line.split())
        assert quant.quantize_multiplier(m) == (q, s), m
        p = quant.softmax_params(beta, scale)
        assert (p["input_multiplier"], p["input_left_shift"], p["diff_min"]) == (sq, ls, -radius), scale


def test_round_is_half_away_from_zero():
    assert [quant._round(x) for x in (0.5, 1.5, 2.5, -0.5, -2.5)] == [1, 2, 3, -1, -3]


def test_activation_ranges():
    assert quant.activation_range(0, 0.1, 3) == (-128, 127)
    assert quant.activation_range(1, 0.1, -128) == (-128, 127)
    assert quant.activation_range(3, 6 / 255, -128) == (-128, 127)
    assert quant.activation_range(3, 0.1, -10) == (-10, 50)
    with pytest.raises(ValueError):
        quant.activation_range(4, 0.1, 0)  # TANH is not a fused integer range


def test_padding_and_output_size_follow_tflm():
    assert quant.out_size(0, 96, 3, 2) == 48 and quant.pad(2, 1, 96, 3, 48) == 0
    assert quant.out_size(1, 49, 10, 2) == 20
    assert quant.out_size(0, 7, 3, 1) == 7 and quant.pad(1, 1, 7, 3, 7) == 1
