import pytest

from edgekit.errors import ModelFileError
from edgekit.tflite_graph import TFLiteGraph
from tests.conftest import MLPERF, SHARED, needs_shared

pytestmark = needs_shared()


def test_resnet_quant_structure():
    g = TFLiteGraph.from_file(MLPERF / "image_classification" / "pretrainedResnet_quant.tflite")
    assert g.op_histogram() == {
        "CONV_2D": 9, "ADD": 3, "AVERAGE_POOL_2D": 1, "FULLY_CONNECTED": 1, "RESHAPE": 1, "SOFTMAX": 1,
    }  # fmt: skip
    assert g.macs == 12_501_632
    assert g.param_count == 77_708
    assert [(t.shape, t.dtype) for t in g.inputs] == [((1, 32, 32, 3), "int8")]
    assert g.inputs[0].quant.scale == (1.0,) and g.inputs[0].quant.zero_point == (-128,)
    assert g.quant_scheme() == "int8"
    by = g.params_by_dtype()
    assert set(by) == {"int8", "int32"}
    per_axis = [t for t in g.constants if t.quant and t.quant.per_channel and t.dtype == "int8"]
    assert len(per_axis) == 9  # PROVENANCE: int8 weights per-axis 9 / per-tensor 1


def test_conv_macs_by_hand():
    g = TFLiteGraph.from_file(MLPERF / "keyword_spotting" / "kws_ref_model.tflite")
    first = g.main.ops[0]
    assert first.opcode == "CONV_2D"
    out = g.main.tensors[first.outputs[0]].shape  # (1, 25, 5, 64)
    w = g.main.tensors[first.inputs[1]].shape  # (64, 10, 4, 1)
    assert first.macs == out[1] * out[2] * out[3] * w[1] * w[2] * w[3]


@pytest.mark.parametrize(
    "name, scheme",
    [
        ("mlperf_tiny/image_classification/pretrainedResnet.tflite", "float32"),
        ("mlperf_tiny/keyword_spotting/kws_ref_model_float32.tflite", "dynamic"),
        ("mlperf_tiny/anomaly_detection/model_ToyCar_quant_fullint.tflite", "int8"),
        ("tflm/seanet_conv0.tflite", "int16x8"),
        ("tflm/keyword_scrambled.tflite", "int16x8"),
    ],
)
def test_scheme_detection(name, scheme):
    assert TFLiteGraph.from_file(SHARED / name).quant_scheme() == scheme


def test_lifetimes_cover_every_activation():
    g = TFLiteGraph.from_file(SHARED / "tflm" / "person_detect.tflite")
    life = g.lifetimes()
    n = len(g.main.ops)
    assert life[g.main.inputs[0]][0] == -1
    assert life[g.main.outputs[0]][1] == n
    for op in g.main.ops:
        for i in op.outputs:
            first, last = life[i]
            assert first == op.index and last >= first
    assert {t.index for t in g.activations()} <= set(life)


def test_stateful_tensors_live_whole_run():
    g = TFLiteGraph.from_file(SHARED / "tflm" / "keyword_scrambled.tflite")
    variables = [t for t in g.main.tensors if t.is_variable]
    assert variables
    life = g.lifetimes()
    assert all(life[t.index] == (-1, len(g.main.ops)) for t in variables)


def test_custom_ops_are_named():
    g = TFLiteGraph.from_file(SHARED / "tflm" / "audio_preprocessor_int8.tflite")
    assert "CUSTOM:SignalRfft" in g.op_names


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "not a TFLite flatbuffer"),
        (b"\x00" * 64, "not a TFLite flatbuffer"),
        (bytes(range(256)) * 8, "not a TFLite flatbuffer"),
    ],
)
def test_garbage_is_refused(data, message):
    with pytest.raises(ModelFileError, match=message):
        TFLiteGraph(data, "junk.tflite")


def test_truncated_file_is_refused():
    data = (MLPERF / "keyword_spotting" / "kws_ref_model.tflite").read_bytes()
    for cut in (len(data) // 2, len(data) // 10, 100):
        with pytest.raises(ModelFileError, match="junk.tflite"):
            TFLiteGraph(data[:cut], "junk.tflite")


@needs_shared()
def test_an_input_with_a_zero_dimension_is_refused():
    """An empty input takes no sample (found by the fuzz campaign: ZeroDivisionError in the TFLM runner)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs((SHARED / "tflm" / "hello_world_int8.tflite").read_bytes(), 0))
    sg = model.subgraphs[0]
    sg.tensors[sg.inputs[0]].shape = [0, 1]
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    with pytest.raises(ModelFileError, match=r"m.tflite: input tensor \d+ has a zero dimension \(0, 1\)"):
        TFLiteGraph(bytes(b.Output()), "m.tflite")
