"""The JSON edgekit writes (manifests, results, ``--json`` output): always standard JSON.

Python's json module writes ``NaN`` and ``Infinity``, which most JSON parsers reject. A
metric without a finite value (the SNR of a bit-exact artifact, the AUC of a set without
positives) is written as ``null`` instead.
"""

from __future__ import annotations

import json
import math


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def dumps(value, **kwargs) -> str:
    """``json.dumps`` that writes non-finite floats as null and never emits NaN/Infinity."""
    return json.dumps(_finite(value), allow_nan=False, **kwargs)
