"""int16x8 with ``--c-kernels cmsis-nn``: the ops TFLM's CMSIS-NN kernels run through
CMSIS-NN's _s16 functions call them here too (targets/c/cmsis_s16.py), the rest the portable
kernels; bit-exact with the TFLM interpreter on the host (CMSIS-NN's plain-C code) and on the
emulated Cortex-M4 (DSP code) and Cortex-M55 (MVE code)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from targets.c.generate import generate
from tests.targets.c.conftest import CROSS, int8_tflite, needs_compiler
from tests.targets.c.test_int16x8 import _int16_inputs, assert_bit_exact_on_qemu

# The int16 path of each TFLM CMSIS-NN kernel (tensorflow/lite/micro/kernels/cmsis_nn/*.cc).
S16_CALLS = {"CONV_2D": "arm_convolve_wrapper_s16", "DEPTHWISE_CONV_2D": "arm_depthwise_conv_s16",
             "FULLY_CONNECTED": "arm_fully_connected_s16", "AVERAGE_POOL_2D": "arm_avgpool_s16",
             "MAX_POOL_2D": "arm_max_pool_s16", "ADD": "arm_elementwise_add_s16", "MUL": "arm_elementwise_mul_s16",
             "SOFTMAX": "arm_softmax_s16"}  # fmt: skip


def _calls(c: str) -> set[str]:
    return set(re.findall(r"\b(arm_\w+|ek_\w+_s16\w*)\(", c))


def test_the_s16_calls_are_tflms_and_the_rest_is_portable(tiny_int16x8, int16_ops):
    tiny = generate(tiny_int16x8, name="m", model_name="m", kernels="cmsis-nn")
    assert _calls(tiny.files["m.c"]) == {S16_CALLS[o] for o in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED",
                                                                 "SOFTMAX")}  # fmt: skip
    assert "(int16x8, CMSIS-NN kernels)" in tiny.files["m.c"] and "int64_t m_t" in tiny.files["m.c"]
    ops = generate(int16_ops, name="m", model_name="m", kernels="cmsis-nn")
    # PAD: TFLM's CMSIS-NN pad.cc runs the reference kernel for int16; CONCATENATION, MEAN,
    # QUANTIZE, DEQUANTIZE: no CMSIS-NN kernel
    assert ops.backends == {**{o: "cmsis-nn" for o in S16_CALLS}, **{o: "portable" for o in (
        "PAD", "CONCATENATION", "MEAN", "QUANTIZE", "DEQUANTIZE")}}  # fmt: skip
    calls = _calls(ops.files["m.c"])
    assert set(S16_CALLS.values()) <= calls and "ek_pad_s16" in calls and not {"ek_conv_s16", "ek_add_s16"} & calls
    # the softmax tables are TFLM's, as for the portable kernel, referenced by the LUT struct
    assert ops.files["m.c"].count("static const int16_t m_op") == 2 and "cmsis_nn_softmax_lut_s16" in ops.files["m.c"]


@needs_compiler()
@pytest.mark.parametrize("fixture", ["tiny_int16x8", "int16_ops"])
def test_cmsis_nn_int16x8_is_bit_exact_on_the_host(fixture, request):
    from tests.targets.c.test_runner import int8_differences

    data = request.getfixturevalue(fixture)
    assert int8_differences(data, _int16_inputs(data, 200, seed=2), "cmsis-nn") == 0


@pytest.fixture(scope="module")
def broadcast_int16x8(tmp_path_factory) -> bytes:
    """A squeeze-and-excite MUL (it broadcasts: TFLM's CMSIS-NN kernel runs the reference one),
    3-D FULLY_CONNECTEDs and a strided conv with a fused RELU6."""
    import keras

    keras.utils.set_random_seed(21)
    x = keras.Input((6, 6, 4), name="image")
    a = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu6", name="conv")(x)
    g = keras.layers.Dense(4, activation="sigmoid", name="gate")(keras.layers.GlobalAveragePooling2D(keepdims=True,
                                                                                                 name="gap")(a))  # fmt: skip
    b = keras.layers.Reshape((9, 4), name="seq")(keras.layers.Multiply(name="mul")([a, g]))
    y = keras.layers.Dense(3, name="d")(keras.layers.Dense(8, name="d1")(b))
    calib = 2 * np.random.default_rng(22).normal(size=(32, 6, 6, 4))
    return int8_tflite(keras.Model(x, y, name="bc16"), calib, tmp_path_factory.mktemp("c-bc16"), scheme="int16x8")


@needs_compiler()
def test_broadcasting_and_sequence_ops_are_bit_exact(broadcast_int16x8):
    from tests.targets.c.test_runner import int8_differences

    model = generate(broadcast_int16x8, name="m", model_name="m", kernels="cmsis-nn")
    c = model.files["m.c"]
    assert "arm_convolve_wrapper_s16(" in c and c.count("arm_fully_connected_s16(") == 3  # gate, d1, d
    assert model.backends["MUL"] == "portable" and "ek_mul_s16(" in c
    assert int8_differences(broadcast_int16x8, _int16_inputs(broadcast_int16x8, 100, seed=3), "cmsis-nn") == 0


@pytest.mark.parametrize("fixture,board", [("tiny_int16x8", "mps2-an386"), ("int16_ops", "mps2-an386"),
                                           ("tiny_int16x8", "mps3-an547"), ("int16_ops", "mps3-an547")])  # fmt: skip
def test_cmsis_nn_int16x8_on_the_m4_and_m55_is_bit_exact(fixture, board, request, tmp_path):
    """CMSIS-NN's DSP (M4) and MVE (M55) _s16 code under QEMU: outputs equal to the TFLM
    interpreter's (reference kernels), and the arena the build's own."""
    from targets.c.exporter import write_c

    if not CROSS:
        pytest.skip("needs arm-none-eabi-gcc, qemu-system-arm and ../shared/tflm")
    data = request.getfixturevalue(fixture)
    art = write_c(data, tmp_path / "c", name="m16", model_name=f"{fixture}.keras", kernels="cmsis-nn")
    sizes = assert_bit_exact_on_qemu(art, data, board=board, kernels="cmsis-nn")
    arena = sizes["components"]["ram"]["arena"]["tensor arena"]
    assert arena == art.metadata["arena_by_build"]["mve" if board == "mps3-an547" else "dsp"]


@pytest.mark.slow
@pytest.mark.firmware  # a TFLM firmware build per core: 3-4 minutes each
@pytest.mark.parametrize("board", ["mps2-an386", "mps3-an547"])
def test_tflms_own_cmsis_nn_firmware_is_bit_exact_to_its_interpreter_on_int16(int16_ops, board, tmp_path):
    """The yardstick: TFLM's CMSIS-NN int16 kernels (its firmware, --kernels cmsis-nn, DSP on
    the M4 and MVE on the M55) give the reference kernels' outputs (the Python interpreter), so
    the cmsis-nn C is held to the interpreter as the int8 one is."""
    from edgekit.runtime.io import from_runtime
    from targets.tflm.runner import TFLMRunner
    from tests.firmware_matrix import built_project

    if not CROSS:
        pytest.skip("needs arm-none-eabi-gcc, qemu-system-arm and ../shared/tflm")
    _, _, qemu = built_project(int16_ops, "ops16", board, "cmsis-nn", tmp_path / "fw")
    tflm = TFLMRunner()
    tflm.load_bytes(int16_ops)
    try:
        xs = [from_runtime(x, t) for x, t in zip(_int16_inputs(int16_ops, 12, seed=8), tflm.inputs)]
        got, want = qemu.run(xs), tflm.run(xs)
        assert np.array_equal(got[0], want[0]) and len({r.tobytes() for r in got[0]}) > 1
    finally:
        qemu.close()
        tflm.close()


@pytest.mark.slow
@pytest.mark.firmware
def test_digits_int16x8_with_cmsis_nn_against_tflm_cmsis_nn_on_the_m4(tmp_path):
    """docs/c.md's int16x8 CMSIS-NN row: the C and TFLM's CMSIS-NN firmware of the digits
    example on the M4, both bit-exact to the interpreter; the C smaller and not slower."""
    from edgekit.pipeline import ExportOptions, export
    from tests.c_firmware import CASES, run_model
    from tests.conftest import EXAMPLE

    if not CROSS:
        pytest.skip("needs arm-none-eabi-gcc, qemu-system-arm and ../shared/tflm")
    res = export(ExportOptions(model=EXAMPLE / "digits.keras", out=tmp_path / "b", target=("tflite",), quant="int16x8",
                               calib=str(EXAMPLE / "calib.npz")))  # fmt: skip
    rec = run_model(CASES["digits"], res.artifacts[0].primary.read_bytes(), tmp_path, 3,
                    configs=(("tflm", "cmsis-nn"), ("c", "cmsis-nn")))  # fmt: skip
    tflm, c = rec["configs"]["tflm cmsis-nn"], rec["configs"]["c cmsis-nn"]
    assert tflm["values_differing"] == 0 and c["values_differing"] == 0 and c["arena"] == c["lower_bound"]
    assert c["ratio"]["flash"] <= 0.8 and c["ratio"]["ram"] <= 0.9 and c["instructions"] <= tflm["instructions"], c


def test_a_non_zero_int16_zero_point_is_one_line(tiny_int16x8):
    """Hostile: the graph input's zero point set to 5 (TFLM's CMSIS-NN conv Prepare refuses it):
    one line naming the op and the way out, before any file is written."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    from edgekit.errors import UnsupportedError

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(tiny_int16x8, 0))
    sg = model.subgraphs[0]
    sg.tensors[sg.inputs[0]].quantization.zeroPoint = [5]
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    with pytest.raises(UnsupportedError, match=r"^CONV_2D \(node 0\): int16 zero points must be 0 .*--c-kernels portable$"):
        generate(bytes(b.Output()), name="m", model_name="m", kernels="cmsis-nn")


