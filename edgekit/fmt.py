"""Formatting shared by the terminal tables."""

from __future__ import annotations


def fmt_bytes(n: int) -> str:
    """Human-readable size with binary units (KiB = 1024 bytes)."""
    if n < 1024:
        return f"{n} B"
    if n < 1024**2:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024**2:.2f} MiB"


def fmt_ms(ms: float) -> str:
    """A duration in milliseconds with 3 significant digits (µs below 1 ms)."""
    if ms < 1:
        return f"{ms * 1e3:.3g} µs"
    return f"{ms:.3g} ms" if ms < 1000 else f"{ms / 1e3:.3g} s"


def short_layer(name: str, width: int = 34) -> str:
    """A TFLite tensor name cut to the layer it names: the first of fused names, last two path parts."""
    name = "/".join(name.split(";")[0].split("/")[-2:])
    return name if len(name) <= width else "…" + name[-width + 1 :]
