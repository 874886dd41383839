"""`edgekit firmware`: the project (golden files, determinism, kernel selection), the one-line
error without the toolchain, and (slow) a real build run under QEMU, bit-exact with the TFLM
Python interpreter on the digits example."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgekit.errors import OptionError, ToolchainError, UnsupportedError
from quantize.spec import QuantSpec
from targets.tflm.boards import flags_for, get_board
from targets.tflm.firmware import cmsis_nn_sources, default_tflm_root, kernel_sources, project_for
from targets.tflm.fwbuild import object_key
from tests.conftest import EXAMPLE, ROOT, run_cli

GOLDEN = ROOT / "tests" / "golden" / "firmware"
UPDATE = os.environ.get("EDGEKIT_UPDATE_GOLDEN") == "1"
TREE = default_tflm_root("reference")
needs_tree = pytest.mark.skipif(not TREE.is_dir(), reason="../shared/tflm/reference is not present")
PROJECT_FILES = ("Makefile", "board.ld", "firmware.json", "main.cc", "startup.c", "tiny_sample.c", "edgekit_profile.h",
                 "edgekit_timer.c")  # fmt: skip


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


@needs_tree
def test_cli_without_cross_compiler_says_what_to_install(tiny_tflite, tmp_path):
    env = {**os.environ, "PATH": os.path.dirname(sys.executable)}  # python only: no make, no arm-none-eabi-gcc
    done = subprocess.run([sys.executable, "-m", "edgekit.cli", "firmware", str(tiny_tflite), "-o", str(tmp_path / "fw"),
                           "--build"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "make toolchain" in lines[0] and "Traceback" not in done.stderr
    assert (tmp_path / "fw" / "Makefile").is_file()  # the project is written before the build is tried


@needs_tree
@pytest.mark.parametrize("c_name", ["../../escaped", None, 7])
def test_a_damaged_tflm_manifest_entry_is_one_error_and_writes_nothing(tiny_keras, tiny_data, tmp_path, c_name):
    from edgekit.pipeline import ExportOptions, export

    build_dir = tmp_path / "b"
    export(ExportOptions(model=tiny_keras, out=build_dir, target=("tflm",), quant="int8", calib=str(tiny_data)))
    manifest = json.loads((build_dir / "manifest.json").read_text())
    meta = manifest["artifacts"][0]["metadata"]
    if c_name is None:
        del meta["c_name"]
    else:
        meta["c_name"] = c_name
    (build_dir / "manifest.json").write_text(json.dumps(manifest))
    done = run_cli("firmware", str(build_dir), "-o", str(tmp_path / "fw"))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "damaged" in lines[0], done.stderr
    assert not (tmp_path / "fw").exists() and not list(tmp_path.parent.glob("escaped*"))


@needs_tree
def test_a_project_of_a_stripped_artifact_keeps_its_name_map(tiny_keras, tiny_data, tmp_path):
    from edgekit.pipeline import ExportOptions, export
    from edgekit.tflite_graph import TFLiteGraph
    from targets.tflm.firmware import model_from_source
    from targets.tflm.sources import parse_c_array

    build_dir = tmp_path / "b"
    (art,) = export(ExportOptions(model=tiny_keras, out=build_dir, target=("tflm",), quant="int8",
                                  calib=str(tiny_data))).artifacts  # fmt: skip
    names = json.loads((art.directory / "tiny_names.json").read_text())
    project = project_for(**model_from_source(build_dir), board="mps2-an386", kernels="reference")
    assert json.loads(project.files["tiny_names.json"])["subgraphs"] == names["subgraphs"]
    graph = TFLiteGraph(parse_c_array(project.files["tiny_model_data.c"], "tiny"))
    assert graph.inputs[0].name == ""  # stripped: the comment's name comes from the name map
    first_input = names["subgraphs"][0]["tensors"][graph.inputs[0].index]
    assert first_input and f'/* input 0: "{first_input}" */' in project.files["tiny_model_settings.h"]


# --- real build and QEMU run (slow: a cold object cache compiles ~50 TFLM files) ---


@pytest.fixture(scope="module")
def digits_build(firmware_objects, tmp_path_factory):
    """The digits example exported to TFLM int8 (build dir, artifact)."""
    from edgekit.pipeline import ExportOptions, export

    result = export(ExportOptions(model=EXAMPLE / "digits.keras", out=tmp_path_factory.mktemp("fwd") / "b",
                                  target=("tflm",), quant="int8", calib=str(EXAMPLE / "calib.npz")))  # fmt: skip
    return result.out, result.artifacts[0]


@pytest.fixture(scope="module")
def digits_fw(digits_build, tmp_path_factory):
    """The digits firmware for the an386 (reference kernels), built by the CLI, then again from the cache."""
    from targets.tflm.fwbuild import build

    build_dir, art = digits_build
    out = tmp_path_factory.mktemp("fwp") / "digits"
    done = run_cli("firmware", str(build_dir), "-o", str(out), "--build", "--measure-arena", timeout=3600)
    assert done.returncode == 0, done.stderr
    assert "kernel: conv" in done.stdout and "stack (high-water mark)" in done.stdout  # the size table
    sizes = json.loads((out / "build" / "size.json").read_text())
    again = build(out)  # every TFLM object now comes from the cache
    return art, out, sizes, again


def _eval_digits(n: int | None = None) -> np.ndarray:
    with np.load(EXAMPLE / "eval.npz") as z:
        return z[z.files[0]][:n].astype(np.float32)


def _int8_differences(qemu, art, x) -> np.ndarray:
    """|firmware - TFLM interpreter| in quanta, per sample and output."""
    from targets.tflm.runner import TFLMRunner

    tflm = TFLMRunner()
    tflm.load(art)
    try:
        got, want = qemu.run([x])[0], tflm.run([x])[0]
    finally:
        tflm.close()
    scale = qemu.outputs[0].scale
    assert got.shape == want.shape == (len(x), 10)
    assert len(set(got.argmax(1))) > 5  # real digits, not one saturated class
    return np.abs(np.round(got / scale) - np.round(want / scale))


@pytest.mark.slow
def test_digits_firmware_builds_and_measures(digits_fw):
    art, out, sizes, again = digits_fw
    assert again["tflm_objects_compiled"] == 0 and again["flash"] == sizes["flash"]
    assert sizes["flash"] == sizes["text"] + sizes["data"] and sizes["ram_static"] == sizes["data"] + sizes["bss"]
    assert sizes["model_data"] == art.metadata["model_bytes"]
    assert 20_000 < sizes["flash_without_model"] < 200_000  # TFLM runtime + 5 kernels + newlib-nano
    assert sizes["ram_static"] >= art.metadata["arena"]["size"]


@pytest.mark.slow
def test_a_second_build_waits_for_the_object_cache_lock(digits_fw):
    """Two builds of one object-cache key (two test workers, two runs) never compile the same
    objects side by side: while one holds the cache's lock the other waits, then links."""
    import threading
    import time

    from targets.tflm.fwbuild import build
    from targets.tflm.toolchain import cache_lock

    _, out, sizes, again = digits_fw
    result = {}
    with cache_lock(Path(again["object_cache"])):
        waiting = threading.Thread(target=lambda: result.update(build(out, out="build-locked")))
        waiting.start()
        time.sleep(1.5)
        assert waiting.is_alive() and not (out / "build-locked").exists()  # make has not started
    waiting.join(timeout=600)
    assert result["flash"] == sizes["flash"] and result["tflm_objects_compiled"] == 0


