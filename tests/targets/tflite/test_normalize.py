"""Older .tflite files rewritten into the form AI Edge Quantizer reads (targets/tflite/normalize.py)."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.runtime.litert import LiteRTRunner
from edgekit.tflite_graph import TFLiteGraph
from quantize.spec import QuantSpec
from targets.tflite.normalize import inline_buffers, main_signature, normalized
from tests.conftest import MLPERF, needs_shared

AD01 = MLPERF / "anomaly_detection" / "ad01_fp32.tflite"


def legacy_bytes(data: bytes) -> bytes:
    """``data`` as an older converter wrote it: no signature, op codes in deprecated_builtin_code."""
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(data))
    model.signatureDefs = []
    for code in model.operatorCodes:
        if code.builtinCode < 127:
            code.deprecatedBuiltinCode, code.builtinCode = code.builtinCode, 0
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


@pytest.fixture(scope="module")
def modern(tiny_keras, tmp_path_factory) -> bytes:
    from edgekit.model import load_model
    from targets.tflite.exporter import TFLiteTarget

    return TFLiteTarget().export(load_model(tiny_keras), QuantSpec("float32"), tmp_path_factory.mktemp("f")).primary.read_bytes()


def _outputs(data: bytes, x: np.ndarray) -> np.ndarray:
    runner = LiteRTRunner()
    runner.load(data)
    return runner.run([x])[0]


def _builtin_codes(data: bytes) -> list[int]:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(data, 0)
    return [model.OperatorCodes(i).BuiltinCode() for i in range(model.OperatorCodesLength())]


def test_a_file_aeq_reads_is_unchanged(modern):
    assert normalized(modern) == modern
    assert main_signature(TFLiteGraph(modern)) == ("serving_default", ["pixels"])


def test_legacy_file_gets_a_signature_and_builtin_codes(modern):
    old = legacy_bytes(modern)
    assert set(_builtin_codes(old)) == {0}  # every op would read as ADD
    fixed = normalized(old)
    graph = TFLiteGraph(fixed)
    assert graph.signatures["serving_default"]["subgraph"] == 0
    assert main_signature(graph) == ("serving_default", [graph.main.tensors[graph.main.inputs[0]].name])
    assert _builtin_codes(fixed) == _builtin_codes(modern)
    assert graph.op_names == TFLiteGraph(modern).op_names
    x = np.random.default_rng(0).random((1, 6, 6, 1), np.float32)
    assert np.array_equal(_outputs(fixed, x), _outputs(old, x))
    assert normalized(old) == fixed and normalized(fixed) == fixed  # deterministic, and done once


@needs_shared()
def test_ad01_fp32_and_inline_buffers():
    from targets.tflite.post_quantize import _run_quantizer, recipe

    data = AD01.read_bytes()
    assert TFLiteGraph(data).signatures == {}
    fixed = normalized(data)
    key, names = main_signature(TFLiteGraph(fixed))
    assert (key, names) == ("serving_default", ["input_1"])
    # AEQ writes models with 256 KiB+ of weights with their buffers after the flatbuffer.
    raw = _run_quantizer(fixed, recipe(QuantSpec("dynamic")), key, names, None)
    from ai_edge_litert import schema_py_generated as schema

    def offsets(d):
        m = schema.Model.GetRootAs(d, 0)
        return sum(m.Buffers(i).Offset() > 1 for i in range(m.BuffersLength()))

    packed = inline_buffers(raw)
    assert offsets(raw) > 0 and offsets(packed) == 0 and inline_buffers(packed) == packed
    x = np.random.default_rng(1).normal(size=(1, 640)).astype(np.float32)
    assert np.array_equal(_outputs(packed, x), _outputs(raw, x))
