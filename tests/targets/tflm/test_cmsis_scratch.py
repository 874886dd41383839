"""CMSIS-NN's scratch buffers, from CMSIS-NN's own host-side size functions (targets/tflm/cmsis_scratch.py)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from edgekit.tflite_graph import TFLiteGraph
from targets.tflm.boards import BOARDS, get_board
from targets.tflm.cmsis_scratch import op_scratch, scratch_bound
from targets.tflm.firmware import default_tflm_root, project_for
from tests.conftest import MLPERF, needs_shared

KWS = MLPERF / "keyword_spotting" / "kws_ref_model.tflite"
ROOT = default_tflm_root("cmsis-nn")


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_each_board_names_the_cmsis_nn_path_its_compiler_takes(board):
    """The features a board declares are what arm-none-eabi-gcc predefines for its -mcpu flags,
    which is what CMSIS-NN's arm_nn_math_types.h turns into ARM_MATH_MVEI / ARM_MATH_DSP."""
    b = get_board(board)
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.fail("arm-none-eabi-gcc is missing: run `make toolchain`")
    macros = subprocess.run([gcc, *b.cpu_flags, "-dM", "-E", "-x", "c", "/dev/null"], capture_output=True,
                            text=True, check=True).stdout  # fmt: skip
    mve = "__ARM_FEATURE_MVE" in macros
    dsp = "__ARM_FEATURE_DSP 1" in macros
    assert b.cmsis_nn_features == ("mve" if mve else "dsp" if dsp else "plain")


@needs_shared()
def test_kws_scratch_per_core_is_cmsis_nns_formula():
    graph = TFLiteGraph.from_file(KWS)
    # DS-CNN: a 10x4 convolution of 1 channel, 3x3 depthwise convolutions of 64, an average pool.
    dsp = {(s.opcode, s.bytes) for s in op_scratch(graph, "dsp", ROOT)}
    assert dsp == {("CONV_2D", 2 * 40 * 2), ("AVERAGE_POOL_2D", 64 * 4)}  # im2col of int16 pairs; int32 sums
    mve = op_scratch(graph, "mve", ROOT)
    assert [s.opcode for s in mve].count("DEPTHWISE_CONV_2D") == 4  # Helium blocks every 3x3 depthwise
    assert scratch_bound(graph, get_board("mps3-an547"), ROOT)["bytes"] == 4464  # 4 x 124 channels x 9 taps
    assert op_scratch(graph, "plain", ROOT) == [s for s in op_scratch(graph, "plain", ROOT) if s.opcode == "CONV_2D"]


@needs_shared()
def test_a_cmsis_nn_project_adds_the_scratch_to_the_arena():
    """KWS on the Cortex-M55 needs 27,300 B with CMSIS-NN (bisected under QEMU) against 22,784 B
    with the reference kernels; the project used to ship the reference figure and fail."""
    data = KWS.read_bytes()
    ref = project_for(data, name="kws", model_name="kws.tflite", board="mps3-an547", kernels="reference")
    nn = project_for(data, name="kws", model_name="kws.tflite", board="mps3-an547", kernels="cmsis-nn")
    assert "cmsis_nn_scratch" not in ref.record and "+ " not in ref.files["main.cc"].split("EDGEKIT_ARENA_SIZE")[2]
    assert nn.record["arena_size"] == ref.record["arena_size"] + 4464 >= 27_300
    assert "#define EDGEKIT_ARENA_SIZE (KWS_ARENA_SIZE + 4464)" in nn.files["main.cc"]
    m4 = project_for(data, name="kws", model_name="kws.tflite", board="mps2-an386", kernels="cmsis-nn")
    assert m4.record["arena_size"] == ref.record["arena_size"] + 256