@pytest.mark.slow
def test_digits_flash_per_component_sums_to_the_total(digits_fw):
    from targets.tflm.fwsize import group_totals

    art, _, sizes, _ = digits_fw
    flash = sizes["components"]["flash"]
    assert sum(group_totals(flash).values()) == sizes["flash"]  # every byte charged to one component
    assert flash["model"]["model data"] == sizes["model_data"] == art.metadata["model_bytes"]
    assert {"conv", "fully_connected", "pooling", "reshape", "softmax"} <= set(flash["kernels"])
    assert all(v > 0 for v in flash["kernels"].values()) and flash["runtime"]["TFLM runtime"] > 10_000
    assert flash["libraries"]["libc"] > 0 and 0 <= sum(flash.get("padding", {}).values()) < 1024
    ram = sizes["components"]["ram"]
    assert sum(group_totals(ram).values()) == sizes["ram_static"] and ram["arena"]["tensor arena"] == sizes["arena_size"]


@pytest.mark.slow
def test_stack_high_water_mark_is_measured(digits_fw):
    _, _, sizes, _ = digits_fw
    assert 0 < sizes["run"]["stack_used"] < sizes["stack_size"] == sizes["run"]["stack_size"]
    assert sizes["ram"]["total"] == sizes["ram_static"] + sizes["run"]["stack_used"] + sizes["run"]["heap_used"]


