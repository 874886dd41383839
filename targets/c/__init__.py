"""Standalone C: an int8 model compiled to plain C99 calling TFLM's reference kernels or
CMSIS-NN, no interpreter, one static arena."""

from __future__ import annotations

from targets.base import Format
from targets.c.options import OPTIONS

FORMAT = Format(
    name="c",
    title="standalone C (no interpreter)",
    target="targets.c.exporter:CTarget",
    runner="targets.c.runner:CRunner",
    variants=lambda: [("portable", {})],
    options=OPTIONS,
    uses=("c_name", "section"),  # declared with the TFLM sources' options, same meaning
    color="#009e73",
    flatbuffer="targets.c.runner:model_bytes",
    device_ram="targets.c.runner:device_ram",
    devices="targets.c.qemu_runner:devices",  # validate --on qemu-m4 ...: the C cross-built, run under QEMU
    # validate --on keeps the build's flash, RAM and instructions; simulate --device reads them
    keep_measurement="targets.tflm.fwmeasure:keep_measurement",
    device_measurement="targets.tflm.memory:device_measurement",
)
