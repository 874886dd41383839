"""Stripping the strings TFLM never reads: the name map, the bytes saved, identical outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.model import load_model
from edgekit.tflite_graph import TFLiteGraph
from quantize.spec import QuantSpec
from targets.tflite.exporter import TFLiteTarget
from targets.tflm.exporter import build_tflm_sources
from targets.tflm.sources import parse_c_array
from targets.tflm.strip import strip_strings


@pytest.fixture(scope="module")
def tiny_bytes(tiny_keras, tiny_data, tmp_path_factory) -> bytes:
    from edgekit.data import Dataset

    model = load_model(tiny_keras)
    art = TFLiteTarget().export(model, QuantSpec("int8"), tmp_path_factory.mktemp("s"), Dataset.open(tiny_data, model.inputs))
    return art.primary.read_bytes()


def _buffer_starts(data: bytes) -> list[int]:
    from ai_edge_litert import schema_py_generated as schema

    m = schema.Model.GetRootAs(data, 0)
    out = []
    for i in range(m.BuffersLength()):
        b = m.Buffers(i)
        if b.DataLength():
            out.append(b._tab.Vector(b._tab.Offset(4)))
    return out


def test_strip_keeps_a_name_map_and_shrinks(tiny_bytes):
    before = TFLiteGraph(tiny_bytes).subgraphs[0]
    out, names = strip_strings(tiny_bytes)
    after = TFLiteGraph(out).subgraphs[0]
    assert len(out) < len(tiny_bytes)
    assert names["subgraphs"][0]["tensors"] == [t.name for t in before.tensors]  # tensor index -> name
    assert any(before.tensors[i].name for i in range(len(before.tensors)))
    assert not any(t.name for t in after.tensors)
    assert names["signatures"] and names["signatures"][0]["inputs"]
    assert "min_runtime_version" in names["metadata_removed"]
    # Everything TFLM reads is unchanged: ops, shapes, types, quantization, constant data.
    assert [(o.opcode, o.inputs, o.outputs) for o in after.ops] == [(o.opcode, o.inputs, o.outputs) for o in before.ops]
    assert [(t.shape, t.dtype, t.quant, t.data_bytes) for t in after.tensors] == \
           [(t.shape, t.dtype, t.quant, t.data_bytes) for t in before.tensors]  # fmt: skip
    assert all(start % 16 == 0 for start in _buffer_starts(out))  # as the converter aligns them
    assert strip_strings(out) == (out, None)  # nothing left to strip: the bytes as given


def test_stripped_sources_run_identically_in_tflm(tiny_bytes):
    from targets.tflm.runner import TFLMRunner

    stripped = build_tflm_sources(tiny_bytes, name="tiny", model_name="tiny.tflite")
    kept = build_tflm_sources(tiny_bytes, name="tiny", model_name="tiny.tflite", keep_strings=True)
    a = parse_c_array(stripped.files["tiny_model_data.c"], "tiny")
    b = parse_c_array(kept.files["tiny_model_data.c"], "tiny")
    assert b == tiny_bytes and len(a) < len(b) and "tiny_names.json" not in kept.files
    names = json.loads(stripped.files["tiny_names.json"])
    assert names["source_bytes"] == len(tiny_bytes) and names["subgraphs"][0]["tensors"]
    saved = stripped.metadata["strings_stripped"]["saved_bytes"]
    assert saved == len(b) - len(a) and f"{saved:,} B" in stripped.notes[-1]
    assert stripped.metadata["arena"] == kept.metadata["arena"]  # the arena does not depend on the strings
    outs = []
    for data in (a, b):
        runner = TFLMRunner()
        try:
            runner.load_bytes(data, stripped.metadata["arena"]["size"])
            rng = np.random.default_rng(0)
            outs.append(runner.run([rng.standard_normal((8, *t.shape[1:])).astype(np.float32) for t in runner.inputs]))
        finally:
            runner.close()
    assert all(np.array_equal(x, y) for x, y in zip(*outs))
