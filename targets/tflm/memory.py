"""RAM a TFLite flatbuffer needs under TFLite Micro on a 32-bit microcontroller."""

from __future__ import annotations

from edgekit.tflite_graph import TFLiteGraph


def device_ram(artifact, data: bytes) -> tuple[int, str] | None:
    """(32-bit arena with margin, where the figure came from) for the flatbuffer ``data`` of
    ``artifact``; None when TFLM cannot run it (no arena to size)."""
    measured = artifact.runner_metadata.arena_size_32bit
    if measured:
        return measured, "tflm target measurement"
    from targets.tflm.exporter import default_margin
    from targets.tflm.ops import problems
    from targets.tflm.runner import measure_arena

    if problems(TFLiteGraph(data, artifact.files[0])):
        return None
    m = measure_arena(data, artifact.files[0])
    return m.nonpersistent + m.persistent32 + default_margin(m.required), "measured now with the TFLM interpreter"
