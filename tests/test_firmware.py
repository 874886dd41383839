"""`edgekit firmware`: the project (golden files, determinism, kernel selection), the one-line
error without the toolchain, and (slow) a real build run under QEMU, bit-exact with the TFLM
Python interpreter on the digits example."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from edgekit.errors import OptionError, ToolchainError, UnsupportedError
from quantize.spec import QuantSpec
from targets.tflm.boards import flags_for, get_board
from targets.tflm.firmware import default_tflm_root, kernel_sources, project_for
from targets.tflm.fwbuild import object_key, require_tools
from tests.conftest import EXAMPLE, ROOT, run_cli

GOLDEN = ROOT / "tests" / "golden" / "firmware"
UPDATE = os.environ.get("EDGEKIT_UPDATE_GOLDEN") == "1"
TREE = default_tflm_root("reference")
needs_tree = pytest.mark.skipif(not TREE.is_dir(), reason="../shared/tflm/reference is not present")
PROJECT_FILES = ("Makefile", "board.ld", "firmware.json", "main.cc", "startup.c", "tiny_sample.c")


@pytest.fixture(scope="module")
def tiny_tflite(tiny_keras, tiny_data, tmp_path_factory):
    from edgekit.data import Dataset
    from edgekit.model import load_model
    from targets.tflite.exporter import TFLiteTarget

    model = load_model(tiny_keras)
    return TFLiteTarget().export(model, QuantSpec("int8"), tmp_path_factory.mktemp("fw"), Dataset.open(tiny_data, model.inputs)).primary


def _project(tiny_tflite):
    return project_for(tiny_tflite.read_bytes(), name="tiny", model_name="tiny.keras", board="mps2-an386", kernels="reference")


@needs_tree
def test_project_golden_and_deterministic(tiny_tflite):
    project = _project(tiny_tflite)
    assert project.files == _project(tiny_tflite).files  # same inputs, same bytes
    assert set(PROJECT_FILES) | {"tiny_model_data.c", "tiny_op_resolver.h"} <= set(project.files)
    for name in PROJECT_FILES:
        text = project.files[name].replace(str(TREE), "<TFLM_ROOT>")  # the one machine-specific string
        if UPDATE:
            (GOLDEN / name).write_text(text)
        assert text == (GOLDEN / name).read_text(), f"{name} differs from {GOLDEN / name}; EDGEKIT_UPDATE_GOLDEN=1 to regenerate"
    record = json.loads(project.files["firmware.json"])
    assert record["tflm_root"] == str(TREE) and record["board"] == "mps2-an386"
    # Only the kernels the resolver registers are compiled, not the 100-odd of the library.
    assert len(record["kernel_sources"]) < 12 and all("/kernels/" in s for s in record["kernel_sources"])


@needs_tree
def test_kernel_sources_follow_the_resolver():
    files = kernel_sources(TREE, ["AddConv2D", "AddSoftmax"], "reference")
    names = [f.rsplit("/", 1)[1] for f in files]
    assert names == ["conv.cc", "conv_common.cc", "kernel_util.cc", "softmax.cc", "softmax_common.cc"]
    with pytest.raises(UnsupportedError, match="AddNoSuchOp"):
        kernel_sources(TREE, ["AddNoSuchOp"], "reference")


def test_options_are_checked(tiny_tflite, tmp_path):
    with pytest.raises(OptionError, match="--board 'stm32'"):
        get_board("stm32")
    with pytest.raises(OptionError, match="--tflm-root"):
        project_for(tiny_tflite.read_bytes(), name="tiny", model_name="t", board="mps2-an386", kernels="reference",
                    tflm_root=tmp_path)  # fmt: skip


@needs_tree
def test_object_cache_key_follows_flags_and_compiler():
    board = get_board("mps2-an386")
    ref, nn = flags_for(board, "reference"), flags_for(board, "cmsis-nn")
    base = object_key(TREE, ref, "gcc 12.2.1")
    assert base == object_key(TREE, ref, "gcc 12.2.1")
    assert len({base, object_key(TREE, nn, "gcc 12.2.1"), object_key(TREE, ref, "gcc 13.1")}) == 3


def test_missing_toolchain_is_one_line(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolchainError) as e:
        require_tools("arm-none-eabi-gcc", "qemu-system-arm")
    assert "make toolchain" in str(e.value) and "gcc-arm-none-eabi" in str(e.value) and "qemu-system-arm" in str(e.value)


@needs_tree
def test_cli_without_cross_compiler_says_what_to_install(tiny_tflite, tmp_path):
    env = {**os.environ, "PATH": os.path.dirname(sys.executable)}  # python only: no make, no arm-none-eabi-gcc
    done = subprocess.run([sys.executable, "-m", "edgekit.cli", "firmware", str(tiny_tflite), "-o", str(tmp_path / "fw"),
                           "--build"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "make toolchain" in lines[0] and "Traceback" not in done.stderr
    assert (tmp_path / "fw" / "Makefile").is_file()  # the project is written before the build is tried


# --- real build and QEMU run (slow: a cold object cache compiles ~50 TFLM files) ---


@pytest.fixture(scope="session")
def object_cache():
    """One TFLM object cache for every test and every run (repo build/ folder)."""
    path = ROOT / "build" / "test-tflm-objects"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def digits_fw(object_cache, tmp_path_factory):
    if not TREE.is_dir() or not all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make")):
        pytest.fail("the firmware tests need ../shared/tflm and `make toolchain` (gcc-arm-none-eabi, qemu-system-arm)")
    from edgekit.pipeline import ExportOptions, export
    from targets.tflm.fwbuild import build

    before = os.environ.get("EDGEKIT_TFLM_OBJECTS")
    os.environ["EDGEKIT_TFLM_OBJECTS"] = str(object_cache)  # for this process's builds and the CLI's
    result = export(ExportOptions(model=EXAMPLE / "digits.keras", out=tmp_path_factory.mktemp("fwd") / "b",
                                  target=("tflm",), quant="int8", calib=str(EXAMPLE / "calib.npz")))  # fmt: skip
    art = result.artifacts[0]
    out = tmp_path_factory.mktemp("fwp") / "digits"
    done = run_cli("firmware", str(result.out), "-o", str(out), "--build", timeout=3600)
    assert done.returncode == 0, done.stderr
    again = build(out)  # every TFLM object now comes from the cache
    yield art, out, json.loads((out / "build" / "size.json").read_text()), again
    if before is None:
        os.environ.pop("EDGEKIT_TFLM_OBJECTS", None)
    else:
        os.environ["EDGEKIT_TFLM_OBJECTS"] = before


@pytest.mark.slow
def test_digits_firmware_builds_and_measures(digits_fw):
    art, out, sizes, again = digits_fw
    assert again["tflm_objects_compiled"] == 0 and again["flash"] == sizes["flash"]
    assert sizes["flash"] == sizes["text"] + sizes["data"] and sizes["ram_static"] == sizes["data"] + sizes["bss"]
    assert sizes["model_data"] == art.metadata["model_bytes"]
    assert 20_000 < sizes["flash_without_model"] < 200_000  # TFLM runtime + 5 kernels + newlib-nano
    assert sizes["ram_static"] >= art.metadata["arena"]["size"]


@pytest.mark.slow
def test_qemu_outputs_bit_exact_with_the_tflm_interpreter(digits_fw):
    from targets.tflm.qemu_runner import QemuRunner
    from targets.tflm.runner import TFLMRunner

    art, out, _, _ = digits_fw
    with np.load(EXAMPLE / "eval.npz") as z:
        x = z[z.files[0]][:100].astype(np.float32)
    qemu = QemuRunner()
    qemu.load_project(out)
    tflm = TFLMRunner()
    tflm.load(art)
    try:
        got, want = qemu.run([x])[0], tflm.run([x])[0]
    finally:
        tflm.close()
    scale = qemu.outputs[0].scale
    assert got.shape == want.shape == (100, 10)
    assert np.array_equal(np.round(got / scale), np.round(want / scale))  # same int8 outputs, every sample
    assert len(set(got.argmax(1))) > 5  # real digits, not one saturated class
    assert 0 < qemu.arena_used <= art.metadata["arena"]["size"]


def test_a_kernel_library_that_does_not_link_yet_is_refused(tiny_tflite, tmp_path):
    with pytest.raises(OptionError, match="cmsis-nn.*do not link yet"):
        project_for(tiny_tflite.read_bytes(), name="tiny", model_name="t", board="mps2-an386", kernels="cmsis-nn",
                    tflm_root=tmp_path)  # fmt: skip
