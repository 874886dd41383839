import io

import pytest
from rich.console import Console

from edgekit.inspect import inspect_path, render
from tests.conftest import SHARED, needs_shared

ALL_TFLITE = sorted(SHARED.rglob("*.tflite")) if SHARED.exists() else []


@needs_shared()
@pytest.mark.parametrize("path", ALL_TFLITE, ids=lambda p: p.name)
def test_every_shared_tflite(path):
    report = inspect_path(path, with_ops=True)
    assert report["op_count"] == len(report["per_op"]) > 0
    assert report["inputs"] and report["outputs"]
    out = io.StringIO()
    render(report, Console(file=out, width=120))
    assert path.name in out.getvalue() and "Ops" in out.getvalue()


def test_keras_source_is_inspected_through_tflite(tiny_keras):
    report = inspect_path(tiny_keras)
    assert report["format"] == "keras" and report["scheme"] == "float32"
    assert report["inputs"][0]["shape"] == [1, 6, 6, 1]
    assert report["layers"]["Dense"] == 2
    # Conv2D 8x(3x3x1) on 4x4 outputs, depthwise 3x3 on 4x4x8, dense 128x16 and 16x3
    assert report["macs"] == 4 * 4 * 8 * 9 + 4 * 4 * 8 * 9 + 128 * 16 + 16 * 3
    # Untrained biases are all zero: the converter drops or shares them (one 8-float buffer
    # is left), and the 2-value reshape target is a constant too.
    assert report["params"]["count"] == 8 * 9 + 8 * 9 + 128 * 16 + 16 * 3 + 8 + 2


def test_savedmodel_source(saved_model):
    report = inspect_path(saved_model)
    assert report["format"] == "saved_model" and report["macs"] == 15
