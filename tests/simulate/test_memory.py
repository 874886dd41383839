"""Fit decisions for the MLPerf Tiny int8 models on three profiles."""

import pytest

from edgekit.device import get_device
from edgekit.simulate.latency import artifacts_of
from edgekit.simulate.memory import memory_fit
from tests.conftest import MLPERF, needs_shared, run_cli

pytestmark = [needs_shared(), pytest.mark.slow]

MODELS = {
    "ic": MLPERF / "image_classification" / "pretrainedResnet_quant.tflite",
    "kws": MLPERF / "keyword_spotting" / "kws_ref_model.tflite",
    "vww": MLPERF / "visual_wake_words" / "vww_96_int8.tflite",
    "ad": MLPERF / "anomaly_detection" / "ad01_int8.tflite",
}
# RAM = 32-bit arena with margin; flash = model bytes (both lower bounds).
EXPECTED = {
    "cortex-m4": {"ic": True, "kws": True, "vww": True, "ad": True},  # 640 KiB SRAM, 2 MiB flash
    "cortex-m4-80": {"ic": True, "kws": True, "vww": True, "ad": True},  # 128 KiB SRAM
    "cortex-m0plus-32k": {"ic": False, "kws": True, "vww": False, "ad": False},  # 32 KiB SRAM, 256 KiB flash
}


@pytest.mark.parametrize("device", sorted(EXPECTED))
def test_fit_decisions(device):
    dev = get_device(device)
    for name, path in MODELS.items():
        (artifact,) = artifacts_of(path)
        fit = memory_fit(artifact, dev)
        assert fit["applies"] and fit["flash_bytes"] == path.stat().st_size
        assert fit["fits"] == EXPECTED[device][name], fit["verdict"]
        if not fit["fits"]:
            assert "does not fit: needs" in fit["verdict"] and dev.board in fit["verdict"]


def test_require_fit_exit_code():
    res = run_cli("simulate", MODELS["vww"], "--seconds", "0.05", "--device", "cortex-m0plus-32k", "--require-fit")
    assert res.returncode == 1 and "does not fit: needs 104.2 KiB RAM" in res.stdout
    ok = run_cli("simulate", MODELS["vww"], "--seconds", "0.05", "--device", "cortex-m4", "--require-fit")
    assert ok.returncode == 0 and "fits" in ok.stdout
    bad = run_cli("simulate", MODELS["vww"], "--require-fit")
    assert bad.returncode == 2 and "--require-fit needs --device" in bad.stderr
