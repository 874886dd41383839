"""The generated C: golden files of the tiny model, the same bytes twice, and the ops and
types it refuses (one line naming them, before any file is written)."""

from __future__ import annotations

import os

import pytest

from edgekit.errors import OptionError, UnsupportedError
from targets.c.exporter import write_c
from targets.c.generate import generate
from tests.conftest import INT8_MODELS, ROOT, SHARED, needs_shared

GOLDEN = ROOT / "tests" / "golden" / "c"
UPDATE = os.environ.get("EDGEKIT_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("kernels", ["portable", "cmsis-nn"])
def test_golden_files_and_deterministic(tiny_int8, kernels):
    first = generate(tiny_int8, name="tiny", model_name="tiny.keras", kernels=kernels)
    again = generate(tiny_int8, name="tiny", model_name="tiny.keras", kernels=kernels)
    assert first.files == again.files and list(first.files) == ["tiny.c", "tiny.h"]
    golden = GOLDEN if kernels == "portable" else GOLDEN / "cmsis-nn"
    for fname, text in first.files.items():
        if UPDATE:
            golden.mkdir(exist_ok=True)
            (golden / fname).write_text(text)
        assert text == (golden / fname).read_text(), f"{fname} differs from {golden} (EDGEKIT_UPDATE_GOLDEN=1)"


def test_cmsis_nn_calls_arm_functions_with_constant_structs(tiny_int8):
    model = generate(tiny_int8, name="tiny", model_name="tiny.keras", kernels="cmsis-nn")
    c = model.files["tiny.c"]
    assert '#include "arm_nnfunctions.h"' in c and '#include "ek_kernels.h"' not in c  # every op has an arm_* kernel
    assert "static const cmsis_nn_conv_params tiny_op0_conv = {" in c and "static const cmsis_nn_dims tiny_op0_dims[4]" in c
    body = c.split("int tiny_invoke")[1]
    assert "arm_convolve_wrapper_s8(&tiny_op0_ctx, " in body and "arm_softmax_s8(" in body and "ek_" not in body
    assert "!= ARM_CMSIS_NN_SUCCESS) return 1;" in body
    assert model.metadata()["kernels"] == "cmsis-nn" and set(model.backends.values()) == {"cmsis-nn"}


def test_cmsis_nn_falls_back_to_portable_kernels_in_the_same_file(many_ops_int8):
    model = generate(many_ops_int8, name="m", model_name="many", kernels="cmsis-nn")
    c = model.files["m.c"]
    assert '#include "arm_nnfunctions.h"' in c and '#include "ek_kernels.h"' in c
    assert model.backends["CONV_2D"] == "cmsis-nn" and model.backends["MEAN"] == "portable"
    assert "ek_mean_s8(" in c and "arm_convolve_wrapper_s8(" in c


@needs_shared()
def test_builds_with_larger_scratch_get_their_own_places_for_it():
    # KWS's depthwise convolutions need scratch only with MVE: the other builds keep the plan's arena;
    # the MVE build's contexts point to places around the same tensors, picked by the preprocessor
    data = INT8_MODELS["kws_ref_model"].read_bytes()
    model = generate(data, name="kws", model_name="kws", kernels="cmsis-nn")
    c, h = model.files["kws.c"], model.files["kws.h"]
    sizes = model.arena_by_build
    assert sizes["c"] == sizes["dsp"] == model.plan.size < sizes["mve"]
    assert f"#define KWS_ARENA_SIZE {sizes['dsp']}" in h and f"#define KWS_ARENA_SIZE_MVE {sizes['mve']}" in h
    assert f"static uint8_t kws_arena[{sizes['mve']}]" in c and f"static uint8_t kws_arena[{sizes['dsp']}]" in c
    assert "#elif !defined(__ARMCC_VERSION) && defined(ARM_MATH_MVEI)\nstatic const cmsis_nn_context kws_op1_ctx = " in c
    assert generate(data, name="kws", model_name="kws").plan.size == model.plan.size
    # VWW's MVE scratch fits between its tensors: no build needs a larger arena than the plan
    vww = generate(INT8_MODELS["vww_96_int8"].read_bytes(), name="vww", model_name="vww", kernels="cmsis-nn")
    assert vww.arena_by_build["mve"] == vww.arena_by_build["dsp"] == vww.plan.size


def test_an_unknown_kernel_back_end_is_refused(tiny_int8):
    with pytest.raises(OptionError, match="--c-kernels 'fast': choose portable, cmsis-nn"):
        generate(tiny_int8, name="tiny", model_name="tiny.keras", kernels="fast")


def test_everything_is_precomputed_and_static(tiny_int8):
    c = generate(tiny_int8, name="tiny", model_name="tiny.keras").files["tiny.c"]
    assert "malloc" not in c and "static uint8_t tiny_arena[" in c
    assert "int tiny_invoke(const int8_t *input, int8_t *output)" in c
    assert "static const ek_conv tiny_op0 = {" in c and "tiny_op0_mult[8]" in c
    # the flatten is an alias: no op, no copy
    assert "RESHAPE" not in c.split("int tiny_invoke")[1]
    # input and output have arena slots; the caller's buffers are copied only when they are not those
    assert "int8_t *tiny_input(void)" in c and "int8_t *tiny_output(void)" in c and c.count("memmove(") == 2


def test_an_unsupported_op_is_one_error_and_writes_nothing(tmp_path):
    model = SHARED / "tflm" / "trained_lstm_int8.tflite"
    if not model.is_file():
        pytest.skip("../shared/models is not present")
    with pytest.raises(UnsupportedError) as err:
        write_c(model.read_bytes(), tmp_path / "out", name="m", model_name=model.name)
    text = str(err.value)
    assert "no kernel for UNIDIRECTIONAL_SEQUENCE_LSTM (" in text and "--target tflm" in text and "\n" not in text
    assert not (tmp_path / "out").exists()


@needs_shared()
def test_a_float_graph_is_refused(tmp_path):
    model = SHARED / "tflm" / "hello_world_float.tflite"
    with pytest.raises(UnsupportedError, match="int8"):
        write_c(model.read_bytes(), tmp_path / "out", name="m", model_name=model.name)
    assert not (tmp_path / "out").exists()


def _with_shape(tensors, index, shape):
    import dataclasses

    tensors = list(tensors)
    tensors[index] = dataclasses.replace(tensors[index], shape=shape)
    return tensors


@pytest.mark.parametrize("opcode, which, shape", [
    ("CONV_2D", "output", (1, 5, 4, 8)),  # one column more than the strides give
    ("DEPTHWISE_CONV_2D", "output", (1, 4, 4, 9)),  # more channels than input x multiplier
    ("FULLY_CONNECTED", "output", (1, 17)),
    ("SOFTMAX", "output", (1, 4)),
    ("RESHAPE", "output", (1, 129)),
])  # fmt: skip
def test_shapes_that_do_not_follow_from_the_inputs_are_refused(tiny_int8, opcode, which, shape):
    from edgekit.errors import ModelFileError
    from edgekit.tflite_graph import TFLiteGraph
    from targets.c.shapes import check_shapes

    graph = TFLiteGraph(tiny_int8, "tiny.tflite")
    op = next(o for o in graph.main.ops if o.opcode == opcode)
    check_shapes(graph, op, graph.main.tensors)  # as converted: fine
    with pytest.raises(ModelFileError, match=rf"op {op.index} \({opcode}\) .*malformed"):
        check_shapes(graph, op, _with_shape(graph.main.tensors, op.outputs[0], shape))
