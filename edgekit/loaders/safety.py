"""Refuse Keras architecture configs whose deserialization would run code from the file.

Keras' own safe mode covers Lambda bytecode in `.keras` files, but not every path by which a
config makes a framework run or import something: tf_keras' TFOpLambda calls any TensorFlow
API function the file names (eagerly, with constant arguments from the file), and both Keras
versions import the ``module`` an object names. edgekit reads the JSON itself, before any
framework sees the file, and lets through only what ordinary models are made of.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator
from functools import lru_cache

from edgekit.errors import ModelFileError, UnsafeModelError

# Layers holding marshalled Python bytecode.
CODE_LAYERS = frozenset({"Lambda"})
# Layers that load another model or wrap foreign code given in their config, and tf_keras'
# method/property layers, which call whatever method of whatever TF class the file names.
FOREIGN_LAYERS = frozenset({"TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer",
                            "ClassMethod", "InstanceMethod", "InstanceProperty"})  # fmt: skip
# Layers that call the TensorFlow API function named in their ``function`` field.
OP_LAYERS = frozenset({"TFOpLambda", "SlicingOpLambda"})
# The public Keras namespaces a config's ``module`` may name: model building blocks only
# (not keras.utils, keras.saving, keras.config, ...).
KERAS_NAMESPACES = frozenset({"layers", "initializers", "regularizers", "constraints", "activations",
                              "losses", "metrics", "optimizers", "dtype_policies", "mixed_precision",
                              "quantizers", "models"})  # fmt: skip
KERAS_TOP_LEVEL = frozenset({"DTypePolicy", "FloatDTypePolicy", "Sequential", "Model", "Functional"})
# Keras 3 serializes these by their private module path.
KERAS_PRIVATE_MODULES = frozenset({"keras.src.models.functional", "keras.src.models.sequential",
                                   "keras.src.models.model", "keras.src.ops.numpy", "keras.src.ops.math",
                                   "keras.src.ops.nn", "keras.src.ops.image", "keras.src.ops.linalg",
                                   "keras.src.ops.core"})  # fmt: skip
# TensorFlow modules of pure math and array functions: a TFOpLambda may name a TF API
# function defined in one of them (TF's own registry tells where each name is defined).
TF_OP_MODULES = frozenset(
    "tensorflow.python.ops." + m
    for m in ("math_ops", "gen_math_ops", "array_ops", "gen_array_ops", "array_ops_stack", "nn_ops",
              "gen_nn_ops", "nn_impl", "nn_impl_distribute", "clip_ops", "special_math_ops",
              "gen_special_math_ops", "tensor_getitem_override", "linalg_ops", "gen_linalg_ops",
              "linalg.linalg_impl", "bitwise_ops", "gen_bitwise_ops", "image_ops_impl", "sort_ops",
              "signal.fft_ops", "gen_spectral_ops", "manip_ops", "embedding_ops")
)  # fmt: skip


def parse_config(text: str | bytes, path, what: str) -> dict:
    """The architecture JSON as a dict, or a one-line ModelFileError naming ``what``."""
    try:
        config = json.loads(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        config = None
    if not isinstance(config, dict):
        raise ModelFileError(f"{path}: {what} is not JSON describing a model; re-save the model with model.save()")
    return config


def _walk(root) -> Iterator[tuple[dict, str | None]]:
    """Every object config (a dict with ``class_name``) and the name of the layer it is in."""
    todo = [(root, None)]  # iterative: a hostile file may nest deeper than Python's stack
    while todo:
        node, layer = todo.pop()
        if isinstance(node, dict):
            if "class_name" in node:
                inner = node.get("config")
                if isinstance(inner, dict) and isinstance(inner.get("name"), str) and layer is None:
                    layer = inner["name"]
                yield node, layer
            todo.extend((value, layer if key != "layers" else None) for key, value in node.items())
        elif isinstance(node, list):
            todo.extend((value, layer) for value in node)


def tf_function_allowed(name) -> bool:
    """Whether a TFOpLambda may call TensorFlow API function ``name`` (e.g. ``math.add``)."""
    # raw ops include ImmutableConst, which memory-maps a file
    return isinstance(name, str) and "raw_ops" not in name.split(".") and _math_or_array_function(name)


@lru_cache(maxsize=1024)
def _math_or_array_function(name: str) -> bool:
    from tensorflow.python.util import tf_export

    symbol = tf_export.get_symbol_from_name(name)
    return callable(symbol) and getattr(symbol, "__module__", None) in TF_OP_MODULES


def module_allowed(module, name, cls=None) -> bool:
    """Whether an object config may name ``module`` (Keras imports it to find ``name``)."""
    if module == "builtins":
        # Keras looks a function's name up in its own activations, losses...; tf_keras falls
        # back to Python's builtins module (eval, exec, open) when that finds nothing.
        return cls == "function" and isinstance(name, str) and not hasattr(builtins, name)
    if not isinstance(module, str) or not isinstance(name, str):
        return False
    package, _, rest = module.partition(".")
    if package not in ("keras", "tf_keras"):
        return False
    if not rest:
        return name in KERAS_TOP_LEVEL
    if module.startswith("keras.src."):
        return module in KERAS_PRIVATE_MODULES
    namespace = rest.split(".")[0]
    if namespace == "models":  # not keras.models.load_model, model_from_json, clone_model...
        return name in KERAS_TOP_LEVEL
    return namespace in KERAS_NAMESPACES


def problems(config: dict) -> list[tuple[str | None, str]]:
    """(layer name, what) for everything in a Keras config that would run or import code."""
    found = []
    for node, layer in _walk(config):
        cls, inner, module = node["class_name"], node.get("config"), node.get("module")
        if not isinstance(cls, str):
            continue  # not an object config Keras can resolve: it fails on it with its own error
        name = inner if cls == "function" else node.get("spec_name", cls)
        name = name if isinstance(name, str) else None
        if cls in CODE_LAYERS or cls == "__lambda__" or name in CODE_LAYERS:
            found.append((layer, "holds Python code (Lambda)"))
        elif cls in FOREIGN_LAYERS or name in FOREIGN_LAYERS:
            found.append((layer, f"is a {name}, which loads or calls code named in the file"))
        elif cls in OP_LAYERS:
            fn = inner.get("function") if isinstance(inner, dict) else None
            if not tf_function_allowed(fn):
                found.append((layer, f"calls TensorFlow function tf.{fn}, which is not a math or array op"))
        # A null module names a custom object: Keras looks it up among registered ones only.
        if module is not None and not module_allowed(module, name, cls):
            found.append((layer, f"names {module}.{name} (module {module!r} is not one of Keras' "
                                 "model building blocks)"))  # fmt: skip
    return found


def check_keras_config(config: str | bytes | dict, path, unsafe: bool, what: str = "model_config") -> dict:
    """The parsed config; UnsafeModelError unless it is free of code or the user allowed it."""
    if not isinstance(config, dict):
        config = parse_config(config, path, what)
    if unsafe:
        return config
    found = problems(config)
    if found and all(text.endswith("(Lambda)") for _, text in found):
        names = [repr(layer or "?") for layer, _ in found]
        shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
        raise UnsafeModelError(
            f"{path}: Lambda layer(s) {shown} hold Python code that would run while loading; "
            "refused. Pass --unsafe only if you trust where the file came from."
        )
    if found:
        layer, text = found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise UnsafeModelError(
            f"{path}: {f'layer {layer!r}' if layer else 'the model'} {text}{more}; refused, loading it "
            "could run code from the file. Pass --unsafe only if you trust where the file came from."
        )
    return config
