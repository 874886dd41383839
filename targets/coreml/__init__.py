"""Core ML packages (.mlpackage): converted with coremltools, run in Core ML or edgekit's MIL interpreter."""

from __future__ import annotations

from targets.base import Format
from targets.coreml.options import OPTIONS, READS


def _variants() -> list[tuple[str, dict]]:
    from targets.coreml.runner import runtime_available

    # Off macOS the runner is edgekit's NumPy interpreter: its time is not Core ML's.
    return [("core ml cpu" if runtime_available() else "numpy interpreter (not core ml)", {})]


FORMAT = Format(
    name="coreml",
    title="Core ML package (.mlpackage)",
    target="targets.coreml.exporter:CoreMLTarget",
    runner="targets.coreml.runner:CoreMLRunner",
    variants=_variants,
    suffixes=(".mlpackage",),
    directory=True,
    inspect="targets.coreml.inspect:file_report",
    options=OPTIONS,
    reads=READS,
    uses=("labels",),  # class labels of a classifier package
    color="#cc79a7",
    host_only={"int8": "macOS"},  # activation calibration needs the Core ML runtime
)