@needs_compiler()
def test_a_per_channel_int16_fully_connected_runs_the_portable_kernel(tiny_int16x8):
    """TFLM's CMSIS-NN FULLY_CONNECTED refuses per-channel int16 weights in Prepare; the C keeps
    the reference kernel there (FullyConnectedPerChannel), bit-exact with the interpreter."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    from tests.targets.c.test_runner import int8_differences

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(tiny_int16x8, 0))
    sg = model.subgraphs[0]
    fc = next(o for o in sg.operators if model.operatorCodes[o.opcodeIndex].builtinCode == schema.BuiltinOperator.FULLY_CONNECTED)
    w = sg.tensors[fc.inputs[1]]
    n = w.shape[0]  # per output channel, scales 1x..1.5x the per-tensor one
    w.quantization.scale = [float(w.quantization.scale[0]) * (1 + 0.5 * k / n) for k in range(n)]
    w.quantization.zeroPoint, w.quantization.quantizedDimension = [0] * n, 0
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    data = bytes(b.Output())
    m = generate(data, name="m", model_name="m", kernels="cmsis-nn")
    # the first FULLY_CONNECTED is per-channel now; any other keeps arm_fully_connected_s16
    assert "portable" in m.backends["FULLY_CONNECTED"] and m.files["m.c"].count("ek_fully_connected_per_channel_s16(") == 1
    assert m.backends["CONV_2D"] == "cmsis-nn"
    assert int8_differences(data, _int16_inputs(data, 100, seed=4), "cmsis-nn") == 0
