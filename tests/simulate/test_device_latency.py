"""Device latency estimates: calibrated boards, extrapolated cores, refusals, the CLI."""

import json

import pytest

from edgekit.device import Device, get_device
from edgekit.simulate.device_latency import basis_for, estimate_graph
from edgekit.tflite_graph import TFLiteGraph
from tests.conftest import MLPERF, needs_shared, run_cli

MODELS = {
    "IC": MLPERF / "image_classification" / "pretrainedResnet_quant.tflite",
    "KWS": MLPERF / "keyword_spotting" / "kws_ref_model.tflite",
    "VWW": MLPERF / "visual_wake_words" / "vww_96_int8.tflite",
    "AD": MLPERF / "anomaly_detection" / "ad01_int8.tflite",
}
PUBLISHED_L4R5ZI = {"IC": 704.2, "KWS": 181.9, "VWW": 600.6, "AD": 10.05}


def _device(**kw) -> Device:
    base = dict(name="b", board="b", core="Cortex-M4", clock_mhz=120, sram_kb=256, flash_kb=1024,
                features=("dsp",), kernels="reference")  # fmt: skip
    return Device(**(base | kw))


@needs_shared()
def test_m4_board_estimates_are_near_the_published_latency():
    """cortex-m4 (CMSIS-NN, what the board ran): op features -> instructions x CPI. AD, all fully
    connected layers, runs at 2.1 cycles per instruction where the others take 2.8-3.0."""
    dev = get_device("cortex-m4")
    errors = []
    for name, path in MODELS.items():
        e = estimate_graph(TFLiteGraph.from_file(path), dev)
        assert e["applies"] and "NUCLEO-L4R5ZI" in e["basis"] and "cycles per instruction" in e["basis"]
        errors.append(abs(e["latency_ms"] / PUBLISHED_L4R5ZI[name] - 1))
        shares = [op["share"] for op in e["hottest_ops"]]
        assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 1.0 + 1e-9
    assert sorted(errors)[1] < 0.25 and max(errors) < 0.45, errors


@needs_shared()
def test_reference_kernels_are_costed_by_their_instructions():
    """No published board ran TFLM's reference kernels: their instructions (~25x CMSIS-NN's on
    ResNet-8) at the board's cycles per instruction."""
    graph = TFLiteGraph.from_file(MODELS["IC"])
    ref = estimate_graph(graph, _device())
    nn = estimate_graph(graph, _device(kernels="cmsis-nn"))
    assert ref["applies"] and "reference instructions" in ref["basis"] and "assumed alike" in ref["basis"]
    assert 15 < ref["latency_ms"] / nn["latency_ms"] < 40


@needs_shared()
def test_clock_and_core_scale_the_estimate():
    graph = TFLiteGraph.from_file(MODELS["KWS"])
    at120 = estimate_graph(graph, _device())["latency_ms"]
    assert estimate_graph(graph, _device(clock_mhz=60))["latency_ms"] == pytest.approx(2 * at120)
    m7 = estimate_graph(graph, _device(core="Cortex-M7", kernels="cmsis-nn", clock_mhz=120))
    m33 = estimate_graph(graph, _device(core="Cortex-M33", kernels="cmsis-nn", clock_mhz=120))
    assert m7["latency_ms"] < m33["latency_ms"] and "Cortex-M7 cycles" in m7["basis"]


def test_devices_without_calibration_get_a_reason():
    assert "esp-nn" in basis_for(get_device("esp32-s3"))
    assert "Cortex-M55" in basis_for(get_device("cortex-m55"))
    assert "RISC-V" in basis_for(_device(core="RISC-V", kernels="reference"))


def test_non_int8_models_are_not_estimated(tiny_keras):
    from edgekit.model import load_model
    from quantize.spec import QuantSpec
    from targets.tflite.convert import convert_cached

    data = convert_cached(load_model(tiny_keras), QuantSpec().with_scheme("float32"), None)
    e = estimate_graph(TFLiteGraph(data), _device())
    assert not e["applies"] and "int8" in e["why"]


@needs_shared()
def test_cli_device_table_ops_and_json():
    res = run_cli("simulate", MODELS["VWW"], "--seconds", "0.05", "--device", "cortex-m4", "--ops")
    assert res.returncode == 0, res.stderr
    assert "latency (est.)" in res.stdout and "costliest 10 of 31 ops" in res.stdout and "NUCLEO-L4R5ZI" in res.stdout
    js = run_cli("simulate", MODELS["AD"], "--seconds", "0.05", "--device", "cortex-m85", "--json")
    est = json.loads(js.stdout)["device_latency"][0]
    assert est["applies"] and "EK-RA8D1" in est["basis"] and est["hottest_ops"][0]["op"] == "FULLY_CONNECTED"
    bad = run_cli("simulate", MODELS["AD"], "--ops")
    assert bad.returncode == 2 and "--ops needs --device" in bad.stderr
