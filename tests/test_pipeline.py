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
        ({"c_name": "bad name;"}, OptionError, "--c-name applies to the tflm target and the c target, which are not requested"),
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


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"per_channel": "all", "target": ("openvino",)},
         r"--per-channel applies to the tflite target and the tflm target, which are not requested \(-t openvino\)"),
        ({"float_layers": ("dense",), "target": ("openvino", "coreml"), "quant": "int8"},
         r"--float-layers applies to the tflite target and the tflm target, which are not requested"),
        ({"coreml": {"sparsity": 0.3}}, r"coreml option 'sparsity' applies to the coreml target"),
        ({"coreml": {"bogus": 1}}, r"coreml option 'bogus' applies to the coreml target"),
        ({"labels": "l.txt", "target": ("openvino",)}, "--labels applies to the tflm target and the coreml target"),
        ({"calib_size": 0}, "--calib-size must be at least 1, got 0"),
        ({"batch": 0}, "--batch must be at least 1, got 0"),
        ({"epochs": 0, "prune": ("ops",), "finetune": "t.npz"}, "--epochs must be at least 1, got 0"),
        ({"arena_margin": -5, "target": ("tflm",)}, "--arena-margin -5: give 0 to 67,108,864 bytes"),
        ({"max_drop": 101, "eval": "e.npz"}, "--max-drop 101: out of range; it is percentage points, from 0 to 100"),
        ({"lang": "rust", "target": ("tflm",)}, "--lang 'rust': choose one of c, cc"),
        ({"coreml": {"precision": "int3"}, "target": ("coreml",)}, "--coreml-precision 'int3': choose one of"),
    ],
)  # fmt: skip
def test_schema_scope_and_ranges(tmp_path, kwargs, message):
    """Scope and ranges come from the option schema, before any file is read."""
    from edgekit.pipeline import plan_specs

    with pytest.raises(OptionError, match=message):
        plan_specs(ExportOptions(model=tmp_path / "m.keras", out=tmp_path / "o", **kwargs))


def test_per_channel_with_a_tflite_family_target_is_fine(tmp_path):
    from edgekit.pipeline import plan_specs

    pairs = plan_specs(ExportOptions(model=tmp_path / "m.keras", target=("openvino", "tflm"), per_channel="all",
                                     quant="int8", float_layers=("d",)))  # fmt: skip
    assert [(t.name, s.per_channel, s.float_layers) for t, s in pairs] == [("openvino", "all", ("d",)), ("tflm", "all", ("d",))]


def test_target_options_come_from_the_schema(tmp_path):
    from edgekit.data import Preprocess
    from edgekit.pipeline import _target_options

    pre = Preprocess(scale=0.5)
    opts = ExportOptions(model=tmp_path / "m.keras", ov_preset="mixed", max_drop=1.0, eval="e.npz", preprocess=pre,
                         c_name="kws", lang="cc", section=".m", arena_margin=64, coreml={"precision": "float32"})  # fmt: skip
    assert _target_options("tflite", opts, ["a"]) == {"layout": None}
    assert _target_options("tflm", opts, ["a"]) == {"layout": None, "c_name": "kws", "lang": "cc", "section": ".m", "labels": ["a"],
                                                    "arena_margin": 64, "keep_strings": False, "firmware": None,
                                                    "firmware_kernels": "reference", "tflm_root": None}  # fmt: skip
    assert _target_options("openvino", opts, ["a"]) == {"preset": "mixed", "max_drop": 1.0, "eval_data": "e.npz", "preprocess": pre}
    assert _target_options("coreml", opts, ["a"]) == {"options": {"precision": "float32"}, "labels": ["a"], "preprocess": pre}


@pytest.fixture
def no_coreml_runtime(monkeypatch):
    from targets.coreml import exporter

    monkeypatch.setattr(exporter, "runtime_available", lambda: False)


def test_one_quant_maps_to_each_targets_closest_scheme(tmp_path, no_coreml_runtime):
    """-q int8 for tflite and coreml off macOS: coreml makes int8-weights and says it was asked for int8."""
    from edgekit.pipeline import plan_specs

    pairs = plan_specs(ExportOptions(model=tmp_path / "m.keras", target=("tflite", "coreml"), quant="float32,int8"))
    got = [(t.name, s.scheme, s.requested) for t, s in pairs]
    assert got == [("tflite", "float32", None), ("tflite", "int8", None), ("coreml", "float32", None),
                   ("coreml", "int8-weights", "int8")]  # fmt: skip
    # asked for exactly as well: one artifact, the exact one (and TFLite's int8 weights are dynamic)
    pairs = plan_specs(ExportOptions(model=tmp_path / "m.keras", target=("tflite", "coreml"), quant="int8,int8-weights"))
    assert [(t.name, s.scheme, s.requested) for t, s in pairs] == [("tflite", "int8", None), ("tflite", "dynamic", "int8-weights"),
                                                                   ("coreml", "int8-weights", None)]  # fmt: skip
    # dynamic: TFLite's own; OpenVINO's closest is int8 weight compression
    pairs = plan_specs(ExportOptions(model=tmp_path / "m.keras", target=("tflite", "openvino"), quant="dynamic"))
    assert [(t.name, s.scheme, s.requested) for t, s in pairs] == [("tflite", "dynamic", None),
                                                                   ("openvino", "int8-weights", "dynamic")]  # fmt: skip


@pytest.mark.parametrize(
    "quant, message",
    [
        ("tflite=int8,coreml=int8", "coreml int8 quantizes activations .* exists only on macOS"),  # per target: exact
        ({"tflite": "int8", "coreml": "int8"}, "exists only on macOS"),
        ("palettize4", "target tflite cannot produce scheme 'palettize4'"),  # no close scheme: as before
        ("int16x8", "target coreml cannot produce scheme 'int16x8'"),
    ],
)
def test_per_target_quant_stays_exact(tmp_path, no_coreml_runtime, quant, message):
    from edgekit.pipeline import plan_specs

    with pytest.raises(UnsupportedError, match=message):
        plan_specs(ExportOptions(model=tmp_path / "m.keras", target=("tflite", "coreml"), quant=quant))
    with pytest.raises(UnsupportedError, match="exists only on macOS"):  # one target: -q int8 is coreml=int8
        plan_specs(ExportOptions(model=tmp_path / "m.keras", target=("coreml",), quant="int8"))


def test_an_artifact_of_the_closest_scheme_says_so(tmp_path):
    from edgekit.pipeline import as_requested
    from quantize.spec import QuantSpec
    from targets.base import Artifact

    a = Artifact("coreml", "int8-weights", tmp_path, ("m.mlpackage",), (), (), ("int8 weights",), {"x": 1})
    assert as_requested(a, QuantSpec("int8-weights")) is a
    b = as_requested(a, QuantSpec("int8-weights", requested="int8"))
    assert b.notes[0] == "--quant int8: coreml cannot produce int8 on this host, so this is int8-weights, the closest scheme it can"
    assert b.notes[1:] == a.notes and b.metadata == {"x": 1, "requested_scheme": "int8"}
