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


def test_a_softmax_whose_input_scale_tflm_cannot_take_is_refused_before_tflm_runs(tmp_path):
    """MobileNetV3Small with random weights aborted the TFLM interpreter on load: its logits span
    ~2e-6, so the int8 SOFTMAX input scale (7.8e-9) is below the 2^-26 TFLM's kernel asserts on."""
    import keras
    import numpy as np
    import pytest

    from edgekit.errors import UnsupportedError
    from targets.tflm.exporter import build_tflm_sources
    from targets.tflm.ops import check_graph

    x = keras.Input((8,))
    model = keras.Model(x, keras.layers.Softmax()(keras.layers.Dense(4, kernel_initializer=keras.initializers.Constant(1e-9))(x)))
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([np.random.default_rng(i).normal(size=(1, 8)).astype(np.float32)] for i in range(20))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    graph = TFLiteGraph(conv.convert(), "tiny_logits.tflite")
    with pytest.raises(UnsupportedError, match=r"SOFTMAX \(op \d+\): its int8 input scale .* below TFLM's minimum 1.49e-08 "
                                                r"\(2\^-26 / beta\).*untrained \(random\) weights"):  # fmt: skip
        check_graph(graph)
    with pytest.raises(UnsupportedError, match="SOFTMAX"):  # the exporter refuses it before TFLM loads it
        build_tflm_sources(graph.data, name="tiny", model_name="tiny_logits.tflite")
