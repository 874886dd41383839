"""The real CLI in a child process: exit codes, one-line errors, clean output."""

import json
import re

import numpy as np
import pytest

from tests.conftest import EXAMPLE, SHARED, needs_shared, run_cli


def _one_line_error(res, *fragments):
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: ")
    for f in fragments:
        assert f in lines[0], lines[0]
    assert "Traceback" not in res.stderr + res.stdout


def test_help_is_fast_and_lists_commands():
    res = run_cli("--help")
    assert res.returncode == 0
    for cmd in ("export", "inspect", "targets"):
        assert cmd in res.stdout


@pytest.mark.parametrize("command", ["export", "simulate", "prune", "report", "devices"])
def test_subcommand_help_reaches_the_terminal(command):
    res = run_cli(command, "--help")
    assert res.returncode == 0 and f"Usage: edgekit {command}" in res.stdout


def test_export_with_config_and_clean_terminal(tmp_path):
    cfg = tmp_path / "edgekit.toml"
    cfg.write_text(
        f"""
[export]
model = "{EXAMPLE / 'digits.keras'}"
target = ["tflite"]
quant = "float32,int8"
calib = "{EXAMPLE / 'calib.npz'}"
eval = "{EXAMPLE / 'eval.npz'}"
calib_size = 50
out = "cfg_build"
"""
    )
    res = run_cli("export", "--config", cfg, "--out", tmp_path / "cli_build")  # the flag wins
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "cli_build" / "manifest.json").exists()
    assert not (tmp_path / "cfg_build").exists()
    assert "tflite/int8" in res.stdout and "float model (keras)" in res.stdout
    noise = ("oneDNN", "absl", "cuda", "WARNING", "I0000", "XNNPACK", "fully_quantize")
    assert not [n for n in noise if n in res.stdout + res.stderr], res.stdout + res.stderr
    manifest = json.loads((tmp_path / "cli_build" / "manifest.json").read_text())
    assert manifest["source"]["calibration"]["samples"] == 200
    assert manifest["artifacts"][1]["metadata"]["calibration"]["samples"] == 50


def test_verbose_shows_framework_logs(tmp_path):
    res = run_cli("-v", "export", EXAMPLE / "digits.keras", "-o", tmp_path / "o")
    assert res.returncode == 0
    assert len(res.stderr) > 200  # TensorFlow's own chatter reaches the terminal


@pytest.mark.parametrize("suffix", [".tflite", ".keras", ".h5", ".onnx"])
def test_random_bytes_model(tmp_path, suffix):
    junk = tmp_path / f"junk{suffix}"
    junk.write_bytes(np.random.default_rng(0).bytes(3000))
    res = run_cli("export", junk, "-o", tmp_path / "o")
    _one_line_error(res, str(junk))
    assert not (tmp_path / "o").exists()


def test_errors_are_one_line_and_write_nothing(tmp_path):
    out = tmp_path / "o"
    digits = EXAMPLE / "digits.keras"
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x=np.ones((5, 7, 7, 1), np.float32))
    empty = tmp_path / "empty.npz"
    np.savez(empty, x=np.ones((0, 8, 8, 1), np.float32))
    nan = tmp_path / "nan.npz"
    np.savez(nan, x=np.full((3, 8, 8, 1), np.nan, np.float32))
    int_data = tmp_path / "ints.npz"
    np.savez(int_data, x=np.full((3, 8, 8), "a"))
    cases = [
        (("export", tmp_path / "missing.keras", "-o", out), ["missing.keras", "no such file"]),
        (("export", digits, "-q", "int8", "-o", out), ["--calib"]),
        (("export", digits, "-q", "int8", "--calib", wrong, "-o", out), ["wrong.npz", "(7, 7, 1)", "(8, 8, 1)"]),
        (("export", digits, "-q", "int8", "--calib", empty, "-o", out), ["empty.npz", "empty"]),
        (("export", digits, "-q", "int8", "--calib", nan, "-o", out), ["nan.npz", "NaN"]),
        (("export", digits, "-q", "int8", "--calib", int_data, "-o", out), ["ints.npz", "not numeric"]),
        (("export", digits, "-q", "palettize4", "-o", out), ["tflite", "palettize4"]),
        (("export", digits, "-o", tmp_path / "file.txt" / "o"), ["not writable"]),
        (("export", digits, "-q", "int8", "--calib", "random", "--calib-size", "0", "-o", out), ["--calib-size"]),
        (("export", digits, "--scale", "abc", "-o", out), ["--scale"]),
        (("export", digits, "-t", "openvino", "--per-channel", "all", "-o", out), ["--per-channel applies to the tflite"]),
        (("export", digits, "-t", "tflm", "--arena-margin", "-1", "-o", out), ["--arena-margin -1: give 0 to"]),
        (("export", digits, "--batch", "0", "-o", out), ["--batch must be at least 1, got 0"]),
        (("inspect", tmp_path / "nothing.tflite"), ["nothing.tflite"]),
    ]
    (tmp_path / "file.txt").write_text("x")
    for args, fragments in cases:
        res = run_cli(*args)
        _one_line_error(res, *fragments)
        assert not out.exists(), args
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.npz", "file.txt", "ints.npz", "nan.npz", "wrong.npz"]


