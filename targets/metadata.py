"""The entries of ``Artifact.metadata`` that runners, the memory check and the report read,
typed in one place (the manifest keeps its plain ``metadata`` table; this only reads it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunnerMetadata:
    model_bytes: int | None = None  # bytes that go onto the device (TFLM: the model array)
    arena_size: int | None = None  # TFLM tensor arena with margin, as measured on the 64-bit host
    arena_size_32bit: int | None = None  # the same for a 32-bit target (what an MCU needs)
    ops: tuple[str, ...] = ()  # op names (TFLM: its resolver; others: their op histogram)
    calibration_samples: int | None = None  # samples the quantization was calibrated on
    tflite_sha256: str | None = None  # C sources of a TFLite flatbuffer (TFLM): that flatbuffer

    @classmethod
    def from_json(cls, meta: dict) -> RunnerMetadata:
        """Read from an artifact's metadata; absent entries stay None (wrong types raise
        TypeError/ValueError, a damaged manifest)."""
        arena = meta.get("arena") or {}
        cal = meta.get("calibration") or {}
        return cls(_int(meta.get("model_bytes")), _int(arena.get("size")), _int(arena.get("size_32bit")),
                   tuple(meta.get("ops") or ()), _int(cal.get("samples")), meta.get("tflite_sha256"))  # fmt: skip


def _int(value) -> int | None:
    return None if value is None else int(value)
