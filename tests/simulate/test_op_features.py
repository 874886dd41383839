"""Per-op work counts on the MLPerf Tiny KWS model (DS-CNN) and a converted tiny model."""

from edgekit.simulate.op_features import FEATURES, op_work, totals
from edgekit.tflite_graph import TFLiteGraph
from tests.conftest import MLPERF, needs_shared


@needs_shared()
def test_kws_counts_follow_the_kernel_loops():
    graph = TFLiteGraph.from_file(MLPERF / "keyword_spotting" / "kws_ref_model.tflite")
    work = op_work(graph)
    assert len(work) == len(graph.ops) == 13
    first = work[0].as_dict()  # 10x4 conv, 1 input channel, 25x5x64 output
    assert work[0].opcode == "CONV_2D" and first["mac_conv"] == 320_000
    assert first["entries"] == 25 * 5 * 64 * 10 * 4 and first["outputs"] == 8000
    dw = work[1].as_dict()  # depthwise: every MAC enters the inner loop
    assert work[1].opcode == "DEPTHWISE_CONV_2D" and dw["mac_dw"] == dw["entries"] == 72_000
    fc = next(w.as_dict() for w in work if w.opcode == "FULLY_CONNECTED")
    assert fc["mac_fc"] == 64 * 12 and fc["entries"] == fc["outputs"] == 12
    t = totals(work)
    assert t["ops"] == 13 and t["mac_conv"] + t["mac_dw"] + t["mac_fc"] == graph.macs
    assert all(w.calibrated for w in work) and set(t) == set(FEATURES)


def test_elementwise_ops_count_elements(tiny_keras):
    from edgekit.model import load_model
    from quantize.spec import QuantSpec
    from targets.tflite.convert import convert_cached

    data = convert_cached(load_model(tiny_keras), QuantSpec().with_scheme("float32"), None)
    work = op_work(TFLiteGraph(data))
    kinds = {w.opcode for w in work}
    assert "CONV_2D" in kinds and kinds - {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}
    for w in work:
        c = w.as_dict()
        macs = c["mac_conv"] + c["mac_dw"] + c["mac_fc"]
        assert c["ops"] == 1
        if macs:
            assert c["elements"] == 0 and c["outputs"] > 0 and c["entries"] > 0
        else:
            assert c["elements"] > 0 and c["entries"] == c["outputs"] == 0


@needs_shared()
def test_ops_of_a_stripped_model_are_named_by_index():
    from targets.tflm.strip import strip_strings

    data = (MLPERF / "keyword_spotting" / "kws_ref_model.tflite").read_bytes()
    named = op_work(TFLiteGraph(data))
    stripped = op_work(TFLiteGraph(strip_strings(data)[0]))  # what TFLM sources hold
    assert all(w.name for w in named) and [w.name for w in stripped] == [f"op {w.index}" for w in named]
    assert [w.as_dict() for w in stripped] == [w.as_dict() for w in named]
