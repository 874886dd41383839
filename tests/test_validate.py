"""`edgekit validate` on the digits example: all artifacts, gates, baseline, JUnit, streaming."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgekit.errors import DataError, ModelFileError, OptionError, OutputError
from edgekit.pipeline import ExportOptions, export
from edgekit.validate import validate_build
from edgekit.simulate.gates import Gates
from tests.conftest import EXAMPLE, run_cli

EVAL = EXAMPLE / "eval.npz"


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    out = tmp_path_factory.mktemp("v") / "digits"
    export(ExportOptions(model=EXAMPLE / "digits.keras", out=out, target=("tflite", "tflm"),
                         quant="tflite=float32,tflite=int8,tflm=int8", calib=str(EXAMPLE / "calib.npz")))  # fmt: skip
    return out


def test_complete_table_and_exact_tflite_tflm(build):
    report = validate_build(build, str(EVAL), litert_kernels="builtin")
    res = report.result
    assert set(res["artifacts"]) == {"tflite/float32", "tflite/int8", "tflm/int8"}
    for entry in res["artifacts"].values():
        for key in ("top1", "top5", "agreement", "cosine", "l2_rel", "rmse", "mae", "max_abs", "nse", "snr_db", "psnr_db"):
            assert key in entry, key
    assert res["artifacts"]["tflite/float32"]["cosine"] >= 0.99999
    tfl, tflm = res["artifacts"]["tflite/int8"], res["artifacts"]["tflm/int8"]
    assert {k: v for k, v in tfl.items() if k != "outputs"} == {k: v for k, v in tflm.items() if k != "outputs"}
    saved = json.loads((build / "validation.json").read_text())
    assert saved["passed"] is True and saved["eval"]["samples"] == 540


def test_cli_exit_codes_junit_and_baseline(build, tmp_path):
    junit, baseline = tmp_path / "v.xml", tmp_path / "baseline.json"
    ok = run_cli("validate", build, "--eval", EVAL, "--max-drop", "0.5", "--min-cosine", "0.999", "--junit", junit,
                 "--baseline", baseline, "--update-baseline")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "all gates passed" in ok.stdout and 'failures="0"' in junit.read_text()
    assert set(json.loads(baseline.read_text())["artifacts"]) == {"tflite/float32", "tflite/int8", "tflm/int8"}
    failed = run_cli("validate", build, "--eval", EVAL, "--min-cosine", "0.9999999")
    assert failed.returncode == 1 and "FAIL tflite/int8: cosine" in failed.stdout
    missing = run_cli("validate", tmp_path, "--eval", EVAL)
    assert missing.returncode == 2 and "no manifest.json" in missing.stderr


def test_bad_calibration_is_caught_with_a_useful_message(tmp_path):
    """Calibrating on data 40x the real scale wastes most of the int8 range: the gate fails."""
    bad = tmp_path / "bad_calib.npz"
    np.savez(bad, x=np.load(EXAMPLE / "calib.npz")["x"] * 40)
    res = run_cli("export", EXAMPLE / "digits.keras", "-q", "int8", "--calib", bad, "--eval", EVAL,
                  "--max-drop", "1.0", "-o", tmp_path / "b")  # fmt: skip
    assert res.returncode == 1, res.stderr
    assert "FAIL tflite/int8: top1" in res.stdout and "exceeds --max-drop 1.0" in res.stdout
    assert (tmp_path / "b" / "validation.json").exists()  # the build is complete; the verdict is the exit code


def test_baseline_catches_a_worse_export(build, tmp_path):
    baseline = tmp_path / "baseline.json"
    validate_build(build, str(EVAL), gates=Gates(baseline=baseline, update_baseline=True))
    data = json.loads(baseline.read_text())
    data["artifacts"]["tflite/int8"]["top1"] = 1.0  # pretend the accepted export was perfect
    baseline.write_text(json.dumps(data))
    report = validate_build(build, str(EVAL), gates=Gates(baseline=baseline), write=False)
    failed = [g for g in report.gates if not g.passed]
    assert [g.artifact for g in failed] == ["tflite/int8"] and "vs baseline 100.00%" in failed[0].message


@pytest.mark.slow
def test_streaming_100k_samples_keeps_memory_flat(build, tmp_path):
    import resource
    import tracemalloc

    x = np.load(EVAL)["x"]
    big = np.resize(x, (100_000, *x.shape[1:])).astype(np.float32)
    big += np.random.default_rng(0).normal(0, 0.01, big.shape).astype(np.float32)
    path = tmp_path / "big.npy"
    np.save(path, big)
    nbytes = big.nbytes
    del big
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    report = validate_build(build, str(path), targets=("tflite",), write=False, batch_size=256)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) * 1024
    print(f"100,000 samples ({nbytes / 1e6:.1f} MB): Python peak {peak / 1e6:.1f} MB, max RSS grew {rss_growth / 1e6:.1f} MB")
    assert report.result["samples"] == 100_000
    assert peak < nbytes / 4


def test_source_model_is_checked_before_loading_and_unsafe_is_a_flag(saved_model, lambda_keras, tmp_path):
    """validate reloads the manifest's source path: what is there now gets the same checks."""
    import shutil

    from edgekit.errors import UnsafeModelError
    from tests.test_saved_model_scan import save_writer_model

    np.savez(tmp_path / "eval.npz", x=np.ones((4, 5), np.float32))
    src = tmp_path / "src_sm"
    shutil.copytree(saved_model, src)
    export(ExportOptions(model=src, out=tmp_path / "b", target=("tflite",), quant="float32", latency=False))
    shutil.rmtree(src)
    save_writer_model(src, tmp_path / "marker")
    with pytest.raises(ModelFileError, match="not the source model"):  # its sha256 changed
        validate_build(tmp_path / "b", str(tmp_path / "eval.npz"), write=False)
    with pytest.raises(UnsafeModelError, match="WriteFile"):  # named on purpose: still scanned first
        validate_build(tmp_path / "b", str(tmp_path / "eval.npz"), model_path=str(src), write=False)
    assert not (tmp_path / "marker").exists()

    np.savez(tmp_path / "eval4.npz", x=np.ones((4, 4), np.float32))
    export(ExportOptions(model=lambda_keras, out=tmp_path / "l", target=("tflite",), quant="float32", latency=False,
                         unsafe=True))  # fmt: skip
    res = run_cli("validate", tmp_path / "l", "--eval", tmp_path / "eval4.npz")
    assert res.returncode == 2 and "Lambda" in res.stderr and "--unsafe" in res.stderr
    res = run_cli("validate", tmp_path / "l", "--eval", tmp_path / "eval4.npz", "--unsafe")
    assert res.returncode == 0, res.stderr
    assert "warning: --unsafe" in res.stderr


