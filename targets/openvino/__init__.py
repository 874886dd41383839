"""OpenVINO IR (.xml + .bin): converted with openvino.convert_model, compressed with NNCF, run on the CPU."""

from __future__ import annotations

import os

from targets.base import Format
from targets.openvino.options import OPTIONS, READS


def _variants() -> list[tuple[str, dict]]:
    cores = os.cpu_count() or 1
    return [("cpu 1t", {"num_threads": 1}), (f"cpu {cores}t", {"num_threads": cores})]


FORMAT = Format(
    name="openvino",
    title="OpenVINO IR (.xml + .bin)",
    target="targets.openvino.exporter:OpenVINOTarget",
    runner="targets.openvino.runner:OpenVINORunner",
    variants=_variants,
    suffixes=(".xml",),
    companions=(".bin",),
    inspect="targets.openvino.inspect:file_report",
    options=OPTIONS,
    reads=READS,
    uses=("calib_range",),  # int8 activation ranges through NNCF's estimators (exporter._advanced)
    color="#009e73",
)
