"""Find layers whose deserialization would run Python code stored in a model file.

Keras' own safe mode covers `.keras` files in Keras 3 but not every legacy HDF5 path, so
edgekit reads the architecture JSON itself before any framework sees the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from edgekit.errors import UnsafeModelError

# Layer classes that carry marshalled Python bytecode or arbitrary callables.
CODE_LAYERS = frozenset({"Lambda", "TFOpLambda", "SlicingOpLambda"})
# TFOpLambda/SlicingOpLambda name a TF op, not bytecode: they are safe.
_SAFE_OP_LAMBDAS = frozenset({"TFOpLambda", "SlicingOpLambda"})


def _walk(node) -> Iterator[dict]:
    if isinstance(node, dict):
        if "class_name" in node and isinstance(node.get("config"), dict):
            yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def code_layers(config: str | bytes | dict) -> list[str]:
    """Names of the layers in a Keras architecture config that embed Python code."""
    if isinstance(config, (str, bytes)):
        config = json.loads(config)
    found = []
    for node in _walk(config):
        cls = node["class_name"]
        if cls in CODE_LAYERS and cls not in _SAFE_OP_LAMBDAS:
            found.append(str(node["config"].get("name", cls)))
    return found


def refuse_code_layers(config, path, unsafe: bool) -> None:
    """Raise unless the config is free of code-carrying layers or the user allowed them."""
    if unsafe:
        return
    names = code_layers(config)
    if names:
        shown = ", ".join(repr(n) for n in names[:5]) + (" ..." if len(names) > 5 else "")
        raise UnsafeModelError(
            f"{path}: Lambda layer(s) {shown} hold Python code that would run while loading; "
            "refused. Pass --unsafe only if you trust where the file came from."
        )
