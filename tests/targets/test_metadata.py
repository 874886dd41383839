"""RunnerMetadata: the metadata entries runners and the report read, typed."""

from __future__ import annotations

import pytest

from targets.base import Artifact
from targets.metadata import RunnerMetadata


def test_tflm_entries_are_read_typed_and_absent_ones_stay_none():
    meta = {"arena": {"size": 4096, "size_32bit": 3072}, "model_bytes": 2000, "ops": ["CONV_2D", "SOFTMAX"],
            "tflite_sha256": "ab" * 32, "calibration": {"samples": 20, "source": "c.npz"}}  # fmt: skip
    assert RunnerMetadata.from_json(meta) == RunnerMetadata(2000, 4096, 3072, ("CONV_2D", "SOFTMAX"), 20, "ab" * 32)
    assert RunnerMetadata.from_json({"ops": {"Convolution": 2}}) == RunnerMetadata(ops=("Convolution",))
    assert RunnerMetadata.from_json({}) == RunnerMetadata()
    with pytest.raises((TypeError, ValueError)):
        RunnerMetadata.from_json({"model_bytes": "many"})


def test_deployed_bytes_are_the_model_array_for_tflm_and_the_files_otherwise(tmp_path):
    (tmp_path / "m.tflite").write_bytes(b"x" * 10)
    plain = Artifact("tflite", "float32", tmp_path, ("m.tflite",), (), ())
    assert plain.deployed_bytes == 10 and plain.runner_metadata.tflite_sha256 is None
    tflm = Artifact("tflm", "int8", tmp_path, ("m.tflite",), (), (), metadata={"model_bytes": 7})
    assert tflm.deployed_bytes == 7
