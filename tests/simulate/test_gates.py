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
    assert "tflite/int8: top1 95.00% (below --min-accuracy 96%)" == by["min_accuracy"].message


def test_baseline_round_trip(tmp_path):
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(baseline_of(_result())))
    worse = check(_result(top1=0.93), Gates(baseline=path))
    assert [g.passed for g in worse] == [False, True]
    assert "vs baseline 95.00% (worse than the 0.1-point tolerance)" in worse[0].message
    assert all(g.passed for g in check(_result(top1=0.9495), Gates(baseline=path)))
    assert check(_result(top1=0.5), Gates(baseline=path, update_baseline=True)) == []


def test_a_baseline_written_from_a_nan_metric_reads_back(tmp_path):
    """A one-class eval set has no AUC (NaN): the baseline edgekit writes must still read back."""
    from edgekit import jsontext

    res = _result()
    res["artifacts"]["tflite/int8"]["auc"] = float("nan")
    path = tmp_path / "baseline.json"
    path.write_text(jsontext.dumps(baseline_of(res)))
    assert "auc" not in read_baseline(path)["artifacts"]["tflite/int8"]


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


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"min_accuracy": 0.95}, r"--min-accuracy 0.95 is in percent, so it means 0.95% .*write --min-accuracy 95$"),
        ({"min_accuracy": 1}, r"means 1% .*for 100% write --min-accuracy 100"),
        ({"min_accuracy": 101}, r"--min-accuracy 101: out of range; it is percent, from 0 to 100"),
        ({"max_drop": -1}, r"--max-drop -1: out of range; it is percentage points"),
        ({"max_drop": float("nan")}, r"--max-drop nan: give a number"),
        ({"baseline_tolerance": 200}, r"--baseline-tolerance 200: out of range"),
        ({"min_cosine": 99}, r"--min-cosine 99: out of range; it is a cosine similarity, from -1 to 1"),
        ({"update_baseline": True}, r"--update-baseline needs --baseline FILE"),
    ],
)
def test_gate_values_are_checked_with_their_unit(kwargs, message):
    with pytest.raises(OptionError, match=message):
        Gates(**kwargs)


def test_sub_point_max_drop_and_zero_accuracy_are_valid():
    assert Gates(max_drop=0.5, min_accuracy=0, min_cosine=-1).any


def test_a_gate_over_zero_artifacts_fails():
    empty = {**_result(), "artifacts": {}}
    (only,) = check(empty, Gates(min_cosine=0.99))
    assert not only.passed and only.message == "no artifact was validated, so no gate could pass"
    assert check(empty, Gates()) == []


def test_a_baseline_that_compares_nothing_fails(tmp_path):
    path = tmp_path / "baseline.json"
    other = _result()
    other["artifacts"] = {"tflm/int8": other["artifacts"]["tflite/int8"]}
    path.write_text(json.dumps(baseline_of(other)))
    gates = check(_result(), Gates(baseline=path))
    failed = [g for g in gates if not g.passed]
    assert len(failed) == 1 and "no metric of this run could be compared with it (it has tflm/int8; this run: tflite/int8)" in failed[0].message
    note = [g for g in gates if g.note]
    assert [g.message for g in note] == [f"tflite/int8: not in --baseline {path}; not compared (add it with --update-baseline)"]
    assert "tests=\"1\" failures=\"1\"" in junit_xml(gates)  # notes are not test cases


def test_baseline_entries_missing_from_the_run_are_reported(tmp_path):
    path = tmp_path / "baseline.json"
    both = _result()
    both["artifacts"]["tflm/int8"] = both["artifacts"]["tflite/int8"]
    path.write_text(json.dumps(baseline_of(both)))
    gates = check(_result(), Gates(baseline=path))
    assert all(g.passed for g in gates)
    assert [g.artifact for g in gates if g.note] == ["tflm/int8"]


@pytest.mark.parametrize("bad", ['"high"', "null", "true", "NaN", "97", "[0.9]"])
def test_baseline_values_of_the_wrong_type_are_one_line(tmp_path, bad):
    path = tmp_path / "b.json"
    path.write_text('{"edgekit_baseline": 1, "artifacts": {"tflite/int8": {"top1": %s}}}' % bad)
    with pytest.raises(OptionError, match=rf"--baseline {path}: artifacts.tflite/int8.top1 must be a number from 0 to 1, got"):
        Gates(baseline=path).read_baseline()
    path.write_text('{"edgekit_baseline": 1, "artifacts": {"tflite/int8": 0.9}}')
    with pytest.raises(OptionError, match="artifacts.tflite/int8 must be a table of metrics"):
        read_baseline(path)


def test_accuracy_gates_need_labels_and_a_scored_task():
    Gates(max_drop=1, min_cosine=0.9).check_data("classification", labelled=True)
    Gates(min_cosine=0.9).check_data("regression", labelled=False)
    with pytest.raises(OptionError, match="--min-accuracy needs labelled evaluation data for the anomaly metric"):
        Gates(min_accuracy=90).check_data("anomaly", labelled=False)
    with pytest.raises(OptionError, match="--max-drop scores top-1 or AUC, which the regression task has none of"):
        Gates(max_drop=1).check_data("regression", labelled=True)
