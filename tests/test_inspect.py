import io

import pytest
from rich.console import Console

from edgekit.inspect import inspect_path, render
from tests.conftest import SHARED, needs_shared, run_cli

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


@needs_shared()
def test_names_and_paths_from_the_file_print_literally(tmp_path):
    data = (SHARED / "tflm" / "hello_world_int8.tflite").read_bytes()
    data = data.replace(b"dense_input", b"x[/]\x1b[2J\x07\r]")  # same length: offsets stay valid
    (tmp_path / "x[").mkdir()
    path = tmp_path / "x[" / "]y.tflite"
    path.write_bytes(data)
    out = io.StringIO()
    render(inspect_path(path, with_ops=True), Console(file=out, width=300, highlight=False))
    text = out.getvalue()
    assert "\x1b[2J" not in text and "\x07" not in text and "\r" not in text
    assert "serving_default_x[/]\\x1b[2J\\x07\\x0d]:0" in text and "x[/]y.tflite" in text


def test_pt2_source_lists_aten_ops_layouts_params_and_macs(tmp_path):
    from tests.torch_models import save_pt2, tiny_cnn

    path = save_pt2(tiny_cnn(), tmp_path / "tiny.pt2")
    report = inspect_path(path)
    assert report["format"] == "torch" and report["inputs"][0]["layout"] == "NCHW"
    assert report["source_ops"]["aten.conv2d"] == 3 and report["source_ops"]["aten.linear"] == 1
    assert report["macs"] > 0 and report["params"]["count"] > 0
    r = run_cli("inspect", path)
    assert r.returncode == 0 and "Ops of the torch program" in r.stdout and "aten.batch_norm" in r.stdout
