"""Which runtime runs which artifact."""

from __future__ import annotations

from edgekit.errors import UnsupportedError

# target name -> "module:Class" of its Runner; each target issue adds its runtime here.
_RUNNERS = {
    "tflite": "edgekit.runtime.litert:LiteRTRunner",
    "tflm": "targets.tflm.runner:TFLMRunner",
    "openvino": "targets.openvino.runner:OpenVINORunner",
    "coreml": "targets.coreml.runner:CoreMLRunner",
}


def runner_for(artifact, **options):
    """A loaded Runner for ``artifact``. ``options`` go to the runners that take them:
    ``workers`` (TFLM: processes running samples in parallel), ``kernels`` (LiteRT)."""
    import inspect
    from importlib import import_module

    spec = _RUNNERS.get(artifact.target)
    if spec is None:
        raise UnsupportedError(f"no runtime on this host runs {artifact.target} artifacts")
    module, name = spec.split(":")
    cls = getattr(import_module(module), name)
    accepted = inspect.signature(cls).parameters
    runner = cls(**{k: v for k, v in options.items() if k in accepted and v is not None})
    runner.load(artifact)
    return runner
