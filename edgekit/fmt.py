"""Formatting shared by the terminal tables."""

from __future__ import annotations

import re


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


# C0/C1 controls (ESC starts ANSI sequences; CR and BEL rewrite or ring the terminal) and the
# bidirectional overrides that reorder what a reader sees.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``), safe for a terminal."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}", str(text))


def safe(text) -> str:
    """Text that came from a file, ready for a rich console: controls escaped, markup (``[/]``) literal."""
    from rich.markup import escape

    return escape(printable(text))
