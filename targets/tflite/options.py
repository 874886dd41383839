"""Options of the TFLite converter (TFLite Micro converts through it too)."""

from __future__ import annotations

from edgekit.options import Option
from quantize.spec import PER_CHANNEL

# Both go into the QuantSpec, not the target's constructor (no ``arg``).
OPTIONS: tuple[Option, ...] = (
    Option("per_channel", ("--per-channel",), default="conv", choices=PER_CHANNEL,
           help="Per-channel weight scales for conv layers (default), all layers, or none."),
    Option("float_layers", ("--float-layers",), default=(), comma_list=True,
           help="int8: keep these layers float (names from the per-layer report, comma-separated)."),
)
# Constructor keyword -> the shared export option it reads.
READS: dict[str, str] = {}
