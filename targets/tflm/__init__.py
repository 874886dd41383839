"""TensorFlow Lite for Microcontrollers: the model as C sources, run in the TFLM interpreter."""

from __future__ import annotations

from targets.base import Format
from targets.tflm.options import OPTIONS, READS

FORMAT = Format(
    name="tflm",
    title="TFLite Micro C/C++ sources",
    target="targets.tflm.fwtarget:FirmwareTFLMTarget",  # TFLMTarget + the --firmware options
    runner="targets.tflm.runner:TFLMRunner",
    variants=lambda: [("reference", {})],
    options=OPTIONS,
    reads=READS,
    uses=("per_channel", "float_layers", "calib_range", "layout"),  # the TFLite converter's, which makes the model
    color="#e69f00",
    compares_with="tflite",  # the sources hold a TFLite flatbuffer
    flatbuffer="targets.tflm.runner:model_bytes",
    device_ram="targets.tflm.memory:device_ram",
    device_measurement="targets.tflm.memory:device_measurement",
    devices="targets.tflm.boards:devices",
)
