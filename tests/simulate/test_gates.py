import json

import pytest

from edgekit.errors import OptionError
from edgekit.simulate.gates import Gates, baseline_of, check, junit_xml, read_baseline


def _result(top1=0.95, cosine=0.999, float_top1=0.97):
    return {
        "task": "classification", "samples": 10, "float": {"top1": float_top1},
        "artifacts": {"tflite/int8": {"top1": top1, "cosine": cosine, "agreement": 0.9,
                                       "outputs": [{"name": "probs", "cosine": cosine}]}},
    }  # fmt: skip


def test_thresholds():
    gates = check(_result(), Gates(max_drop=1.0, min_cosine=0.99, min_accuracy=96))
    by = {g.gate: g for g in gates}
    assert not by["max_drop"].passed and "drop 2.00 points (exceeds --max-drop 1.0)" in by["max_drop"].message
    assert by["min_cosine"].passed and not by["min_accuracy"].passed
    assert "tflite/int8: top1 95.00% (below --min-accuracy 96)" == by["min_accuracy"].message


def test_baseline_round_trip(tmp_path):
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(baseline_of(_result())))
    worse = check(_result(top1=0.93), Gates(baseline=path))
    assert [g.passed for g in worse] == [False, True]
    assert "vs baseline 95.00% (worse than the 0.1-point tolerance)" in worse[0].message
    assert all(g.passed for g in check(_result(top1=0.9495), Gates(baseline=path)))
    assert check(_result(top1=0.5), Gates(baseline=path, update_baseline=True)) == []


def test_bad_baseline_and_missing_labels(tmp_path):
    (tmp_path / "b.json").write_text("{}")
    with pytest.raises(OptionError, match="not an edgekit baseline"):
        read_baseline(tmp_path / "b.json")
    with pytest.raises(OptionError, match="--update-baseline"):
        read_baseline(tmp_path / "none.json")
    unlabeled = _result()
    del unlabeled["float"]["top1"], unlabeled["artifacts"]["tflite/int8"]["top1"]
    with pytest.raises(OptionError, match="--max-drop needs labelled"):
        check(unlabeled, Gates(max_drop=1))


def test_baseline_read_is_bounded(tmp_path):
    with open(tmp_path / "b.json", "wb") as f:
        f.truncate(64 << 20)  # sparse 64 MiB: never read
    with pytest.raises(OptionError, match="--baseline .*b.json: 67,108,864 bytes, more than"):
        read_baseline(tmp_path / "b.json")


def test_junit():
    xml = junit_xml(check(_result(), Gates(max_drop=1.0, min_cosine=0.99)))
    assert 'tests="2" failures="1"' in xml and "exceeds --max-drop" in xml