def test_unknown_empty_or_absent_targets_are_errors(build):
    with pytest.raises(OptionError, match="--targets: unknown target 'tlfm'; did you mean 'tflm'\\? choose from tflite, tflm"):
        validate_build(build, str(EVAL), targets=("tflite", "tlfm"), write=False)
    with pytest.raises(OptionError, match="has no coreml artifacts \\(it has tflite, tflm\\)"):
        validate_build(build, str(EVAL), targets=("coreml",), write=False)
    with pytest.raises(OptionError, match="an empty target name"):
        validate_build(build, str(EVAL), targets=("",), write=False)


def test_update_baseline_without_baseline_writes_nothing(build, tmp_path):
    report = build / "validation.json"
    report.write_text("earlier run\n")
    with pytest.raises(OptionError, match="--update-baseline needs --baseline FILE"):
        validate_build(build, str(EVAL), gates=Gates(update_baseline=True))
    with pytest.raises(OutputError, match="--junit .*: its directory does not exist"):
        validate_build(build, str(EVAL), junit=tmp_path / "no" / "v.xml")
    assert report.read_text() == "earlier run\n"
    report.unlink()


def test_bad_baseline_value_is_one_line_before_any_work(build, tmp_path):
    path = tmp_path / "baseline.json"
    path.write_text('{"edgekit_baseline": 1, "task": "classification", "artifacts": {"tflite/int8": {"top1": "high"}}}')
    with pytest.raises(OptionError, match=f"--baseline {path}: artifacts.tflite/int8.top1 must be a number"):
        validate_build(build, str(EVAL), gates=Gates(baseline=path), write=False)


