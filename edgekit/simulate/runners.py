"""Which runtime runs which artifact."""

from __future__ import annotations

from edgekit.errors import UnsupportedError

# target name -> "module:Class" of its Runner; each target issue adds its runtime here.
_RUNNERS = {
    "tflite": "edgekit.simulate.litert:LiteRTRunner",
    "tflm": "edgekit.simulate.tflm:TFLMRunner",
}


def runner_for(artifact):
    """A loaded Runner for ``artifact``."""
    from importlib import import_module

    spec = _RUNNERS.get(artifact.target)
    if spec is None:
        raise UnsupportedError(f"no runtime on this host runs {artifact.target} artifacts")
    module, cls = spec.split(":")
    runner = getattr(import_module(module), cls)()
    runner.load(artifact)
    return runner
