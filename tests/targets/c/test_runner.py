"""The c runner: the generated C compiled for the host and called through ctypes, bit-exact
with the TFLM interpreter; C files that edgekit did not generate are refused."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import ModelFileError
from edgekit.tflite_graph import TFLiteGraph
from targets.c.exporter import write_c
from targets.c.generate import generate
from targets.c.runner import CRunner
from targets.tflm.runner import TFLMRunner
from tests.conftest import INT8_MODELS, MLPERF, SHARED, needs_shared
from tests.targets.c.conftest import needs_compiler

pytestmark = needs_compiler()


KERNELS = ("portable", "cmsis-nn")


def int8_differences(data: bytes, xs: list[np.ndarray], kernels: str = "portable") -> int:
    """Output values (int8, or float32 after DEQUANTIZE) where the compiled C (with the
    ``kernels`` back-end) and the TFLM interpreter differ."""
    from edgekit.runtime.io import from_runtime, to_runtime

    graph = TFLiteGraph(data, "model")
    c = CRunner()
    c.load_generated(generate(data, name="m", model_name="model", kernels=kernels), graph)
    tflm = TFLMRunner()
    try:
        tflm.load_bytes(data)
        ours = c.run_raw(xs)
        theirs = tflm.run([from_runtime(x, t) for x, t in zip(xs, tflm.inputs)])
        return sum(int((to_runtime(t, info).reshape(o.shape) != o).sum()) for o, t, info in zip(ours, theirs, tflm.outputs))
    finally:
        tflm.close()
        c.close()


def _random_inputs(data: bytes, n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, (n, *t.shape[1:]), dtype=np.int8) if t.dtype == "int8"
            else rng.normal(size=(n, *t.shape[1:])).astype(np.float32) for t in TFLiteGraph(data).inputs]  # fmt: skip


@pytest.mark.parametrize("kernels", KERNELS)
def test_many_ops_with_float_io_are_bit_exact(many_ops_int8, kernels):
    # PAD, CONV_2D, HARD_SWISH, LOGISTIC, MUL, CONCATENATION, MEAN, FULLY_CONNECTED, SOFTMAX,
    # QUANTIZE and DEQUANTIZE: the float outputs are equal, not close (cmsis-nn: CONV_2D, MUL,
    # FULLY_CONNECTED and SOFTMAX call arm_*, the rest the portable kernels in the same file)
    ops = set(TFLiteGraph(many_ops_int8).op_names)
    assert {"PAD", "HARD_SWISH", "LOGISTIC", "MUL", "CONCATENATION", "MEAN", "QUANTIZE", "DEQUANTIZE"} <= ops
    assert int8_differences(many_ops_int8, _random_inputs(many_ops_int8, 40), kernels) == 0


@pytest.mark.parametrize("kernels", KERNELS)
def test_tiny_model_is_bit_exact_with_tflm(tiny_int8, tiny_data, kernels):
    from edgekit.runtime.io import to_runtime

    x = np.load(tiny_data)["x"]
    info = TFLiteGraph(tiny_int8).inputs[0].info()
    assert int8_differences(tiny_int8, [to_runtime(x, info)], kernels) == 0


@pytest.mark.parametrize("kernels", KERNELS)
def test_standalone_relu_relu6_and_mul_with_a_fused_relu6_are_bit_exact(activations_int8, kernels):
    graph = TFLiteGraph(activations_int8)
    assert {"RELU", "RELU6"} <= set(graph.op_names)
    assert [graph.op_options(op)["fusedActivationFunction"] for op in graph.ops if op.opcode == "MUL"] == [3]
    xs = _random_inputs(activations_int8, 60, seed=4)  # the whole int8 range: every clamp is hit
    assert int8_differences(activations_int8, xs, kernels) == 0


@pytest.mark.parametrize("kernels", KERNELS)
def test_fully_connected_with_3d_outputs_is_bit_exact(fc3d_int8, kernels):
    # cmsis-nn: arm_convolve_1x1_s8_fast with the per-tensor multiplier repeated per channel, as TFLM
    c = generate(fc3d_int8, name="m", model_name="fc3d", kernels=kernels).files["m.c"]
    assert ("arm_convolve_1x1_s8_fast(" in c) == (kernels == "cmsis-nn")
    assert int8_differences(fc3d_int8, _random_inputs(fc3d_int8, 50, seed=3), kernels) == 0


@pytest.mark.parametrize("kernels", KERNELS)
def test_transposes_and_pads_are_bit_exact(transposes_int8, kernels):
    # cmsis-nn: arm_transpose_s8 and arm_pad_s8 (4 and 3 dimensions), as TFLM's CMSIS-NN kernels
    c = generate(transposes_int8, name="m", model_name="transposes", kernels=kernels).files["m.c"].split("int m_invoke")[1]
    assert (c.count("arm_transpose_s8("), c.count("arm_pad_s8(")) == ((2, 2) if kernels == "cmsis-nn" else (0, 0))
    assert int8_differences(transposes_int8, _random_inputs(transposes_int8, 30, seed=5), kernels) == 0


def test_load_compiles_the_artifact_and_refuses_edited_c(tiny_int8, tiny_data, tmp_path):
    art = write_c(tiny_int8, tmp_path / "c", name="tiny", model_name="tiny.keras")
    r = CRunner()
    r.load(art)
    y = r.run([np.load(tiny_data)["x"][:5]])[0]
    assert y.shape == (5, 3) and np.allclose(y.sum(axis=1), 1.0, atol=0.05)
    r.smoke_test()
    r.close()
    c = art.directory / "tiny.c"
    c.write_text(c.read_text().replace("return 0;", "return 1;"))
    with pytest.raises(ModelFileError, match="differs from the C edgekit generates"):
        CRunner().load(art)


def test_a_cmsis_nn_artifact_loads_with_its_back_end(tiny_int8, tiny_data, tmp_path):
    # the manifest's kernels choose what the runner regenerates and links
    art = write_c(tiny_int8, tmp_path / "c", name="tiny", model_name="tiny.keras", kernels="cmsis-nn")
    assert art.metadata["kernels"] == "cmsis-nn" and "arm_softmax_s8(" in (art.directory / "tiny.c").read_text()
    x = np.load(tiny_data)["x"][:5]
    r, p = CRunner(), CRunner()
    r.load(art)
    p.load(write_c(tiny_int8, tmp_path / "p", name="tiny", model_name="tiny.keras"))
    try:
        assert np.array_equal(r.run([x])[0], p.run([x])[0])
    finally:
        r.close()
        p.close()


def test_the_arena_slots_can_be_the_buffers(tiny_int8, tiny_data):
    import ctypes

    from edgekit.runtime.io import to_runtime

    graph = TFLiteGraph(tiny_int8)
    r = CRunner()
    r.load_generated(generate(tiny_int8, name="m", model_name="tiny"), graph)
    x = to_runtime(np.load(tiny_data)["x"][:4], graph.inputs[0].info())
    want = r.run_raw([x])[0]
    lib = r._lib
    slot_in, slot_out = lib.m_input, lib.m_output
    slot_in.restype = slot_out.restype = ctypes.c_void_p
    got = []
    for sample in x:  # write into the input slot, read from the output slot: no copies
        ctypes.memmove(slot_in(), np.ascontiguousarray(sample).ctypes.data, sample.nbytes)
        assert lib.m_invoke(ctypes.c_void_p(slot_in()), ctypes.c_void_p(slot_out())) == 0
        got.append(np.ctypeslib.as_array(ctypes.cast(slot_out(), ctypes.POINTER(ctypes.c_int8)), (3,)).copy())
    r.close()
    assert np.array_equal(np.stack(got), want)


@needs_shared()
@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("model", ["simple_add_model", "micro_speech_quantized"])
def test_small_tflm_models_are_bit_exact(model, kernels):
    data = (SHARED / "tflm" / f"{model}.tflite").read_bytes()
    assert int8_differences(data, _random_inputs(data, 20), kernels) == 0


# --- slow: the digits example and the MLPerf Tiny / person_detect int8 models ---


def _structured(data: bytes, n: int) -> list[np.ndarray]:
    """Inputs shaped like each model's data (tests/synthetic.py), in its input quantization."""
    from edgekit.runtime.io import to_runtime
    from tests import synthetic

    info = TFLiteGraph(data).inputs[0].info()
    shape = info.shape[1:]
    lo, hi = (info.scale * (q - info.zero_point) for q in (-128, 127))
    if len(shape) == 3 and shape[0] > 16:  # images
        x = synthetic.images(n, *shape, seed=2, lo=lo, hi=hi)
    elif len(shape) == 3:  # MFCC frames
        x = synthetic.mfcc(n, 2).reshape(n, *shape)
    else:  # log-mel windows of the anomaly detector
        raw = np.fromfile(MLPERF / "anomaly_detection" / "normal_id_01_00000000_hist_librosa.bin", "<f4")
        x = synthetic.logmel_windows(raw.reshape(200, 128), n, 2)
    return [to_runtime(x.astype(np.float32), info)]




