"""Artifact records: I/O layouts in the manifest (old entries still read), with_layouts."""

from __future__ import annotations

from pathlib import Path

from edgekit.model import SourceModel
from edgekit.tensors import NCHW, NHWC, TensorInfo
from targets.base import Artifact, with_layouts


def _source(layout: str) -> SourceModel:
    shape = (1, 3, 8, 8) if layout == NCHW else (1, 8, 8, 3)
    return SourceModel(Path("m.onnx"), "onnx", "m", (TensorInfo("x", shape, "float32", layout=layout),),
                       (TensorInfo("y", (1, 10), "float32"),), 1, None)  # fmt: skip


def _artifact(tmp_path: Path, shape) -> Artifact:
    (tmp_path / "t").mkdir(exist_ok=True)
    (tmp_path / "t" / "m.tflite").write_bytes(b"x")
    return Artifact("tflite", "float32", tmp_path / "t", ("m.tflite",), (TensorInfo("in", shape, "float32"),),
                    (TensorInfo("out", (1, 10), "float32"),))  # fmt: skip


def test_with_layouts_takes_the_sources_layout_when_the_target_kept_it(tmp_path):
    a = with_layouts(_artifact(tmp_path, (1, 3, 8, 8)), _source(NCHW))
    assert a.inputs[0].layout == NCHW and a.outputs[0].layout is None
    assert a.source_layouts is None  # nothing to transpose
    assert a.io_layout() == "NCHW"
    entry = a.to_json(tmp_path)
    assert entry["inputs"][0]["layout"] == "NCHW" and "source_layouts" not in entry
    assert Artifact.from_json(entry, tmp_path).inputs == a.inputs


def test_a_moved_layout_records_the_sources_and_round_trips(tmp_path):
    from dataclasses import replace

    made = _artifact(tmp_path, (1, 8, 8, 3))
    made = replace(made, inputs=(replace(made.inputs[0], layout=NHWC),))  # the target moved it
    a = with_layouts(made, _source(NCHW))
    assert a.source_layouts == ((NCHW,), (None,))
    assert a.io_layout() == "NHWC (source NCHW)"
    entry = a.to_json(tmp_path)
    assert entry["source_layouts"] == {"inputs": ["NCHW"], "outputs": [None]}
    back = Artifact.from_json(entry, tmp_path)
    assert back.source_layouts == a.source_layouts and back.inputs[0].layout == NHWC


def test_an_old_manifest_entry_reads_without_layouts(tmp_path):
    entry = _artifact(tmp_path, (1, 8, 8, 3)).to_json(tmp_path)
    assert "layout" not in entry["inputs"][0] and "source_layouts" not in entry
    back = Artifact.from_json(entry, tmp_path)
    assert back.inputs[0].layout is None and back.source_layouts is None and back.io_layout() == ""
