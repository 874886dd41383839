"""CMSIS-NN's scratch buffers in a TFLM CMSIS-NN project (targets/tflm/cmsis_scratch.py): TFLM's
glue over the size formulas of targets/cmsis_nn_sizes.py, held to CMSIS-NN's compiled size
functions (tests/cmsis_nn_oracle.py) on every op of the shared models."""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import pytest

from edgekit.tflite_graph import TFLiteGraph
from targets.tflm.boards import BOARDS, get_board
from targets.tflm.cmsis_scratch import _conv_args, _nhwc, op_scratch, scratch_bound
from targets.tflm.firmware import default_tflm_root, project_for
from tests.cmsis_nn_oracle import FEATURES as ORACLE_FEATURES
from tests.cmsis_nn_oracle import conv_params, library
from tests.conftest import MLPERF, SHARED, needs_shared

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
    dsp = {(s.opcode, s.bytes) for s in op_scratch(graph, "dsp")}
    assert dsp == {("CONV_2D", 2 * 40 * 2), ("AVERAGE_POOL_2D", 64 * 4)}  # im2col of int16 pairs; int32 sums
    mve = op_scratch(graph, "mve")
    assert [s.opcode for s in mve].count("DEPTHWISE_CONV_2D") == 4  # Helium blocks every 3x3 depthwise
    assert scratch_bound(graph, get_board("mps3-an547"))["bytes"] == 4464  # 4 x 124 channels x 9 taps
    assert op_scratch(graph, "plain") == [s for s in op_scratch(graph, "plain") if s.opcode == "CONV_2D"]


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


SHARED_MODELS = (KWS, MLPERF / "anomaly_detection" / "ad01_int8.tflite",
                 MLPERF / "image_classification" / "pretrainedResnet_quant.tflite",
                 MLPERF / "visual_wake_words" / "vww_96_int8.tflite", SHARED / "tflm" / "person_detect.tflite")  # fmt: skip


def _compiled(lib, graph, features: str) -> list[tuple]:
    """The same requests with CMSIS-NN's compiled functions in place of the formulas."""
    feature, tensors, out = ORACLE_FEATURES[features], graph.main.tensors, []
    for op in graph.ops:
        x, y = tensors[op.inputs[0]], tensors[op.outputs[0]]
        bits = 16 if x.dtype == "int16" else 8
        if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            p, i, f, o = _conv_args(graph, op, x, tensors[op.inputs[1]], y)
            arr = conv_params(p, i, f, o)
            n = lib.ek_conv(bits, feature, arr) if op.opcode == "CONV_2D" else lib.ek_depthwise_conv_s8(feature, arr)
        elif op.opcode == "AVERAGE_POOL_2D":
            o = _nhwc(y.shape)
            n = lib.ek_avgpool(bits, feature, (ctypes.c_int32 * 2)(o.w, o.c))
        elif op.opcode == "FULLY_CONNECTED" and len(y.shape) == 2:
            n = lib.ek_fully_connected(bits, feature, (ctypes.c_int32 * 4)(tensors[op.inputs[1]].shape[-1], 1, 1, y.shape[-1]))
        else:
            continue
        if n > 0:
            out.append((op.index, op.opcode, int(n)))
    return out


@needs_shared()
@pytest.mark.parametrize("features", ["plain", "dsp", "mve"])
def test_every_request_on_the_shared_models_is_cmsis_nns_own(features):
    lib = library(ROOT)
    for path in SHARED_MODELS:
        graph = TFLiteGraph.from_file(path)
        got = [(s.op, s.opcode, s.bytes) for s in op_scratch(graph, features)]
        assert got == _compiled(lib, graph, features), (path.name, features)


@needs_shared()
def test_a_cmsis_nn_project_needs_no_host_compiler(monkeypatch):
    """It compiled CMSIS-NN's size functions with the host's gcc; without one it failed."""
    monkeypatch.setenv("CC", "/nonexistent/gcc")
    monkeypatch.setenv("PATH", "/nonexistent")
    nn = project_for(KWS.read_bytes(), name="kws", model_name="kws.tflite", board="mps3-an547", kernels="cmsis-nn")
    assert nn.record["cmsis_nn_scratch"]["bytes"] == 4464
