import json

import numpy as np
import pytest

from edgekit.pipeline import ExportOptions, export
from edgekit.simulate.latency import host_latency, percentiles
from tests.conftest import EXAMPLE, run_cli


def test_percentiles():
    p = percentiles([0.001] * 95 + [0.002] * 4 + [0.010])
    assert p["runs"] == 100 and p["p50_ms"] == pytest.approx(1.0) and p["p90_ms"] == pytest.approx(1.0)
    assert 2.0 <= p["p99_ms"] <= 10.0 and p["mean_ms"] == pytest.approx(np.mean([1.0] * 95 + [2.0] * 4 + [10.0]))


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    out = tmp_path_factory.mktemp("lat") / "b"
    export(ExportOptions(model=EXAMPLE / "digits.keras", out=out, target=("tflite", "tflm", "openvino"), quant="int8",
                         calib=str(EXAMPLE / "calib.npz")))  # fmt: skip
    return out


def test_every_artifact_in_its_runtime(build):
    res = host_latency(build, seconds=0.1)
    assert set(res["artifacts"]) == {"tflite/int8", "tflm/int8", "openvino/int8"}
    labels = {k: [r["variant"] for r in rows] for k, rows in res["artifacts"].items()}
    assert labels["tflite/int8"][0] == "xnnpack 1t" and "no xnnpack 1t" in labels["tflite/int8"]
    assert labels["tflm/int8"] == ["reference"] and labels["openvino/int8"][0] == "cpu 1t"
    for rows in res["artifacts"].values():
        for r in rows:
            assert r["runs"] >= 30 and 0 < r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"] and r["load_ms"] > 0


def test_cli_writes_simulation_json_and_takes_a_file(build):
    res = run_cli("simulate", build, "--seconds", "0.1", "--targets", "tflite")
    assert res.returncode == 0, res.stderr
    saved = json.loads((build / "simulation.json").read_text())
    assert list(saved["artifacts"]) == ["tflite/int8"] and "p99" in res.stdout
    one = run_cli("simulate", build / "tflite" / "digits_int8.tflite", "--seconds", "0.1", "--json")
    assert one.returncode == 0 and json.loads(one.stdout)["artifacts"]["tflite/as given"][0]["runs"] >= 30
    bad = run_cli("simulate", build / "manifest.json")
    assert bad.returncode == 2 and "give a build directory" in bad.stderr


def test_export_summary_times_each_artifact_but_keeps_timings_out_of_the_manifest(tmp_path):
    out = tmp_path / "b"
    res = export(ExportOptions(model=EXAMPLE / "digits.keras", out=out, target=("tflite", "tflm"), quant="int8",
                               calib=str(EXAMPLE / "calib.npz"), latency=True))  # fmt: skip
    assert set(res.latency) == {"tflite/int8", "tflm/int8"}
    assert res.latency["tflm/int8"]["variant"] == "reference" and res.latency["tflite/int8"]["runs"] >= 30
    assert "p50_ms" not in (out / "manifest.json").read_text()
    quiet = run_cli("export", EXAMPLE / "digits.keras", "-o", tmp_path / "c", "--no-latency")
    assert quiet.returncode == 0 and "host p50" not in quiet.stdout
    timed = run_cli("export", EXAMPLE / "digits.keras", "-o", tmp_path / "d")
    assert timed.returncode == 0 and "host p50" in timed.stdout and "xnnpack 1t" in timed.stdout
