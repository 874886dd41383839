"""int16x8 in the c target (int16 activations, int8 weights, int64 biases; portable kernels):
bit-exact with the TFLM interpreter, TFLM's own softmax tables, 2-byte tensors in the plan,
and one-line refusals for what it does not run."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import UnsupportedError
from edgekit.tflite_graph import TFLiteGraph
from quantize.spec import QuantSpec
from targets.c import quant
from targets.c.exporter import CTarget
from targets.c.generate import generate
from tests.targets.c.conftest import int8_tflite, needs_compiler
from tests.targets.c.test_runner import int8_differences


def _int16_inputs(data: bytes, n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-32768, 32768, (n, *t.shape[1:]), dtype=np.int16) if t.dtype == "int16"
            else rng.normal(size=(n, *t.shape[1:])).astype(np.float32) for t in TFLiteGraph(data).inputs]  # fmt: skip


@needs_compiler()
def test_softmax_tables_are_tflms(tmp_path):
    # The generator's tables against TFLM's LUTPopulate compiled in the shim (every entry:
    # the tables do not depend on the model).
    import ctypes

    from targets.c.hostbuild import shared_library

    (tmp_path / "luts.c").write_text("int luts_unused(void) { return 0; }\n")
    lib = ctypes.CDLL(str(shared_library(tmp_path / "luts.c", tmp_path)))
    exp_lut, one_over = (ctypes.c_int16 * 513)(), (ctypes.c_int16 * 513)()
    lib.ek_softmax_s16_luts(exp_lut, one_over)
    ours = quant.softmax_s16_luts()
    assert list(exp_lut) == ours[0] and list(one_over) == ours[1]
    assert ours[0][-1] == 32767 and len(set(ours[0])) > 300  # exp(0) = 1.0, a real table


@needs_compiler()
def test_tiny_model_is_bit_exact(tiny_int16x8, tiny_data):
    graph = TFLiteGraph(tiny_int16x8)
    assert graph.quant_scheme() == "int16x8" and graph.inputs[0].dtype == "int16"
    assert {t.dtype for t in graph.main.tensors if t.is_constant and len(t.shape) == 1} >= {"int64"}
    assert int8_differences(tiny_int16x8, _int16_inputs(tiny_int16x8, 40)) == 0
    from edgekit.runtime.io import to_runtime

    x = np.load(tiny_data)["x"]
    assert int8_differences(tiny_int16x8, [to_runtime(x, graph.inputs[0].info())]) == 0


@needs_compiler()
def test_int16_ops_with_float_io_are_bit_exact(int16_ops):
    ops = set(TFLiteGraph(int16_ops).op_names)
    assert {"PAD", "CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MUL", "CONCATENATION", "MAX_POOL_2D", "AVERAGE_POOL_2D",
            "MEAN", "FULLY_CONNECTED", "SOFTMAX", "QUANTIZE", "DEQUANTIZE"} <= ops  # fmt: skip
    assert int8_differences(int16_ops, _int16_inputs(int16_ops, 40)) == 0


def test_the_plan_holds_two_byte_tensors(tiny_int8, tiny_int16x8):
    m8 = generate(tiny_int8, name="m", model_name="m")
    m16 = generate(tiny_int16x8, name="m", model_name="m")
    graph = TFLiteGraph(tiny_int16x8)
    assert m16.io_bytes == sum(2 * t.elements for t in graph.inputs + graph.outputs) == 2 * m8.io_bytes
    assert m16.plan.lower_bound >= 2 * m8.plan.lower_bound - 16 * 4 and m16.plan.size >= m16.plan.lower_bound
    assert "int16_t" in m16.files["m.c"] and "int64_t m_t" in m16.files["m.c"] and "(int16x8, " in m16.files["m.c"]
    assert "ek_softmax_s16(" in m16.files["m.c"] and "ek_conv_s16(" in m16.files["m.c"]


def test_both_back_ends_take_int16x8():
    # cmsis-nn used to refuse int16x8 in one line; its _s16 lowerings: test_cmsis_int16x8.py
    for kernels in ("portable", "cmsis-nn"):
        CTarget(kernels=kernels).check(None, QuantSpec("int16x8"))
        CTarget(kernels=kernels).check(None, QuantSpec("int16x8", io_dtype="float32"))
        CTarget(kernels=kernels).check(None, QuantSpec("int16x8", io_dtype="int16"))


def test_an_op_without_an_int16_kernel_is_one_error(tmp_path):
    # TRANSPOSE has no int16 path here: refused, naming it and --target tflm.
    import keras

    keras.utils.set_random_seed(3)
    x = keras.Input((4, 6, 3), name="image")
    y = keras.layers.Dense(2, name="d")(keras.layers.Flatten(name="f")(keras.layers.Permute((3, 1, 2), name="t")(x)))
    data = int8_tflite(keras.Model(x, y, name="tr16"), np.random.default_rng(4).normal(size=(16, 4, 6, 3)), tmp_path,
                       scheme="int16x8")  # fmt: skip
    assert "TRANSPOSE" in TFLiteGraph(data).op_names
    with pytest.raises(UnsupportedError) as err:
        generate(data, name="m", model_name="m")
    text = str(err.value)
    assert text.startswith("TRANSPOSE (node ") and "int16" in text and "--target tflm" in text and "\n" not in text


@needs_compiler()
def test_export_and_validate_int16x8(tiny_keras, tiny_data, tmp_path):
    from edgekit.pipeline import ExportOptions, export
    from edgekit.validate import validate_build

    build = tmp_path / "build"
    result = export(ExportOptions(model=tiny_keras, out=build, target=("c", "tflm"), quant="int16x8", calib=str(tiny_data)))
    art = next(a for a in result.artifacts if a.target == "c")
    assert art.scheme == "int16x8" and art.metadata["scheme"] == "int16x8" and art.directory.name == "int16x8"
    rows = validate_build(build, str(tiny_data), targets=("c", "tflm")).result["artifacts"]
    c, tflm = rows["c/int16x8"], rows["tflm/int16x8"]
    assert c["agreement"] == tflm["agreement"] and c["cosine"] == tflm["cosine"]  # bit-exact outputs


@pytest.mark.slow
@needs_compiler()
def test_digits_int16x8_is_bit_exact_on_every_evaluation_sample(tmp_path):
    from edgekit.pipeline import ExportOptions, export
    from edgekit.runtime.io import to_runtime
    from tests.conftest import EXAMPLE

    result = export(ExportOptions(model=EXAMPLE / "digits.keras", out=tmp_path / "b", target=("c",), quant="int16x8",
                                  calib=str(EXAMPLE / "calib.npz")))  # fmt: skip
    art = result.artifacts[0]
    data = (art.directory / "digits.tflite").read_bytes()
    x = np.load(EXAMPLE / "eval.npz")["x"]
    assert len(x) == 540 and art.inputs[0].dtype == "int16"
    for kernels in ("portable", "cmsis-nn"):  # cmsis-nn: CMSIS-NN's _s16 plain-C code
        assert int8_differences(data, [to_runtime(x, art.inputs[0])], kernels) == 0, kernels


@pytest.mark.parametrize("fixture", ["tiny_int16x8", "int16_ops"])
def test_int16x8_on_the_m4_is_bit_exact(fixture, request, tmp_path):
    """Cross-built for the Cortex-M4 and run under QEMU: int16 slots and I/O (tiny) and float
    I/O through QUANTIZE/DEQUANTIZE (int16_ops), outputs equal to the TFLM interpreter's."""
    from targets.c.exporter import write_c
    from tests.targets.c.conftest import CROSS

    if not CROSS:
        pytest.skip("needs arm-none-eabi-gcc, qemu-system-arm and ../shared/tflm")
    data = request.getfixturevalue(fixture)
    art = write_c(data, tmp_path / "c", name="m16", model_name=f"{fixture}.keras")
    assert art.scheme == "int16x8"
    assert_bit_exact_on_qemu(art, data)