@pytest.mark.slow
@needs_shared()
@pytest.mark.parametrize("kernels", KERNELS)
def test_mobilenet_v2_is_bit_exact(kernels):
    # TRANSPOSE (NCHW input), PAD, MEAN with its scratch in the arena, ADD in place
    data = (SHARED / "tflm" / "mobilenet_v2_quantized_1x3x224x224.tflite").read_bytes()
    assert int8_differences(data, _random_inputs(data, 3), kernels) == 0


@pytest.mark.slow
@needs_shared()
@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("model", sorted(INT8_MODELS))
def test_mlperf_tiny_and_person_detect_are_bit_exact(model, kernels):
    data = INT8_MODELS[model].read_bytes()
    xs = _structured(data, 200)
    assert int8_differences(data, xs, kernels) == 0
    assert int8_differences(data, _random_inputs(data, 20, seed=1), kernels) == 0


@pytest.mark.slow
@pytest.mark.parametrize("kernels", KERNELS)
def test_digits_is_bit_exact_on_every_evaluation_sample(tmp_path, kernels):
    from edgekit.pipeline import ExportOptions, export
    from edgekit.runtime.io import to_runtime
    from tests.conftest import EXAMPLE

    result = export(ExportOptions(model=EXAMPLE / "digits.keras", out=tmp_path / "b", target=("c",), quant="int8",
                                  calib=str(EXAMPLE / "calib.npz"), c_kernels=kernels))  # fmt: skip
    art = result.artifacts[0]
    assert art.metadata["kernels"] == kernels
    data = (art.directory / "digits.tflite").read_bytes()
    x = np.load(EXAMPLE / "eval.npz")["x"]
    assert len(x) == 540
    assert int8_differences(data, [to_runtime(x, art.inputs[0])], kernels) == 0
