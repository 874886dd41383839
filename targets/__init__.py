"""Output formats: one package per format, listed in targets/registry.py; lookups by name here."""

from __future__ import annotations

import difflib
from edgekit.errors import OptionError, UnsupportedError
from targets.registry import formats

def target_names() -> list[str]:
    return list(formats())


def check_target_names(names, option: str = "--target") -> tuple[str, ...]:
    """``names`` checked against the registry: none, an empty or an unknown name is an OptionError."""
    names = tuple(names)
    registry = formats()
    known = ", ".join(registry)
    if not names:
        raise OptionError(f"{option}: no target given; choose from {known}")
    for name in names:
        if not name:
            raise OptionError(f"{option} '{','.join(names)}': an empty target name; choose from {known}")
        if name not in registry:
            close = difflib.get_close_matches(name, registry, 1)
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


def get_format(name: str):
    """The Format called ``name``."""
    return formats()[check_target_names((name,))[0]]


def get_target(name: str, **options):
    """An instance of the target called ``name``, with its target-specific options."""
    return get_format(name).make_target(**options)


def format_of(artifact):
    """The Format that made ``artifact``; an error for a build naming a format this edgekit lacks."""
    fmt = formats().get(artifact.target)
    if fmt is None:
        raise UnsupportedError(f"no runtime on this host runs {artifact.target} artifacts")
    return fmt


def runner_for(artifact, **options):
    """A loaded Runner for ``artifact``, taking and returning data in the source model's layout
    (transposed where the artifact's I/O layout differs). ``options`` go to the runners that take them:
    ``workers`` (TFLM: processes running samples in parallel), ``kernels`` (LiteRT), ``num_threads``."""
    from edgekit.runtime.runner import in_source_layout

    runner = format_of(artifact).make_runner(**options)
    runner.load(artifact)
    return in_source_layout(runner, artifact)  # data stay in the source's layout


def device_names() -> list[str]:
    """Every device some format's artifacts run on (``validate --on``), sorted."""
    from targets.base import resolve

    return sorted({d for f in formats().values() if f.devices for d in resolve(f.devices)()})


def device_runner_for(artifact, device: str):
    """A loaded Runner for ``artifact`` on ``device``, or None when its format does not run there."""
    from edgekit.runtime.runner import in_source_layout

    runner = format_of(artifact).device_runner(device)
    if runner is None:
        return None
    runner.load(artifact)
    return in_source_layout(runner, artifact)


def format_for_file(path):
    """The Format a lone model file (or package directory) belongs to, by its suffix, or None."""
    suffix = path.suffix.lower()
    return next((f for f in formats().values() if suffix and suffix in f.suffixes), None)


def size_reference(target: str, float32: dict):
    """The float32 size an artifact of ``target`` compares with: its own format's float32
    artifact, else the one of the format it declares ``compares_with`` (``float32`` maps
    target names to sizes)."""
    fmt = formats().get(target)
    ref = float32.get(target)
    if ref is None and fmt is not None and fmt.compares_with:
        ref = float32.get(fmt.compares_with)
    return ref
