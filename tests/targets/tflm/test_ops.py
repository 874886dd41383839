from edgekit.tflite_graph import TFLiteGraph
from targets.tflm.ops import BUILTINS, CUSTOMS, method_for, problems, supported_ops_markdown
from tests.conftest import SHARED, needs_shared
from tools import gen_docs


def test_methods():
    assert method_for("CONV_2D") == "AddConv2D"
    assert method_for("UNIDIRECTIONAL_SEQUENCE_LSTM") == "AddUnidirectionalSequenceLSTM"
    assert method_for("CUSTOM:SignalRfft") == "AddRfft"
    assert method_for("TOPK_V2") is None and method_for("CUSTOM:FlexErf") is None
    assert len(BUILTINS) == 99 and len(CUSTOMS) == 16


def test_docs_table_is_generated_from_the_table():
    assert gen_docs.page_block("tflm-ops") == supported_ops_markdown(), "docs/tflm.md's TFLM ops table is stale: run `make docs`"


@needs_shared()
def test_shared_models():
    refused = {p.name for p in SHARED.rglob("*.tflite") if problems(TFLiteGraph.from_file(p))}
    assert refused == {"model_ToyCar_quant.tflite", "kws_ref_model_float32.tflite"}  # the two hybrid models
    custom = TFLiteGraph.from_file(SHARED / "tflm" / "audio_preprocessor_int8.tflite")
    assert problems(custom) == []