@pytest.mark.parametrize("y, message", [(["a"] * 540, "labels of dtype <U1 are not numbers"),
                                        (np.full(540, np.nan), "sample 0 has label nan")])  # fmt: skip
def test_labels_that_do_not_fit_the_model_are_refused(build, tmp_path, y, message):
    bad = tmp_path / "bad_labels.npz"
    np.savez(bad, x=np.load(EVAL)["x"], y=np.asarray(y))
    with pytest.raises(DataError, match=message):
        validate_build(build, str(bad), gates=Gates(min_accuracy=50), write=False)


def test_a_gate_over_a_build_without_artifacts_fails(build, tmp_path):
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["artifacts"] = []
    manifest["source"]["path"] = str(EXAMPLE / "digits.keras")
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    report = validate_build(tmp_path, str(EVAL), gates=Gates(min_accuracy=50), write=False)
    assert not report.passed and [g.message for g in report.gates] == ["no artifact was validated, so no gate could pass"]


@pytest.fixture(scope="module")
def relative_build(tmp_path_factory):
    """A build exported from a relative model path, as `cd models && edgekit export digits.keras` does."""
    import os
    import shutil

    root = tmp_path_factory.mktemp("rel")
    (root / "models").mkdir()
    shutil.copy(EXAMPLE / "digits.keras", root / "models" / "digits.keras")
    cwd = os.getcwd()
    os.chdir(root / "models")
    try:
        export(ExportOptions(model=Path("digits.keras"), out=Path("../build"), quant="float32", latency=False))
    finally:
        os.chdir(cwd)
    return root


def test_source_is_resolved_against_the_build_and_its_sha256_checked(relative_build, tmp_path, monkeypatch):
    from tests.conftest import make_outlier_digits

    build = relative_build / "build"
    make_outlier_digits(tmp_path / "digits.keras")  # another model of the same shape, in the directory we run from
    monkeypatch.chdir(tmp_path)
    report = validate_build(build, str(EVAL), gates=Gates(min_cosine=0.9999), write=False)
    assert report.result["reference"]["path"] == str(build / "../models/digits.keras")
    assert report.result["reference"]["matches_manifest"] is True and report.passed
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["source"].pop("path_base")  # an older manifest: its path is relative to where export ran
    manifest["source"]["path"], manifest["artifacts"] = "digits.keras", []
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match=r"digits.keras: not the source model .* was exported from .*pass --model PATH"):
        validate_build(tmp_path / "old", str(EVAL), write=False)
    monkeypatch.chdir(relative_build / "models")
    assert validate_build(tmp_path / "old", str(EVAL), write=False).result["reference"]["path"] == "digits.keras"


def test_a_changed_source_is_an_error_unless_given_on_purpose(relative_build, tmp_path):
    from tests.conftest import make_outlier_digits

    build, source = relative_build / "build", relative_build / "models" / "digits.keras"
    original = source.read_bytes()
    make_outlier_digits(source)
    try:
        with pytest.raises(ModelFileError, match="models/digits.keras: not the source model .*the manifest records .* for '../models/digits.keras'"):
            validate_build(build, str(EVAL), write=False)
        report = validate_build(build, str(EVAL), model_path=str(source), write=True)
        assert report.result["reference"] == {"path": str(source), "sha256": report.result["reference"]["sha256"],
                                              "given": True, "matches_manifest": False}  # fmt: skip
        assert json.loads((build / "validation.json").read_text())["reference"]["matches_manifest"] is False
    finally:
        source.write_bytes(original)


@pytest.mark.parametrize("recorded", ["/dev/zero", "/"])
def test_a_manifest_pointing_its_source_at_a_device_or_the_disk_is_refused_unread(tmp_path, recorded):
    """A build from elsewhere names its own source: hashing /dev/zero never ends, / is the whole disk."""
    import signal

    from edgekit.build import BuildDir

    manifest = {"source": {"path": recorded, "path_base": "build_dir", "sha256": "0" * 64}}
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("float_reference read the file"))
    signal.alarm(10)
    try:
        with pytest.raises(ModelFileError, match="is not a model file or SavedModel directory"):
            BuildDir(tmp_path).float_reference(manifest)
    finally:
        signal.alarm(0)
