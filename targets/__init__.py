"""Output formats. One module per target; the registry below is the only list of them."""

from __future__ import annotations

from importlib import import_module

from edgekit.errors import OptionError

# name -> "module:Class". Adding a target is adding a module and one line here.
_REGISTRY = {
    "tflite": "targets.tflite:TFLiteTarget",
    "tflm": "targets.tflm:TFLMTarget",
    "openvino": "targets.openvino:OpenVINOTarget",
    "coreml": "targets.coreml:CoreMLTarget",
}


def target_names() -> list[str]:
    return list(_REGISTRY)


def get_target(name: str, **options):
    """An instance of the target called ``name``, with its target-specific options."""
    if name not in _REGISTRY:
        raise OptionError(f"--target: unknown target '{name}'; choose from {', '.join(_REGISTRY)}")
    module, cls = _REGISTRY[name].split(":")
    return getattr(import_module(module), cls)(**options)
