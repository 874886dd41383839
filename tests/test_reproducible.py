"""Same model, data and options -> the same bytes, for every target, even in one process
(where frameworks' global counters have moved on between the two exports)."""

import json

from edgekit.pipeline import ExportOptions, export
from tests.conftest import EXAMPLE

QUANT = {"tflite": ["float32", "float16", "dynamic", "int8", "int16x8"], "tflm": ["int8"],
         "openvino": ["float32", "int8", "int8-weights"], "coreml": ["float16", "int8-weights", "palettize4"]}  # fmt: skip
RUN_FIELDS = ("created", "build_dir")


def _manifest(out):
    m = json.loads((out / "manifest.json").read_text())
    for key in RUN_FIELDS:
        m.pop(key, None)
    m["options"].pop("out")
    return m


def test_two_exports_are_byte_identical(tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        export(ExportOptions(model=EXAMPLE / "digits.keras", out=out, target=tuple(QUANT), quant=QUANT,
                             calib=str(EXAMPLE / "calib.npz"), latency=False))  # fmt: skip
        outs.append(out)
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(outs[1]) for p in outs[1].rglob("*") if p.is_file())
    assert {f.parts[0] for f in files} >= set(QUANT)
    for f in files:
        if f.name != "manifest.json":  # the report pages name the build directory: normalise it
            a, b = ((o / f).read_bytes().replace(str(o).encode(), b"OUT") for o in outs)
            assert a == b, f
    assert _manifest(outs[0]) == _manifest(outs[1])
