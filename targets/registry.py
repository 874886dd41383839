"""The list of formats. Adding a format is adding its package under targets/ and one line here."""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module

# Packages exposing FORMAT, in the order tables, builds and reports list them.
PACKAGES: tuple[str, ...] = (
    "targets.tflite",
    "targets.tflm",
    "targets.openvino",
    "targets.coreml",
    "targets.c",
)


def formats() -> dict:
    """name -> Format of every registered format."""
    return _load(PACKAGES)


@lru_cache(maxsize=4)
def _load(packages: tuple[str, ...]) -> dict:
    found = {}
    for package in packages:
        fmt = import_module(package).FORMAT
        found[fmt.name] = fmt
    return found
