"""Run Core ML packages: coremltools' ``predict`` where the Core ML runtime exists (macOS),
edgekit's NumPy interpreter of the saved ML Program everywhere else. Float in, float out."""

from __future__ import annotations

import sys

from pathlib import Path

import numpy as np

from targets.coreml.mil_interpreter import MILInterpreter
from targets.coreml.mil_program import MILProgram
from edgekit.tensors import TensorInfo
from edgekit.runtime.runner import RunnerBase


# Samples per interpreter call in batched mode: keeps the float64 conv accumulators small.
_BATCH_CAP = 32


class CoreMLRunner(RunnerBase):
    """Inputs are NHWC floats as the source model takes them (after edgekit's preprocessing);
    an image-input package gets them turned back into pixels (``(x - bias) / scale``, NCHW)."""

    name = "coreml"

    def __init__(self, use_runtime: bool | None = None):
        from targets.coreml.mil_program import _proto

        self.use_runtime = runtime_available() if use_runtime is None else use_runtime
        _proto()  # coremltools' protobuf bindings import coremltools (seconds): not part of "load"

    def load(self, artifact) -> None:
        """Load for validation: an op the interpreter lacks raises CannotSimulate here."""
        self.load_path(artifact.primary, artifact.metadata)
        if not self.use_runtime:
            self.interpreter.check()

    def load_path(self, path: Path, metadata: dict | None = None) -> None:

        self.path = Path(path)
        self.program = MILProgram(path)
        self.interpreter = MILInterpreter(self.program)

        desc = self.program.spec.description
        self._feature_names = [f.name for f in desc.input]
        # Image inputs: the program takes NCHW pixels and applies scale/bias itself; edgekit
        # feeds NHWC preprocessed floats, turned back into pixels with the export's scale/bias.
        is_image = any(f.type.WhichOneof("Type") == "imageType" for f in desc.input)
        self.image = (metadata or {}).get("image_input", {"scale": 1.0, "bias": [0.0]}) if is_image else None
        self.inputs = image_infos(desc.input) if is_image else tuple(
            TensorInfo(n, v.shape, "float32") for n, v in zip(self._feature_names, self.program.inputs))  # fmt: skip
        out_vars = [self.program.vars[n] for n in self.program.output_names]
        if self.program.is_classifier:  # the probabilities the classify op reads
            cls = next(op for op in self.program.ops if op.type == "classify")
            out_vars = [self.program.vars[cls.inputs["probabilities"].arguments[0].name]]
            self._prob_name = out_vars[0].name
            self._classes = list(self.interpreter.value_of(cls, "classes"))
        names = [desc.predictedProbabilitiesName] if self.program.is_classifier else [f.name for f in desc.output]
        self.outputs = tuple(TensorInfo(n, v.shape or (), "float32") for n, v in zip(names, out_vars))
        self._mlmodel = None
        self._batching: bool | None = None  # whole-batch interpretation: unknown until tried
        if self.use_runtime:
            import coremltools as ct

            # CPU only: the declared precision is honoured (the GPU/Neural Engine may run fp16).
            self._mlmodel = ct.models.MLModel(str(path), compute_units=ct.ComputeUnit.CPU_ONLY)

    def unsupported_ops(self) -> list[str]:
        return [] if self.use_runtime else self.interpreter.unsupported

    def smoke_test(self) -> None:
        self.run([np.zeros(t.shape, np.float32) for t in self.inputs])

    def _feed(self, x: np.ndarray) -> np.ndarray:
        if not self.image:
            return x
        raw = (x - np.asarray(self.image["bias"], np.float32)) / np.float32(self.image["scale"])
        return raw.transpose(0, 3, 1, 2)

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """The interpreter runs up to _BATCH_CAP samples at once where the program allows it
        (checked on first use against runs of the package's own batch); otherwise the fixed
        batch at a time, a short last chunk padded with zeros."""
        n = int(inputs[0].shape[0])
        batch = self.inputs[0].shape[0] if self.inputs[0].shape else 1
        step = batch if self._mlmodel is not None or self._batching is False else max(batch, _BATCH_CAP)
        parts = []
        for i in range(0, n, step):
            chunk = [x[i : i + step] for x in inputs]
            out = self._run_batched(chunk, batch) if len(chunk[0]) > batch and self._batching is not False else None
            parts.append(out if out is not None else self._run_fixed(chunk, batch))
        return [np.concatenate([p[k] for p in parts]) for k in range(len(self.outputs))]

    def _run_fixed(self, inputs: list[np.ndarray], batch: int) -> list[np.ndarray]:
        parts = []
        for i in range(0, int(inputs[0].shape[0]), batch):
            chunk = [x[i : i + batch] for x in inputs]
            short = batch - len(chunk[0])
            if short:
                chunk = [np.concatenate([c, np.zeros((short, *c.shape[1:]), c.dtype)]) for c in chunk]
            parts.append([o[: batch - short] for o in self._run_one(chunk)])
        return [np.concatenate([p[k] for p in parts]) for k in range(len(self.outputs))]

    def _run_batched(self, inputs: list[np.ndarray], batch: int) -> list[np.ndarray] | None:
        n = int(inputs[0].shape[0])
        try:
            out = self._run_one(inputs, rebatch=True)
        except (ValueError, IndexError):  # an op pins the batch (reshape targets, slices, ...)
            out = None
        ok = out is not None and all(o.shape[:1] == (n,) for o in out)
        if ok and self._batching is None:  # first use: the same numbers as one batch at a time
            single = self._run_one([x[:batch] for x in inputs])
            tol = 1e-3 if any(v.dtype == "FLOAT16" for v in self.program.vars.values()) else 1e-5
            ok = all(np.allclose(o[:batch], s, rtol=tol, atol=tol * max(1.0, float(np.abs(s).max())))
                     for o, s in zip(out, single))  # fmt: skip
        self._batching = ok
        return out if ok else None

    def _run_one(self, inputs: list[np.ndarray], rebatch: bool = False) -> list[np.ndarray]:
        arrays = [self._feed(np.asarray(x, np.float32)) for x in inputs]
        if self._mlmodel is not None:
            return self._predict(arrays)
        self.interpreter.check()
        feeds = {v.name: a for v, a in zip(self.program.inputs, arrays)}
        if self.program.is_classifier:
            env = self.interpreter.run(feeds, rebatch)
            return [np.asarray(env[self._prob_name], np.float32)]
        out = self.interpreter.outputs(feeds, rebatch)
        n = len(arrays[0])
        return [np.asarray(o, np.float32).reshape((n, *t.shape[1:]) if t.shape else ()) for o, t in zip(out, self.outputs)]

    def _predict(self, arrays: list[np.ndarray]) -> list[np.ndarray]:  # pragma: no cover - macOS only
        from PIL import Image

        feeds = {}
        for name, a in zip(self._feature_names, arrays):
            if self.image:
                pixels = np.clip(np.round(a[0].transpose(1, 2, 0)), 0, 255).astype(np.uint8)
                feeds[name] = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
            else:
                feeds[name] = a
        result = self._mlmodel.predict(feeds)
        outs = []
        for t in self.outputs:
            value = result[t.name]
            if isinstance(value, dict):  # classifier probabilities: label -> probability, in label order
                value = np.asarray([value[c] for c in self._classes], np.float32)
            outs.append(np.asarray(value, np.float32).reshape(t.shape))
        return outs


def runtime_available() -> bool:
    """Whether the Core ML runtime (and so coremltools' predict) exists on this host."""
    return sys.platform == "darwin"


def image_infos(description) -> tuple[TensorInfo, ...]:
    """TensorInfo (NHWC, float32) of a Core ML description's image features."""
    infos = []
    for f in description:
        im = f.type.imageType
        channels = 1 if im.colorSpace == im.GRAYSCALE else 3
        infos.append(TensorInfo(f.name, (1, int(im.height), int(im.width), channels), "float32"))
    return tuple(infos)