def test_existing_output_without_force(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    res = run_cli("export", EXAMPLE / "digits.keras", "-o", out)
    _one_line_error(res, "already exists", "--force")


def test_bad_config(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[export]\nbatch = 'two'\n")
    _one_line_error(run_cli("export", "--config", cfg), "'batch' must be an integer")
    cfg.write_text("[export]\nunsafe = true\n")
    _one_line_error(run_cli("export", "--config", cfg), "--unsafe on the command line")


def test_lambda_model_refused(lambda_keras, tmp_path):
    res = run_cli("export", lambda_keras, "-o", tmp_path / "o")
    _one_line_error(res, "Lambda", "--unsafe")
    res = run_cli("export", lambda_keras, "--unsafe", "-o", tmp_path / "o")
    assert res.returncode == 0, res.stderr


@needs_shared()
def test_inspect_json_on_tflite():
    res = run_cli("inspect", SHARED / "mlperf_tiny/image_classification/pretrainedResnet_quant.tflite", "--json", "--ops")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["macs"] == 12_501_632 and report["params"]["count"] == 77_708
    assert len(report["per_op"]) == 16


def test_targets_table():
    res = run_cli("targets")
    assert res.returncode == 0 and "int16x8" in res.stdout and "palettize4" in res.stdout


def _run_in_pty(args, cwd, timeout=600) -> str:
    """What a user sees: the CLI on a pseudo-terminal (fd 1 and 2 both), ANSI codes removed."""
    import os
    import pty
    import re
    import select
    import sys
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: the real CLI, as a user runs it
        os.chdir(cwd)
        os.execv(sys.executable, [sys.executable, "-m", "edgekit.cli", *map(str, args)])
    out, deadline = bytearray(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 1)[0]:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            out.extend(data)
    os.waitpid(pid, 0)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.decode(errors="replace"))
    return "\n".join(part.strip() for line in text.split("\n") for part in line.split("\r") if part.strip())


def test_no_framework_output_on_a_terminal(tiny_keras, tmp_path):
    """A TFLite and a Core ML export on a terminal show edgekit's own lines only: the spinner
    must not route Python-level output (warnings, tqdm bars, TF's SavedModel report) past the log."""
    from tests.conftest import ROOT

    seen = _run_in_pty(["export", tiny_keras, "-t", "tflite,coreml", "-q", "tflite=int8,coreml=float16",
                        "--calib", "random", "-o", tmp_path / "b", "--no-latency"], cwd=ROOT)  # fmt: skip
    assert "edgekit export" in seen and "coreml/float16" in seen, seen
    foreign = [ln for ln in seen.splitlines() if not ln.startswith("warning: ")  # edgekit's own warnings
               and re.search(r"Warning|WARNING|warnings\.warn|Saved artifact|it/s|passes/s|ops/s|%\||coremltools|tensorflow|"
                            r"Endpoint|TensorSpec|oneDNN|cuda|absl|^[IWE]\d{4}", ln)]  # fmt: skip
    assert not foreign, "\n".join(foreign[:10])


def test_gate_mistakes_are_one_line_errors_before_any_work(tmp_path):
    out, digits, evalset = tmp_path / "o", EXAMPLE / "digits.keras", EXAMPLE / "eval.npz"
    cases = [
        (("export", digits, "-t", "", "--eval", evalset, "--min-accuracy", "50", "-o", out), ["--target: no target given"]),
        (("export", digits, "--eval", evalset, "--min-accuracy", "0.95", "-o", out),
         ["--min-accuracy 0.95 is in percent, so it means 0.95%", "for 95% write --min-accuracy 95"]),
        (("validate", tmp_path, "--eval", evalset, "--targets", "tflite,tlfm"), ["unknown target 'tlfm'; did you mean 'tflm'?"]),
        (("validate", tmp_path, "--eval", evalset, "--update-baseline"), ["--update-baseline needs --baseline FILE"]),
        (("simulate", tmp_path, "--targets", "tflite,tlfm"), ["unknown target 'tlfm'; did you mean 'tflm'?"]),
    ]  # fmt: skip
    for args, fragments in cases:
        _one_line_error(run_cli(*args), *fragments)
        assert not out.exists(), args
    assert list(tmp_path.iterdir()) == []
    assert "in percent (e.g. 95 for 95%" in " ".join(run_cli("validate", "--help").stdout.split())


def test_error_lines_show_control_characters_escaped(tmp_path):
    res = run_cli("inspect", tmp_path / "x\x1b[2J\r\x07y.tflite")
    _one_line_error(res, "x\\x1b[2J\\x0d\\x07y.tflite: no such file")
    assert "\x1b" not in res.stderr and "\r" not in res.stderr and "\x07" not in res.stderr


def test_one_quant_for_tflite_and_coreml_off_macos(tiny_keras, tmp_path):
    """-q int8 for tflite and coreml where Core ML cannot calibrate: coreml makes int8-weights,
    and the summary and the manifest say it was asked for int8."""
    from targets.coreml.runner import runtime_available

    if runtime_available():
        pytest.skip("Core ML calibrates int8 on macOS: nothing is mapped")
    res = run_cli("export", tiny_keras, "-t", "tflite,coreml", "-q", "int8", "--calib", "random", "--no-latency",
                  "-o", tmp_path / "b")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "--quant int8: coreml cannot produce int8 on this host, so this is int8-weights" in res.stdout
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    done = {(a["target"], a["scheme"]): a for a in manifest["artifacts"]}
    assert set(done) == {("tflite", "int8"), ("coreml", "int8-weights")}
    assert done["coreml", "int8-weights"]["metadata"]["requested_scheme"] == "int8"
    assert "requested_scheme" not in done["tflite", "int8"]["metadata"]
    assert done["coreml", "int8-weights"]["notes"][0].startswith("--quant int8: coreml cannot produce int8")


def test_force_never_deletes_the_config_file_of_the_run(tmp_path):
    build = tmp_path / "build"
    build.mkdir()
    (build / "manifest.json").write_text('{"edgekit_manifest": 1}')  # an edgekit build --force may replace
    cfg = build / "edgekit.toml"
    cfg.write_text(f'[export]\nmodel = "{EXAMPLE / "digits.keras"}"\ntarget = ["tflite"]\nquant = "float32"\nout = "."\n')
    res = run_cli("export", "--config", cfg, "--force")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "edgekit.toml" in res.stderr and "Traceback" not in res.stderr
    assert cfg.exists() and (build / "manifest.json").exists()


def test_a_repeated_list_option_joins_and_a_repeated_value_is_an_error(tmp_path):
    # click kept only the last -t: `-t tflite -t nosuch` exported tflite... or just nosuch.
    res = run_cli("export", EXAMPLE / "digits.keras", "-t", "tflite", "-t", "nosuch", "-o", tmp_path / "b")
    assert res.returncode == 2 and "nosuch" in res.stderr, res.stderr
    res = run_cli("export", EXAMPLE / "digits.keras", "-t", "nosuch", "-t", "tflite", "-o", tmp_path / "b")
    assert res.returncode == 2 and "nosuch" in res.stderr, res.stderr
    res = run_cli("export", EXAMPLE / "digits.keras", "--calib", "a.npz", "--calib", "b.npz", "-o", tmp_path / "b")
    assert res.returncode == 2 and res.stderr.strip().splitlines() == [
        "error: --calib was given 2 times (a.npz, b.npz); give it once"], res.stderr
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("args", [
    ("validate", "build", "--min-accuracy", "0.9", "--min-accuracy", "0.5"),  # the gate must not loosen quietly
    ("simulate", "m.tflite", "--device", "cortex-m4", "--device", "cortex-m7"),
    ("firmware", "m.tflite", "--board", "mps2-an386", "--board", "mps3-an547"),
    ("header", "m.tflite", "--name", "a", "--name", "b"),
])  # fmt: skip
def test_every_command_refuses_a_repeated_single_value_option(args, tmp_path):
    """Click keeps the last of a repeated option; every hand-written option says so instead."""
    res = run_cli(*args, cwd=tmp_path)
    flag = args[2]
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith(f"error: {flag} was given 2 times ("), res.stderr
    assert list(tmp_path.iterdir()) == []