def assert_bit_exact_on_qemu(art, data: bytes, **device) -> dict:
    """Run 12 random int16 samples through ``art`` under QEMU (``device``: CQemuRunner's board
    and kernels) and the TFLM interpreter: equal, not constant outputs; the firmware's sizes."""
    from edgekit.runtime.io import from_runtime
    from targets.c.qemu_runner import CQemuRunner
    from targets.tflm.runner import TFLMRunner

    qemu, tflm = CQemuRunner(**device), TFLMRunner()
    qemu.load(art)
    tflm.load_bytes(data)
    try:
        xs = [from_runtime(x, t) for x, t in zip(_int16_inputs(data, 12, seed=6), qemu.inputs)]
        got, want = qemu.run(xs), tflm.run(xs)
        assert np.array_equal(got[0], want[0]) and len({r.tobytes() for r in got[0]}) > 1
        return qemu.sizes
    finally:
        qemu.close()
        tflm.close()


@pytest.fixture(scope="module")
def sigmoid_tanh_int16x8(tmp_path_factory) -> bytes:
    """LOGISTIC and TANH on int16 (non power-of-two input scales: the multiplier path)."""
    import keras

    keras.utils.set_random_seed(13)
    x = keras.Input((16,), name="features")
    a = keras.layers.Dense(8, name="d")(x)
    c = keras.layers.Concatenate(name="cat")([keras.layers.Activation("sigmoid", name="sig")(a),
                                              keras.layers.Activation("tanh", name="tanh")(a)])  # fmt: skip
    y = keras.layers.Dense(3, name="logits")(c)
    calib = 3 * np.random.default_rng(14).normal(size=(32, 16))
    return int8_tflite(keras.Model(x, y, name="sigtanh"), calib, tmp_path_factory.mktemp("c-st16"), scheme="int16x8")


@needs_compiler()
def test_logistic_and_tanh_int16_are_bit_exact(sigmoid_tanh_int16x8):
    assert {"LOGISTIC", "TANH"} <= set(TFLiteGraph(sigmoid_tanh_int16x8).op_names)
    model = generate(sigmoid_tanh_int16x8, name="m", model_name="m")
    assert "ek_logistic_s16(" in model.files["m.c"] and "ek_tanh_s16(" in model.files["m.c"]
    assert int8_differences(sigmoid_tanh_int16x8, _int16_inputs(sigmoid_tanh_int16x8, 200)) == 0


def test_tanh_on_int8_is_refused_in_one_line(tmp_path):
    import keras

    keras.utils.set_random_seed(15)
    x = keras.Input((8,), name="f")
    y = keras.layers.Activation("tanh", name="t")(keras.layers.Dense(4, name="d")(x))
    data = int8_tflite(keras.Model(x, y, name="t8"), np.random.default_rng(1).normal(size=(16, 8)), tmp_path)
    with pytest.raises(UnsupportedError, match=r"^TANH \(node \d+\) with int8 activations: .*--target tflm$"):
        generate(data, name="m", model_name="m")
