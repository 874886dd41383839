import json
from pathlib import Path

import numpy as np
import pytest

from edgekit.errors import DataError, OptionError, OutputError, UnsupportedError
from edgekit.pipeline import ExportOptions, export
from tests.conftest import EXAMPLE


def _leftovers(parent: Path, name: str):
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


@pytest.fixture(scope="module")
def digits_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("b") / "digits"
    opts = ExportOptions(
        model=EXAMPLE / "digits.keras",
        out=out,
        quant="float32,int8",
        calib=str(EXAMPLE / "calib.npz"),
        eval=str(EXAMPLE / "eval.npz"),
    )
    return export(opts)


def test_digits_int8_accuracy_and_size(digits_build):
    """The foundation's bar: int8 within 0.5 points of float, at most 0.30x the float32 file."""
    ev = digits_build.evaluation
    by = {(a.target, a.scheme): a for a in digits_build.artifacts}
    f32, i8 = by[("tflite", "float32")], by[("tflite", "int8")]
    float_top1 = ev["float"]["top1"]
    int8_top1 = ev["artifacts"]["tflite/int8"]["top1"]
    print(f"float {float_top1:.4f} int8 {int8_top1:.4f} size ratio {i8.size_bytes / f32.size_bytes:.3f}")
    assert ev["samples"] == 540
    assert float_top1 - int8_top1 <= 0.005
    assert i8.size_bytes <= 0.30 * f32.size_bytes
    assert ev["artifacts"]["tflite/float32"]["cosine"] > 0.99999


def test_manifest(digits_build):
    m = json.loads((digits_build.out / "manifest.json").read_text())
    assert m == digits_build.manifest
    assert m["source"]["kind"] == "keras" and m["source"]["inputs"][0]["shape"] == [1, 8, 8, 1]
    assert m["source"]["calibration"]["samples"] == 200
    assert {a["scheme"] for a in m["artifacts"]} == {"float32", "int8"}
    for a in m["artifacts"]:
        (f,) = a["files"]
        assert (digits_build.out / f["path"]).stat().st_size == f["bytes"] == a["bytes"]
        assert len(f["sha256"]) == 64
    assert m["artifacts"][1]["inputs"][0]["dtype"] == "int8" and "scale" in m["artifacts"][1]["inputs"][0]
    assert "tensorflow" in "".join(m["tools"])
    assert m["options"]["quant"] == "float32,int8"
    src = m["source"]  # found from the build dir whatever the working directory
    assert src["path_base"] == "build_dir" and (digits_build.out / src["path"]).resolve() == (EXAMPLE / "digits.keras").resolve()
    assert src["bytes"] == (EXAMPLE / "digits.keras").stat().st_size and len(src["sha256"]) == 64


def test_second_run_same_bytes(digits_build, tmp_path):
    opts = ExportOptions(
        model=EXAMPLE / "digits.keras", out=tmp_path / "again", quant="float32,int8", calib=str(EXAMPLE / "calib.npz")
    )
    again = export(opts)
    for a, b in zip(digits_build.artifacts, again.artifacts):
        assert a.primary.read_bytes() == b.primary.read_bytes()


def test_random_calibration_warns(tiny_keras, tmp_path):
    res = export(ExportOptions(model=tiny_keras, out=tmp_path / "o", quant="int8", calib="random"))
    assert any("meaningless" in w for w in res.warnings)
    assert res.manifest["warnings"] == res.warnings


