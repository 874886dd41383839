"""TFLite / LiteRT flatbuffers: converted with TensorFlow's TFLiteConverter, run in LiteRT."""

from __future__ import annotations

import os

from targets.base import Format
from targets.tflite.options import OPTIONS, READS


def _variants() -> list[tuple[str, dict]]:
    cores = os.cpu_count() or 1
    return [("xnnpack 1t", {"kernels": "xnnpack", "num_threads": 1}),
            (f"xnnpack {cores}t", {"kernels": "xnnpack", "num_threads": cores}),
            ("no xnnpack 1t", {"kernels": "builtin", "num_threads": 1})]  # fmt: skip


def flatbuffer(artifact) -> bytes:
    """A .tflite artifact is its own flatbuffer."""
    return artifact.primary.read_bytes()


FORMAT = Format(
    name="tflite",
    title="TFLite / LiteRT flatbuffer (.tflite)",
    target="targets.tflite.exporter:TFLiteTarget",
    # LiteRT lives in edgekit.runtime: it is also the float reference of a .tflite source.
    runner="edgekit.runtime.litert:LiteRTRunner",
    variants=_variants,
    suffixes=(".tflite",),
    inspect="targets.tflite.inspect:file_report",
    options=OPTIONS,
    reads=READS,
    color="#3a86d1",
    flatbuffer="targets.tflite:flatbuffer",
    device_ram="targets.tflm.memory:device_ram",  # what TFLM would need to run this flatbuffer
    layer_report="targets.tflite.layers:diagnose",
    layer_check="targets.tflite.layers:check_source",
)
