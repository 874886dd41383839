"""BuildDir: the names and records of a build directory, and the QuantSpec its artifacts carry."""

from __future__ import annotations

import json
import os

import pytest

from edgekit.build import BuildDir
from edgekit.errors import ModelFileError
from edgekit.tensors import TensorInfo
from quantize.spec import QuantSpec
from targets.base import Artifact, build_artifacts
from tests.conftest import EXAMPLE


def _artifact(root, spec=None, dtype="int8") -> Artifact:
    (root / "tflite").mkdir(parents=True, exist_ok=True)
    (root / "tflite" / "m_int8.tflite").write_bytes(b"tfl3")
    x = TensorInfo("x", (1, 4), dtype, 0.5, -3)
    return Artifact("tflite", "int8", root / "tflite", ("m_int8.tflite",), (x,), (x,), ("note",), {"macs": 4}, spec)


def _write(build: BuildDir, artifacts) -> dict:
    return build.write_manifest(build.path, source={"path": "m.keras"}, options={"per_channel": "none"},
                                artifacts=artifacts, warnings=[])  # fmt: skip


def test_names_and_round_trip_of_manifest_validation_and_simulation(tmp_path):
    build = BuildDir(str(tmp_path))
    assert build.path == tmp_path and build.manifest_path == tmp_path / "manifest.json"
    spec = QuantSpec("int8", "int8", "all", 20, ("dense",))
    written = _write(build, [_artifact(tmp_path, spec)])
    assert build.read_manifest() == json.loads(json.dumps(written))
    entry = build.read_manifest()["artifacts"][0]
    assert entry["spec"] == {"scheme": "int8", "io_dtype": "int8", "per_channel": "all", "calib_size": 20,
                             "float_layers": ["dense"]}  # fmt: skip
    (art,) = build_artifacts(build)
    assert art.spec == spec and art.metadata == {"macs": 4} and art.primary == tmp_path / "tflite" / "m_int8.tflite"
    assert art.relocated(tmp_path / "elsewhere").spec == spec
    build.write_validation({"passed": True})
    build.write_simulation({"host": {}})
    assert build.read_records() == (build.read_manifest(), {"passed": True}, {"host": {}})
    text = (tmp_path / "validation.json").read_text()
    assert text == '{\n  "passed": true\n}\n'


def test_an_artifact_without_a_spec_writes_the_manifest_as_before(tmp_path):
    entry = _write(BuildDir(tmp_path), [_artifact(tmp_path)])["artifacts"][0]
    assert "spec" not in entry and build_artifacts(BuildDir(tmp_path))[0].spec is None


def test_is_edgekit_build(tmp_path):
    build = BuildDir(tmp_path / "b")
    assert not build.is_edgekit_build()
    build.path.mkdir()
    (build.manifest_path).write_text("{}")  # a manifest.json, not edgekit's
    assert not build.is_edgekit_build()
    _write(build, [])
    assert build.is_edgekit_build()
    link = BuildDir(tmp_path / "link")
    link.path.mkdir()
    os.symlink(build.manifest_path, link.manifest_path)
    assert not link.is_edgekit_build()


def test_missing_unreadable_and_damaged_manifests_are_one_error_each(tmp_path):
    build = BuildDir(tmp_path)
    with pytest.raises(ModelFileError, match=rf"^{tmp_path}: no manifest.json; is it an edgekit build directory\?$"):
        build.read_manifest()
    build.manifest_path.write_text("{")
    with pytest.raises(ModelFileError, match="unreadable manifest"):
        build.read_manifest()
    _write(build, [_artifact(tmp_path, QuantSpec("int8"))])
    m = build.read_manifest()
    m["artifacts"][0]["spec"]["per_channel"] = "sometimes"
    with pytest.raises(ModelFileError, match=r"manifest.json: damaged manifest \(ValueError: --per-channel sometimes"):
        build_artifacts(build, m)
    m["artifacts"][0]["spec"] = {"scheme": "int8", "float_layers": "dense"}
    with pytest.raises(ModelFileError, match="damaged manifest .TypeError: float_layers"):
        build_artifacts(build, m)
    with pytest.raises(ModelFileError, match="not an edgekit manifest"):
        build.manifest_path.write_text("[]")
        build.read_records()


def test_validate_reads_the_recorded_spec_and_guesses_it_for_an_old_manifest(tmp_path):
    from edgekit.validate import _from_manifest

    build = BuildDir(tmp_path)
    recorded = QuantSpec("int8", "float32", "all", 7)  # float I/O: the old guess could not know it
    _write(build, [_artifact(tmp_path, recorded)])
    m = build.read_manifest()
    m["source"]["path"] = "m.keras"
    assert _from_manifest(m, build)[0][0].spec == recorded
    del m["artifacts"][0]["spec"]  # a build from before artifacts carried their spec
    guessed = _from_manifest(m, build)[0][0].spec
    assert guessed == QuantSpec("int8", "int8", "none", 100)  # I/O from the input dtype, the rest from options
    m["artifacts"][0]["scheme"] = "as given"
    assert _from_manifest(m, build)[0][0].spec is None


def test_an_old_manifest_without_specs_still_validates(tmp_path):
    from edgekit.pipeline import ExportOptions, export
    from edgekit.validate import validate_build

    out = tmp_path / "digits"
    export(ExportOptions(model=EXAMPLE / "digits.keras", out=out, quant="int8", calib=str(EXAMPLE / "calib.npz"),
                         calib_size=20))  # fmt: skip
    build = BuildDir(out)
    m = build.read_manifest()
    assert m["artifacts"][0]["spec"]["calib_size"] == 20
    for entry in m["artifacts"]:
        del entry["spec"]
    build.manifest_path.write_text(json.dumps(m))
    report = validate_build(out, str(EXAMPLE / "eval.npz"))
    assert report.passed and list(report.result["artifacts"]) == ["tflite/int8"]



def test_source_date_epoch_pins_the_manifest_time(tmp_path, monkeypatch):
    from edgekit.errors import OutputError

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = (_write(BuildDir(tmp_path / "a"), [_artifact(tmp_path / "a")]), (tmp_path / "a" / "manifest.json").read_bytes())
    second = (_write(BuildDir(tmp_path / "a"), [_artifact(tmp_path / "a")]), (tmp_path / "a" / "manifest.json").read_bytes())
    assert first[0]["created"] == "2023-11-14T22:13:20Z" and first[1] == second[1]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(OutputError, match="SOURCE_DATE_EPOCH='yesterday'"):
        _write(BuildDir(tmp_path / "b"), [_artifact(tmp_path / "b")])
