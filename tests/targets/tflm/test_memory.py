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
