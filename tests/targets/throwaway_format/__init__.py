"""A throwaway fifth format for tests/targets/test_registry.py: the float32 TFLite flatbuffer under
another name (.lite), run in LiteRT. It proves a format is one package plus one registry
line: nothing outside this folder names it."""

from __future__ import annotations

from targets.base import Format

FORMAT = Format(
    name="lite",
    title="renamed float TFLite (test format)",
    target="tests.targets.throwaway_format.exporter:LiteTarget",
    runner="edgekit.runtime.litert:LiteRTRunner",
    suffixes=(".lite",),
    color="#123456",
)