@pytest.mark.slow
def test_bisected_arena_allocates_and_fails_16_bytes_below(digits_fw):
    from edgekit.device import get_device
    from edgekit.simulate.memory import memory_fit
    from targets.tflm.boards import get_board
    from targets.tflm.fwmeasure import ARENA_BUILD, _run

    art, out, sizes, _ = digits_fw
    found = sizes["arena_32bit"]["arena_32bit"]
    elf, board = out / ARENA_BUILD / "fw.elf", get_board("mps2-an386")
    assert _run(elf, board, found)[0] and not _run(elf, board, found - 16)[0]
    assert found % 16 == 0 and found < art.metadata["arena"]["size"]  # below the 64-bit host figure + margin
    assert f"#define DIGITS_ARENA_SIZE_32BIT {found}\n" in (out / "digits_model_settings.h").read_text()
    m4 = dataclasses.replace(get_device("cortex-m4"), kernels="reference")  # what the build used
    fit = memory_fit(art, m4)  # the firmware --build above kept its measurements
    assert fit["basis"] == "measured" and fit["flash_bytes"] == sizes["flash"] and "(measured)" in fit["verdict"]
    assert fit["ram_bytes"] == sizes["ram"]["total"]
    assert memory_fit(art, dataclasses.replace(m4, kernels="cmsis-nn"))["basis"] == "estimated"  # none recorded


@pytest.mark.slow
def test_qemu_outputs_bit_exact_with_the_tflm_interpreter(digits_fw):
    from targets.tflm.qemu_runner import QemuRunner

    art, out, _, _ = digits_fw
    qemu = QemuRunner()
    qemu.load_project(out)
    assert not _int8_differences(qemu, art, _eval_digits(100)).any()  # same int8 outputs, every sample
    assert 0 < qemu.arena_used <= art.metadata["arena"]["size"]


