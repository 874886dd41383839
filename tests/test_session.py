"""ExportSession: one run's conversions and trusted files, passed explicitly, shared by nothing else."""

from __future__ import annotations

import json

import pytest

from edgekit.data import Dataset
from edgekit.errors import ModelFileError
from edgekit.model import load_model
from edgekit.session import ExportSession
from quantize.spec import QuantSpec
from tests.conftest import EXAMPLE


@pytest.fixture
def crashing_probe(monkeypatch):
    """Every crash probe from here on dies like a runtime on a corrupt model: a load that is
    probed fails, a load that is trusted does not."""
    import edgekit.runtime.probe as probe

    monkeypatch.setattr(probe, "WORKER", "tests.crashing_worker")
    monkeypatch.setattr(probe, "_child", None)
    monkeypatch.setattr(probe, "_proven", set())


def test_memo_runs_once_per_key_and_keeps_the_objects_its_key_names():
    session, calls, owner = ExportSession(), [], object()
    make = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert session.cached(("k", id(owner)), make, keep=(owner,)) == 1
    assert session.cached(("k", id(owner)), make, keep=(owner,)) == 1
    assert ExportSession().cached(("k", id(owner)), make) == 2  # another session: its own entry
    assert owner in session._memo[("k", id(owner))][1]


def test_two_sessions_share_no_conversion_and_no_trust(tiny_keras, monkeypatch):
    import targets.tflite.convert as convert
    from edgekit.runtime.probe import digest

    calls = []
    real = convert._convert
    monkeypatch.setattr(convert, "_convert", lambda *a: calls.append(a[1].scheme) or real(*a))
    model, spec = load_model(tiny_keras), QuantSpec("float32")
    a, b = ExportSession(), ExportSession()
    first = convert.convert_cached(model, spec, session=a)
    assert convert.convert_cached(model, spec, session=a) is first and calls == ["float32"]
    again = convert.convert_cached(model, spec, session=b)
    assert calls == ["float32", "float32"] and again == first
    assert digest(first) in a.trusted and digest(first) in b.trusted  # each trusts what it converted
    assert digest(first) not in ExportSession().trusted
    convert.convert_cached(model, spec)  # no session: a fresh one, nothing kept
    assert len(calls) == 3


def test_tflite_and_tflm_of_one_session_share_the_conversion(tiny_keras, tiny_data, tmp_path, monkeypatch):
    import targets.tflite.convert as convert
    from targets.tflite.exporter import TFLiteTarget
    from targets.tflm.exporter import TFLMTarget

    calls = []
    real = convert._convert
    monkeypatch.setattr(convert, "_convert", lambda *a: calls.append(a[1].scheme) or real(*a))
    model = load_model(tiny_keras)
    calib = Dataset.open(tiny_data, model.inputs)
    session, spec = ExportSession(tmp_path), QuantSpec("int8", calib_size=10)
    tfl = TFLiteTarget().export(model, spec, tmp_path / "tflite", calib, session)
    tflm = TFLMTarget().export(model, spec, tmp_path / "tflm", calib, session)
    assert calls == ["int8"]
    assert tfl.metadata["calibration"]["samples"] == 10
    # The tflm sources hold that conversion, stripped of the strings TFLM never reads.
    assert tflm.metadata["strings_stripped"]["source_sha256"] == __import__("hashlib").sha256(tfl.primary.read_bytes()).hexdigest()
    assert tfl.spec == spec and tflm.spec == spec


def test_a_runner_probes_what_its_session_did_not_write(tiny_keras, tmp_path, crashing_probe):
    from edgekit.runtime.litert import LiteRTRunner
    from targets.tflite.exporter import TFLiteTarget

    model = load_model(tiny_keras)
    session = ExportSession(tmp_path)
    art = TFLiteTarget().export(model, QuantSpec("float32"), tmp_path, session=session)  # trusted: no probe
    LiteRTRunner(trusted=session.trusted).load(art)
    with pytest.raises(ModelFileError, match="LiteRT crashed"):
        LiteRTRunner().load(art)
    with pytest.raises(ModelFileError, match="LiteRT crashed"):
        LiteRTRunner(trusted=ExportSession().trusted).load(art)


def test_validate_after_an_export_in_the_same_process_probes_the_build(tmp_path, crashing_probe):
    """The export trusts what it converted while it runs; `validate` of that build later in the
    same process did not write it, so it crash-probes it (before: a module set kept the trust)."""
    from edgekit.pipeline import ExportOptions, export
    from edgekit.validate import validate_build

    out = tmp_path / "digits"
    result = export(ExportOptions(model=EXAMPLE / "digits.keras", out=out, eval=str(EXAMPLE / "eval.npz")))
    assert result.validation.passed  # validated inside the run: trusted, the crashing probe was never asked
    assert json.loads((out / "manifest.json").read_text())["artifacts"][0]["spec"]["scheme"] == "float32"
    with pytest.raises(ModelFileError, match=r"LiteRT crashed \(SIGSEGV\) while loading .*digits_float32.tflite"):
        validate_build(out, str(EXAMPLE / "eval.npz"))
