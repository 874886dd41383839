"""--calib-range on the openvino target: NNCF's activation range estimators (exporter._advanced)."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.data import Dataset
from edgekit.model import load_model
from edgekit.pipeline import ExportOptions, export
from quantize.spec import QuantSpec
from targets.openvino.exporter import OpenVINOTarget

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tests.torch_models import save_pt2, tiny_cnn

    tmp = tmp_path_factory.mktemp("ovrange")
    return load_model(save_pt2(tiny_cnn(), tmp / "tiny.pt2")), tmp


def _calib(tmp, name: str, x: np.ndarray) -> np.ndarray:
    np.savez(tmp / f"{name}.npz", x=x)
    return x


def _ranges(xml) -> dict[str, tuple[float, float]]:
    """FakeQuantize name -> (input_low, input_high), "input" for the one on the IR's input."""
    import openvino as ov

    out = {}
    for op in ov.Core().read_model(str(xml)).get_ordered_ops():
        if op.get_type_name() == "FakeQuantize":
            low, high = (op.input_value(i).get_node().get_data() for i in (1, 2))
            src = op.input_value(0).get_node()
            out["input" if src.get_type_name() == "Parameter" else op.get_friendly_name()] = (float(np.min(low)), float(np.max(high)))
    return out


def _export(model, tmp, data: str, calib_range: str, out: str):
    calib = Dataset.open(tmp / f"{data}.npz", model.inputs)
    return OpenVINOTarget().export(model, QuantSpec("int8", calib_size=256, calib_range=calib_range), tmp / out, calib)


def test_minmax_covers_the_largest_calibration_sample(tiny):
    """Inputs in [0, 1] but for four pixels of one sample at 20. NNCF's own default for
    per-tensor activations averages the samples' maxima (here ~1.3, clipping that sample);
    --calib-range minmax (the default) is the maximum over all samples."""
    model, tmp = tiny
    x = np.random.default_rng(7).random((64, 3, 8, 8), dtype=np.float32)
    x[5, 0, :2, :2] = 20.0
    _calib(tmp, "bright", x)
    lo, hi = _ranges(_export(model, tmp, "bright", "minmax", "minmax").primary)["input"]
    assert hi >= 0.999 * 20.0 and lo <= float(x.min()) + 1e-6, (lo, hi)


def test_mse_narrows_long_tailed_ranges_and_is_reproducible(tiny):
    """Long-tailed activations (log-normal inputs): NNCF's histogram (L2) search narrows some
    inner range below min/max's (measured: the last ReLU's 4.56 against 4.86) and widens none."""
    model, tmp = tiny
    _calib(tmp, "tail", np.random.default_rng(5).lognormal(0, 1.5, (256, 3, 8, 8)).astype(np.float32))
    minmax = _ranges(_export(model, tmp, "tail", "minmax", "tail-minmax").primary)
    a, b = (_export(model, tmp, "tail", "mse", f"tail-mse{i}") for i in range(2))
    assert a.primary.read_bytes() == b.primary.read_bytes()  # same inputs, same bytes
    assert a.primary.with_suffix(".bin").read_bytes() == b.primary.with_suffix(".bin").read_bytes()
    mse = _ranges(a.primary)
    assert mse.keys() == minmax.keys()
    assert all(mse[k][1] <= minmax[k][1] * (1 + 1e-6) for k in mse), (mse, minmax)
    assert any(mse[k][1] < 0.97 * minmax[k][1] for k in mse), (mse, minmax)
    assert "mse activation ranges" in " ".join(a.notes)


def test_export_records_calib_range_for_openvino(tiny, tmp_path):
    """--calib-range reaches the openvino target (it was the TFLite converter's alone) and the
    manifest records it."""
    model, tmp = tiny
    _calib(tmp, "plain", np.random.default_rng(8).random((32, 3, 8, 8), dtype=np.float32))
    res = export(ExportOptions(model=model.path, out=tmp_path / "b", target=("openvino",), quant="int8",
                               calib=str(tmp / "plain.npz"), calib_range="mse", latency=False))  # fmt: skip
    (entry,) = res.manifest["artifacts"]
    assert entry["spec"]["calib_range"] == "mse", entry
