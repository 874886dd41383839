"""Activation ranges for AI Edge Quantizer from calibration data: min/max or MSE-clipped.

``minmax`` (the default) takes each tensor's range over all calibration samples, as
TFLiteConverter does: nothing the calibration set produced is clipped. When a few inputs
make activations far larger than the typical ones, that range spends most int8 steps on
values that are rare, and the typical input loses resolution in every layer. ``mse`` keeps,
per activation tensor, the clipped range whose int8 rounding-plus-clipping error over the
calibration values is least (the L2 criterion of TensorRT's and PyTorch's histogram
calibrators). The graph's inputs and outputs keep their min/max range: the input's scale
fixes how the user's data is quantized, the outputs' what they read. Measured on a trained
torchvision MobileNetV3-Small: docs/tflite.md#activation-ranges (on 600 held-out images both
give the same agreement, so ``mse`` is a choice, not a general cure).
"""

from __future__ import annotations

import numpy as np

BINS = 2048  # histogram bins over each tensor's min/max range: ~8 per int8 step
FRACTIONS = np.linspace(0.2, 1.0, 33)  # candidate clip ranges, as fractions of min and max


def mse_qsvs(data: bytes, qsvs: dict, key: str, samples: list[dict], bits: int = 8) -> dict:
    """``qsvs`` (AI Edge Quantizer's tensor name -> {"min", "max"} from min/max calibration of
    ``data``) with each scalar activation range but the graph's inputs and outputs narrowed to
    the one of least squared quantization error over the values the float model computes on
    ``samples`` (signature ``key``'s input name -> array, one dict per model call)."""
    from ai_edge_litert.interpreter import Interpreter

    # One thread: the float values, hence the ranges and the artifact's bytes, do not depend on the machine.
    interp = Interpreter(model_content=data, experimental_preserve_all_tensors=True, num_threads=1)
    interp.allocate_tensors()
    index = {t["name"]: t["index"] for t in interp.get_tensor_details()}
    edges = {d["name"] for d in interp.get_input_details() + interp.get_output_details()}
    run = interp.get_signature_runner(key)
    scalar = {name: (_scalar(q["min"]), _scalar(q["max"])) for name, q in qsvs.items()
              if name in index and name not in edges and np.size(q.get("min")) == 1 and np.size(q.get("max")) == 1}  # fmt: skip
    ranges = {name: (lo, hi) for name, (lo, hi) in scalar.items() if hi > lo}
    hists = {name: np.zeros(BINS) for name in ranges}
    for sample in samples:
        run(**sample)
        for name, (lo, hi) in ranges.items():
            try:
                values = interp.get_tensor(index[name])
            except ValueError:  # a tensor the interpreter does not keep (a constant folded away)
                continue
            hists[name] += np.histogram(values, BINS, (lo, hi))[0]
    out = dict(qsvs)
    for name, (lo, hi) in ranges.items():
        if hists[name].sum():
            lo_c, hi_c = _least_error_range(hists[name], lo, hi, bits)
            out[name] = {**qsvs[name], "min": _like(qsvs[name]["min"], lo_c), "max": _like(qsvs[name]["max"], hi_c)}
    return out


def _least_error_range(hist: np.ndarray, lo: float, hi: float, bits: int) -> tuple[float, float]:
    """The clipped range [lo*a, hi*a] (a in FRACTIONS, zero kept inside, as asymmetric int8
    needs) whose quantization of the histogram's bin centres has the least squared error."""
    centres = lo + (np.arange(BINS) + 0.5) * (hi - lo) / BINS
    levels = 2**bits - 1
    best = (np.inf, lo, hi)
    for a in FRACTIONS[::-1]:  # widest first: a tie keeps the wider range
        low, high = min(lo * a, 0.0), max(hi * a, 0.0)
        step = (high - low) / levels
        q = np.clip(np.round((centres - low) / step), 0, levels) * step + low
        err = float(hist @ (q - centres) ** 2)
        if err < best[0]:
            best = (err, low, high)
    return best[1], best[2]


def _scalar(value) -> float:
    return float(np.asarray(value).reshape(-1)[0])


def _like(template, value: float):
    return np.asarray(value, np.asarray(template).dtype).reshape(np.shape(template))
