"""What one TFLite conversion produced (TFLiteConverter, or AI Edge Quantizer on a float .tflite)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Conversion:
    """One TFLite conversion: the flatbuffer and how many calibration samples it used."""

    data: bytes
    calibration_used: int
    # Set when a quantizer other than TFLiteConverter made it (AI Edge Quantizer on a float
    # .tflite, targets.tflite.post_quantize): what it did, in words, and its manifest record.
    quantizer: str | None = None
    record: dict | None = field(default=None, compare=False)
