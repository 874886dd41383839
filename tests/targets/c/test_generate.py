"""The generated C: golden files of the tiny model, the same bytes twice, and the ops and
types it refuses (one line naming them, before any file is written)."""

from __future__ import annotations

import os

import pytest

from edgekit.errors import UnsupportedError
from targets.c.exporter import write_c
from targets.c.generate import generate
from tests.conftest import ROOT, SHARED, needs_shared

GOLDEN = ROOT / "tests" / "golden" / "c"
UPDATE = os.environ.get("EDGEKIT_UPDATE_GOLDEN") == "1"


def test_golden_files_and_deterministic(tiny_int8):
    first = generate(tiny_int8, name="tiny", model_name="tiny.keras")
    again = generate(tiny_int8, name="tiny", model_name="tiny.keras")
    assert first.files == again.files and list(first.files) == ["tiny.c", "tiny.h"]
    for fname, text in first.files.items():
        if UPDATE:
            (GOLDEN / fname).write_text(text)
        assert text == (GOLDEN / fname).read_text(), f"{fname} differs from tests/golden/c (EDGEKIT_UPDATE_GOLDEN=1)"


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
