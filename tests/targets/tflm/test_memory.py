"""The fit check uses a firmware build's measured flash and RAM for the device's core and kernel
library, and says so; otherwise it estimates (lower bounds) and says that."""

from __future__ import annotations

import dataclasses
import json

import pytest

from edgekit.device import get_device
from edgekit.model import load_model
from edgekit.simulate.memory import memory_fit
from quantize.spec import QuantSpec
from targets.tflite.exporter import TFLiteTarget
from targets.tflm.exporter import build_tflm_sources
from targets.tflm.fwmeasure import record_for_artifact
from targets.tflm.memory import measurement_path


@pytest.fixture(scope="module")
def artifact(tiny_keras, tiny_data, tmp_path_factory):
    from edgekit.data import Dataset

    model = load_model(tiny_keras)
    tfl = TFLiteTarget().export(model, QuantSpec("int8"), tmp_path_factory.mktemp("m"), Dataset.open(tiny_data, model.inputs))
    sources = build_tflm_sources(tfl.primary.read_bytes(), name="tiny", model_name="tiny.tflite")
    return sources.write(tmp_path_factory.mktemp("tflm") / "int8")


def _sizes(kernels: str = "reference") -> dict:
    return {"board": "mps2-an386", "core": "Cortex-M4F", "kernels": kernels, "flash": 70_000, "ram_static": 9_000,
            "components": {}, "ram": {"total": 11_000, "stack_high_water": 1_500, "heap": 500}}  # fmt: skip


def test_a_firmware_measurement_replaces_the_estimate(artifact):
    m4 = dataclasses.replace(get_device("cortex-m4"), kernels="reference")
    estimated = memory_fit(artifact, m4)
    assert estimated["basis"] == "estimated" and "(estimated)" in estimated["verdict"] and estimated["not_counted"]
    record_for_artifact(artifact.directory, _sizes(), artifact.metadata["tflite_sha256"])
    fit = memory_fit(artifact, m4)
    assert fit["basis"] == "measured" and fit["flash_bytes"] == 70_000 and fit["ram_bytes"] == 11_000
    assert fit["verdict"].endswith("fits (measured)") and "mps2-an386" in fit["ram_source"] and not fit["not_counted"]
    # Another kernel library or core is another firmware: the estimate stands.
    assert memory_fit(artifact, dataclasses.replace(m4, kernels="cmsis-nn"))["basis"] == "estimated"
    assert memory_fit(artifact, get_device("cortex-m7"))["basis"] == "estimated"
    small = dataclasses.replace(m4, sram_kb=10)
    assert memory_fit(artifact, small)["verdict"].endswith("(measured)") and not memory_fit(artifact, small)["fits"]


def test_a_stale_or_damaged_measurement_is_ignored(artifact):
    m4 = dataclasses.replace(get_device("cortex-m4"), kernels="cmsis-nn")
    path = record_for_artifact(artifact.directory, _sizes("cmsis-nn"), "0" * 64)  # made from other model bytes
    assert path == measurement_path(artifact.directory, "mps2-an386", "cmsis-nn")
    assert memory_fit(artifact, m4)["basis"] == "estimated"
    path.write_text(json.dumps({"core": "Cortex-M4F", "kernels": "cmsis-nn", "ram": {}}))  # no figures
    assert memory_fit(artifact, m4)["basis"] == "estimated"
    bad_ops = {**_sizes("cmsis-nn"), "tflite_sha256": artifact.metadata["tflite_sha256"],
               "run": {"instructions": 5, "instructions_per_op": ["not a dict"]}}  # fmt: skip
    path.write_text(json.dumps(bad_ops))
    assert memory_fit(artifact, m4)["basis"] == "estimated"


def test_measured_instructions_drive_the_device_latency(artifact):
    """With a firmware build's QEMU count for the device's core and kernels, the latency is
    instructions x the CPI of the calibration board of that core (its LOO error is the typical
    error), not the op-feature estimate."""
    from edgekit.simulate.device_latency import coefficients, estimate_artifact

    m4 = get_device("cortex-m4")  # CMSIS-NN, 120 MHz: NUCLEO-L4R5ZI's core and library
    before = estimate_artifact(artifact, m4)
    assert before.get("basis_kind") != "measured instructions"
    sizes = {**_sizes("cmsis-nn"), "run": {"instructions": 1_200_000, "instructions_per_op": [
        {"event": 0, "depth": 0, "op": "CONV_2D", "instructions": 900_000},
        {"event": 1, "depth": 0, "op": "FULLY_CONNECTED", "instructions": 250_000}]}}  # fmt: skip
    record_for_artifact(artifact.directory, sizes, artifact.metadata["tflite_sha256"])
    fit = coefficients()["instruction_model"]["NUCLEO-L4R5ZI"]["fits"]["cmsis-nn"]
    after = estimate_artifact(artifact, m4)
    assert after["basis_kind"] == "measured instructions" and "1,200,000 instructions" in after["basis"]
    assert after["latency_ms"] == pytest.approx(1_200_000 * fit["cpi"] / 120e3)
    assert after["typical_error"] == fit["loo_median_abs_error"] < before["typical_error"]
    assert after["op_feature_estimate_ms"] == before["latency_ms"]
    assert [o["op"] for o in after["hottest_ops"]] == ["CONV_2D", "FULLY_CONNECTED"]
    # No calibration board has a Cortex-M7 CPI: its estimate stays the op-feature one.
    m7 = get_device("cortex-m7")
    assert estimate_artifact(artifact, m7).get("basis_kind") != "measured instructions"
