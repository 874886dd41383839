"""Options of the TFLite converter (TFLite Micro converts through it too; OpenVINO uses --calib-range)."""

from __future__ import annotations

from edgekit.options import Option
from quantize.spec import CALIB_RANGES, PER_CHANNEL

# Both go into the QuantSpec, not the target's constructor (no ``arg``).
OPTIONS: tuple[Option, ...] = (
    Option("per_channel", ("--per-channel",), default="conv", choices=PER_CHANNEL,
           help="Per-channel weight scales for conv layers (default), all layers, or none."),
    Option("float_layers", ("--float-layers",), default=(), comma_list=True,
           help="int8: keep these layers float (names from the per-layer report, comma-separated)."),
    Option("calib_range", ("--calib-range",), default="minmax", choices=CALIB_RANGES,
           help="int8 activation ranges: minmax (default, over all samples) or mse (least error; clips rare outliers).",
           doc="int8: how activation ranges come from `--calib`: `minmax` (default, each tensor's range over all "
               "samples, as TFLiteConverter) or `mse` (each activation clipped to the range of least int8 error "
               "over the samples, for activations with a long tail; rare large values are then clipped). "
               "tflite/tflm: PyTorch, ONNX and float `.tflite` sources (AI Edge Quantizer), measured in "
               "[tflite.md](tflite.md#activation-ranges); openvino: every source, NNCF's `MINMAX` and `HISTOGRAM` "
               "range estimators, measured in [openvino.md](openvino.md#activation-ranges)"),
)
# The target's constructor keyword (TFLM, which converts through it, takes it too).
LAYOUT = Option("layout", ("--layout",), choices=("source", "nhwc"), arg="layout",
                help="I/O layout of a channels-first (PyTorch, ONNX) model's .tflite: source (default) or nhwc.",
                doc="I/O layout of the `.tflite` of a channels-first (PyTorch, ONNX) model: `source` (default: NCHW "
                    "as the model, one TRANSPOSE at each image input and output) or `nhwc` (channels-last I/O, no "
                    "TRANSPOSE at all); calibration and evaluation data stay in the model's layout either way "
                    "([layouts](sources.md#layouts)). Keras, SavedModel and `.tflite` sources are NHWC already")
OPTIONS = (*OPTIONS, LAYOUT)
# Constructor keyword -> the shared export option it reads.
READS: dict[str, str] = {}
