"""`edgekit export --target c`: the artifact (C, header, the flatbuffer it came from), its
manifest entry, and `validate` scoring it like the other formats."""

from __future__ import annotations

import json

import pytest

from edgekit.errors import UnsupportedError
from quantize.spec import QuantSpec
from targets.c.exporter import CTarget
from tests.targets.c.conftest import needs_compiler


@needs_compiler()
def test_export_and_validate(tiny_keras, tiny_data, tmp_path):
    from edgekit.pipeline import ExportOptions, export
    from edgekit.validate import validate_build

    build = tmp_path / "build"
    result = export(ExportOptions(model=tiny_keras, out=build, target=("c", "tflm"), quant="int8", calib=str(tiny_data)))
    art = next(a for a in result.artifacts if a.target == "c")
    assert art.files == ("tiny.c", "tiny.h", "tiny.tflite")
    entry = next(e for e in json.loads((build / "manifest.json").read_text())["artifacts"] if e["target"] == "c")
    plan = entry["metadata"]["plan"]
    assert plan["arena"] >= plan["lower_bound"] > 0 and entry["metadata"]["kernels"] == "portable"
    assert art.deployed_bytes == entry["metadata"]["const_bytes"]
    report = validate_build(build, str(tiny_data), targets=("c", "tflm"))
    rows = report.result["artifacts"]
    c, tflm = rows["c/int8"], rows["tflm/int8"]
    assert c["agreement"] == tflm["agreement"] and c["cosine"] == tflm["cosine"]  # bit-exact outputs


def test_only_int8_and_int16x8_are_offered():
    target = CTarget()
    target.check(None, QuantSpec("int8"))
    target.check(None, QuantSpec("int16x8"))
    with pytest.raises(UnsupportedError, match="cannot produce scheme 'float32'"):
        target.check(None, QuantSpec("float32"))