@pytest.mark.slow
def test_instruction_counts_are_deterministic_and_per_op_counts_sum_within(digits_fw):
    """-icount makes the emulated clock count instructions: the same firmware and inputs give
    the same counts, run after run; the ops TFLM brackets lie inside the inference."""
    from targets.tflm.qemu_runner import QemuRunner

    _, out, _, _ = digits_fw
    qemu = QemuRunner()
    qemu.load_project(out)
    x = _eval_digits(3)
    qemu.run([x])
    first = qemu.counts
    qemu.run([x])
    assert qemu.counts == first and len(first.per_sample) == 3
    assert 10_000_000 < first.per_inference < 500_000_000  # digits on reference kernels: ~72M
    ops = [o.op for o in first.ops]  # the model's ops in order
    assert ops == ["CONV_2D", "CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "FULLY_CONNECTED", "SOFTMAX"]
    assert 0 < first.ops_total <= first.per_sample[0] and first.dropped_ops == 0


@pytest.mark.slow
def test_cmsis_nn_on_the_m55_matches_the_tflm_interpreter(digits_build):
    """The second cold build of the suite: CMSIS-NN's library (Helium code paths) on the an547."""
    from targets.tflm.qemu_runner import QemuRunner

    _, art = digits_build
    qemu = QemuRunner(board="mps3-an547", kernels="cmsis-nn")
    qemu.load(art)  # generates and builds the project in a temporary folder
    try:
        assert qemu.sizes["kernels"] == "cmsis-nn" and qemu.sizes["board"] == "mps3-an547"
        # CONV_2D, FULLY_CONNECTED, MAX_POOL_2D, RESHAPE and SOFTMAX: bit-exact on all 540 samples.
        assert not _int8_differences(qemu, art, _eval_digits()).any()
        assert qemu.arena_used <= art.metadata["arena"]["size"]
    finally:
        qemu.close()


@pytest.mark.slow
def test_validate_on_qemu_scores_the_firmware(digits_fw, digits_build, tmp_path):
    build_dir, _ = digits_build  # digits_fw first: the an386 reference objects are in the cache
    with np.load(EXAMPLE / "eval.npz") as z:  # 100 samples: the reference kernels take 40 ms each under QEMU
        np.savez(tmp_path / "eval100.npz", x=z["x"][:100], y=z["y"][:100])
    done = run_cli("validate", str(build_dir), "--eval", str(tmp_path / "eval100.npz"), "--on", "qemu-m4", "--json")
    assert done.returncode == 0, done.stderr
    arts = json.loads(done.stdout)["artifacts"]
    host, fw = arts["tflm/int8"], arts["tflm/int8@qemu-m4"]
    assert fw["top1"] == host["top1"] and fw["cosine"] == host["cosine"]  # bit-exact: the same scores
    device = fw["device"]  # what the firmware measured: instructions per inference, the costliest ops
    assert device["board"] == "mps2-an386" and device["instructions_min"] <= device["instructions_per_inference"]
    assert device["costliest_ops"][0]["op"] == "CONV_2D" and "device" not in host


@pytest.mark.slow
def test_the_compiled_in_sample_runs_without_an_inputs_file(digits_fw, digits_build, tmp_path):
    from targets.tflm.qemu_runner import QEMU, _OUT

    build_dir, art = digits_build  # digits_fw first: the an386 reference objects are in the cache
    out = tmp_path / "fw"
    done = run_cli("firmware", str(build_dir), "-o", str(out), "--sample", str(EXAMPLE / "eval.npz"), "--sample-index", "3",
                   "--build", timeout=3600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    ran = subprocess.run([QEMU, *get_board("mps2-an386").qemu_args, "-kernel", str(out / "build" / "fw.elf")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    line = _OUT.search(ran.stdout)
    from targets.tflm.runner import TFLMRunner

    tflm = TFLMRunner()
    tflm.load(art)
    try:
        want = tflm.run([_eval_digits(4)[3:4]])[0]
    finally:
        tflm.close()
    got = np.frombuffer(bytes.fromhex(line.group(3)), np.int8).astype(np.float32)
    scale, zero = tflm.outputs[0].scale, tflm.outputs[0].zero_point
    assert "edgekit-fw done 1" in ran.stdout and np.array_equal(got, np.round(want[0] / scale) + zero)


@pytest.mark.slow
@pytest.mark.firmware  # cmake compiles TFLM again, outside the object cache: in `make test-firmware`
def test_the_cmake_project_builds_the_same_firmware(digits_fw, tmp_path):
    """CMakeLists.txt + arm-none-eabi.cmake beside the Makefile: the same sections, the same outputs."""
    _, out, sizes, _ = digits_fw
    assert shutil.which("cmake"), "cmake is missing: run `make toolchain`"
    build = tmp_path / "cmake"
    for cmd in (["cmake", "-S", str(out), "-B", str(build), "-DCMAKE_TOOLCHAIN_FILE=arm-none-eabi.cmake"],
                ["cmake", "--build", str(build), "-j2"]):  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, cwd=out)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    from targets.tflm.fwbuild import elf_sizes

    assert elf_sizes(build / "fw.elf", "digits_model_data") == {k: sizes[k] for k in elf_sizes(build / "fw.elf", "digits_model_data")}


def test_an_unknown_kernel_library_is_refused(tiny_tflite, tmp_path):
    with pytest.raises(OptionError, match="--kernels 'fast'.*cmsis-nn"):
        project_for(tiny_tflite.read_bytes(), name="tiny", model_name="t", board="mps2-an386", kernels="fast",
                    tflm_root=tmp_path)  # fmt: skip


NN_TREE = default_tflm_root("cmsis-nn")


@pytest.mark.skipif(not NN_TREE.is_dir(), reason="../shared/tflm/cmsis_nn is not present")
def test_cmsis_nn_library_files_follow_the_kernels(tiny_tflite):
    kern = kernel_sources(NN_TREE, ["AddFullyConnected", "AddSoftmax"], "cmsis-nn")
    lib = [f.rsplit("/", 1)[1] for f in cmsis_nn_sources(NN_TREE, kern)]
    # What the two kernels call, and what those call in turn; no depthwise or pooling code.
    assert {"arm_fully_connected_s8.c", "arm_softmax_s8.c", "arm_nn_vec_mat_mult_t_s8.c"} <= set(lib)
    assert not [f for f in lib if "depthwise" in f or "pool" in f]
    project = project_for(tiny_tflite.read_bytes(), name="tiny", model_name="t", board="mps3-an547", kernels="cmsis-nn")
    make = project.files["Makefile"]
    assert "LIB_SRCS" in make and "third_party/cmsis_nn/Source/" in make and "-mcpu=cortex-m55" in make
    assert project.record["cmsis_nn_sources"] == make.count("third_party/cmsis_nn/Source/")
    assert "ORIGIN = 0x10000000" in project.files["board.ld"]  # the M55's secure ITCM alias
    # The 512 KB ITCM holds the code only; constants and the model go to the 8 MB QSPI flash.
    assert "ROM   (r)   : ORIGIN = 0x38000000" in project.files["board.ld"] and "> ROM" in project.files["board.ld"]


def test_a_qemu_run_may_take_as_long_as_it_makes_progress():
    from targets.tflm.qemu_runner import _run_watched

    ticking = [sys.executable, "-c", "import time\nfor i in range(4):\n    print(i, flush=True); time.sleep(1.0)"]
    code, text = _run_watched(ticking, ".", stall=8.0)  # a line a second: never 8 s without one
    assert code == 0 and text.split() == ["0", "1", "2", "3"]
    silent = [sys.executable, "-c", "import time; print('set up', flush=True); time.sleep(60)"]
    code, text = _run_watched(silent, ".", stall=2.0)
    assert code is None and text == "set up\n"  # killed after 2 s of silence, not after 60


def test_validate_on_checks_the_device_before_any_work(tmp_path):
    from pathlib import Path

    from edgekit.validate import check_devices
    from targets import device_names
    from targets.base import Artifact

    assert {"qemu-m4", "qemu-m7", "qemu-m33", "qemu-m55", "qemu-m55-cmsis-nn"} <= set(device_names())
    tflite = Artifact("tflite", "int8", Path(tmp_path), ("m.tflite",), (), ())
    tflm = Artifact("tflm", "int8", Path(tmp_path), ("m_model_data.c",), (), ())
    check_devices(("qemu-m4", "qemu-m55-cmsis-nn"), [tflite, tflm])
    with pytest.raises(OptionError, match="--on qemu-m99: unknown device; choose from .*qemu-m4"):
        check_devices(("qemu-m99",), [tflm])
    with pytest.raises(OptionError, match="--on qemu-m4: none of the artifacts \\(tflite/int8\\) runs there"):
        check_devices(("qemu-m4",), [tflite])


def test_a_real_sample_is_compiled_in(tiny_tflite, tiny_data):
    """--sample: sample.c held zeros only."""
    from edgekit.runtime.io import to_runtime
    from edgekit.tflite_graph import TFLiteGraph
    from targets.tflm.firmware import sample_from_data
    from targets.tflm.runner import _info

    data = tiny_tflite.read_bytes()
    raw, note = sample_from_data(data, tiny_data, 2)
    info = _info(TFLiteGraph(data, "t").inputs[0])
    with np.load(tiny_data) as z:
        want = to_runtime(z[z.files[0]][2:3].astype(np.float32), info).tobytes()
    assert raw == want and any(raw) and note == f"sample 2 of {tiny_data.name}"
    project = project_for(data, name="tiny", model_name="t", board="mps2-an386", kernels="reference", sample=(raw, note))
    assert f"0x{raw[0]:02x}" in project.files["tiny_sample.c"] and note in project.files["tiny_sample.c"]
    with pytest.raises(OptionError, match="--sample-index 99999: .* has \\d+ samples"):
        sample_from_data(data, tiny_data, 99999)


@needs_tree
def test_export_writes_the_firmware_project_into_the_build(tiny_keras, tiny_data, tmp_path):
    out = tmp_path / "b"
    done = run_cli("export", str(tiny_keras), "-t", "tflm", "-q", "int8", "--calib", str(tiny_data), "-o", str(out),
                   "--firmware", "mps3-an547", "--firmware-kernels", "cmsis-nn")  # fmt: skip
    assert done.returncode == 0, done.stderr
    art = out / "tflm" / "int8"
    record = json.loads((art / "firmware" / "firmware.json").read_text())
    assert record["board"] == "mps3-an547" and record["kernels"] == "cmsis-nn"
    for name in ("Makefile", "CMakeLists.txt", "arm-none-eabi.cmake", "main.cc", "board.ld", record["model_source"]):
        assert (art / "firmware" / name).is_file(), name
    assert (art / "firmware" / record["model_source"]).read_text() == (art / record["model_source"]).read_text()
    assert "--firmware mps3-an547 --firmware-kernels cmsis-nn" in (out / "report.md").read_text()  # reproduce command
    bad = run_cli("export", str(tiny_keras), "-t", "tflm", "-q", "int8", "-o", str(tmp_path / "c"), "--firmware", "stm32")
    assert bad.returncode == 2 and "--firmware" in bad.stderr and "mps2-an386" in bad.stderr
