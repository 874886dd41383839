"""Output formats. One module per target; the registry below is the only list of them."""

from __future__ import annotations

import difflib
from importlib import import_module

from edgekit.errors import OptionError

# name -> "module:Class". Adding a target is adding a module and one line here.
_REGISTRY = {
    "tflite": "targets.tflite.exporter:TFLiteTarget",
    "tflm": "targets.tflm.exporter:TFLMTarget",
    "openvino": "targets.openvino.exporter:OpenVINOTarget",
    "coreml": "targets.coreml.exporter:CoreMLTarget",
}


def target_names() -> list[str]:
    return list(_REGISTRY)


def check_target_names(names, option: str = "--target") -> tuple[str, ...]:
    """``names`` checked against the registry: none, an empty or an unknown name is an OptionError."""
    names = tuple(names)
    known = ", ".join(_REGISTRY)
    if not names:
        raise OptionError(f"{option}: no target given; choose from {known}")
    for name in names:
        if not name:
            raise OptionError(f"{option} '{','.join(names)}': an empty target name; choose from {known}")
        if name not in _REGISTRY:
            close = difflib.get_close_matches(name, _REGISTRY, 1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise OptionError(f"{option}: unknown target '{name}'; {hint}choose from {known}")
    return names


def parse_target_list(text: str, option: str) -> tuple[str, ...]:
    """A comma-separated list of target names, every one checked."""
    return check_target_names((t.strip() for t in text.split(",")), option)


def select_targets(artifacts: list, names, build_dir, option: str = "--targets") -> list:
    """The artifacts of the targets ``names``; an unknown target, or one the build does not
    have, is an OptionError rather than silently validating less."""
    names = check_target_names(names, option)
    have = sorted({a.target for a in artifacts})
    missing = [n for n in names if n not in have]
    if missing:
        raise OptionError(f"{option} {','.join(names)}: {build_dir} has no {', '.join(missing)} artifacts "
                          f"(it has {', '.join(have) or 'none'})")  # fmt: skip
    return [a for a in artifacts if a.target in names]


def get_target(name: str, **options):
    """An instance of the target called ``name``, with its target-specific options."""
    if name not in _REGISTRY:
        raise OptionError(f"--target: unknown target '{name}'; choose from {', '.join(_REGISTRY)}")
    module, cls = _REGISTRY[name].split(":")
    return getattr(import_module(module), cls)(**options)