def test_per_target_quant_and_batch(tiny_keras, tiny_data, tmp_path):
    res = export(ExportOptions(model=tiny_keras, out=tmp_path / "o", quant="tflite=float16", batch=2))
    (a,) = res.artifacts
    assert a.scheme == "float16" and a.inputs[0].shape == (2, 6, 6, 1)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"quant": "int8"}, DataError, "needs calibration data.*--calib random"),
        ({"quant": "palettize4"}, UnsupportedError, "cannot produce scheme 'palettize4'"),
        ({"target": ("coreml9",)}, OptionError, "unknown target 'coreml9'"),
        ({"quant": "float32", "io_dtype": "int8"}, OptionError, "--io-dtype int8 applies to none"),
        ({"target": ()}, OptionError, "--target: no target given"),
        ({"target": ("tlfm",)}, OptionError, "unknown target 'tlfm'; did you mean 'tflm'"),
        ({"min_accuracy": 0.95, "eval": "eval.npz"}, OptionError, "--min-accuracy 0.95 is in percent"),
        ({"min_cosine": 0.99}, OptionError, "need --eval DATA"),
        ({"coreml": {"deployment_target": "iOS99"}}, OptionError,
         r"--coreml-target applies to the coreml target, which is not requested \(-t tflite\)"),
        ({"c_name": "bad name;"}, OptionError, "--c-name applies to the tflm target, which is not requested"),
        ({"arena_margin": -5, "target": ("tflite", "openvino")}, OptionError,
         r"--arena-margin applies to the tflm target, which is not requested \(-t tflite,openvino\)"),
        ({"ov_preset": "mixed"}, OptionError, "--ov-preset applies to the openvino target"),
    ],
)
def test_request_errors_before_any_work(tiny_keras, tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        export(ExportOptions(model=tiny_keras, out=tmp_path / "o", **kwargs))
    assert not (tmp_path / "o").exists() and not _leftovers(tmp_path, "o")


def test_eval_labels_are_checked_before_the_export(tiny_keras, tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros((4, 6, 6, 1), np.float32), y=np.array([0, 1, 5, 2]))
    with pytest.raises(DataError, match=r"bad.npz\[y\]: sample 2 has label 5; the model has 3 classes"):
        export(ExportOptions(model=tiny_keras, out=tmp_path / "o", eval=str(bad), min_accuracy=50))
    np.savez(bad, x=np.zeros((4, 6, 6, 1), np.float32))
    with pytest.raises(OptionError, match="--max-drop needs labelled evaluation data"):
        export(ExportOptions(model=tiny_keras, out=tmp_path / "o", eval=str(bad), max_drop=1))
    assert not (tmp_path / "o").exists() and not _leftovers(tmp_path, "o")


def test_failures_leave_nothing(tiny_keras, tmp_path):
    bad = tmp_path / "bad.npz"
    x = np.ones((4, 6, 6, 1), np.float32)
    x[2] = np.inf
    np.savez(bad, x=x)
    with pytest.raises(DataError, match="sample 2 contains NaN or Inf"):
        export(ExportOptions(model=tiny_keras, out=tmp_path / "o", quant="int8", calib=str(bad)))
    assert not (tmp_path / "o").exists() and not _leftovers(tmp_path, "o")


def test_existing_output_needs_force(tiny_keras, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="already exists; pass --force"):
        export(ExportOptions(model=tiny_keras, out=out))
    with pytest.raises(OutputError, match="not an edgekit build"):  # --force replaces builds only
        export(ExportOptions(model=tiny_keras, out=out, force=True))
    assert (out / "keep.txt").read_text() == "mine"
    (out / "keep.txt").unlink()
    export(ExportOptions(model=tiny_keras, out=out, force=True))  # an empty directory
    export(ExportOptions(model=tiny_keras, out=out, force=True))  # a build
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "report.html", "report.md", "tflite"]
    assert not _leftovers(tmp_path, "o")


def test_force_never_replaces_a_directory_holding_an_input(tiny_keras, tmp_path):
    # `edgekit export proj/digits.keras -o proj --force` (issue 14, case 3), also when proj is a build
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "manifest.json").write_text('{"edgekit_manifest": 1}')
    model = proj / "tiny.keras"
    model.write_bytes(tiny_keras.read_bytes())
    with pytest.raises(OutputError, match=rf"--out {proj}: .*holds {model} \(an input of this run\)"):
        export(ExportOptions(model=model, out=proj, force=True))
    assert sorted(p.name for p in proj.iterdir()) == ["manifest.json", "tiny.keras"]


def test_bad_destination_fails_before_the_model_is_read(tmp_path):
    missing = tmp_path / "missing.keras"  # loading it would fail: the destination must fail first
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputError, match="is a symlink"):
        export(ExportOptions(model=missing, out=dangling))
    long_model = tmp_path / ("m" * 245 + ".keras")
    with pytest.raises(OutputError, match=rf"{long_model.name}: file name too long"):
        export(ExportOptions(model=long_model, out=tmp_path / "o", target=("tflite", "tflm")))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling"]


def test_digits_every_tflite_scheme(tmp_path):
    schemes = ["float32", "float16", "dynamic", "int8", "int16x8"]
    res = export(
        ExportOptions(
            model=EXAMPLE / "digits.keras", out=tmp_path / "b", quant=",".join(schemes), calib=str(EXAMPLE / "calib.npz")
        )
    )
    assert [a.scheme for a in res.artifacts] == schemes
    assert all(a.primary.exists() for a in res.artifacts)
