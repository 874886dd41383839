"""The standalone C on the host: compiled with gcc/g++, called through ctypes.

What is compiled is edgekit's own output: the runner regenerates the C from the artifact's
``NAME.tflite`` (a flatbuffer, read with the checked TFLiteGraph) and refuses C files that
differ from it, so no code from a build directory runs that edgekit did not write.
"""

from __future__ import annotations

import ctypes
import tempfile
from pathlib import Path

import numpy as np

from edgekit.errors import ModelFileError
from edgekit.runtime.io import from_runtime, to_runtime
from edgekit.runtime.runner import RunnerBase
from edgekit.tflite_graph import TFLiteGraph


class CRunner(RunnerBase):
    """Runs a c artifact's NAME_invoke, one sample at a time, in this process."""

    name = "c"

    def __init__(self):
        self._tmp = None
        self._lib = None
        self._invoke = None

    def load(self, artifact) -> None:
        self.load_generated(*checked_model(artifact))

    def load_generated(self, model, graph: TFLiteGraph) -> None:
        """Compile and load a targets.c.generate.CModel of ``graph``."""
        from targets.c.hostbuild import shared_library

        self.close()
        self._tmp = tempfile.TemporaryDirectory(prefix="edgekit-c-")
        tmp = Path(self._tmp.name)
        for fname, text in model.files.items():
            (tmp / fname).write_text(text)
        lib = shared_library(tmp / f"{model.name}.c", tmp, kernels=model.metadata()["kernels"])
        self._lib = ctypes.CDLL(str(lib))
        self._invoke = getattr(self._lib, f"{model.name}_invoke")
        self._invoke.restype = ctypes.c_int
        self.inputs = tuple(t.info() for t in graph.inputs)
        self.outputs = tuple(t.info() for t in graph.outputs)
        self._invoke.argtypes = [ctypes.c_void_p] * (len(self.inputs) + len(self.outputs))

    def run_raw(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Stored (int8) outputs for stored inputs, a batch of samples."""
        n = len(inputs[0])
        xs = [np.ascontiguousarray(x).reshape((n, *t.shape)) for x, t in zip(inputs, self.inputs)]
        ys = [np.zeros((n, *t.shape), t.dtype) for t in self.outputs]
        for i in range(n):
            status = self._invoke(*(x[i].ctypes.data for x in xs), *(y[i].ctypes.data for y in ys))
            if status != 0:
                raise ModelFileError(f"{self._invoke.__name__} returned {status}")
        return [y.reshape((n, *t.shape[1:])) if t.shape and t.shape[0] == 1 else y for y, t in zip(ys, self.outputs)]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        stored = [to_runtime(x, t) for x, t in zip(inputs, self.inputs)]
        return [from_runtime(y, t) for y, t in zip(self.run_raw(stored), self.outputs)]

    def close(self) -> None:
        self._invoke = None
        self._lib = None  # ctypes never unloads; the library file may go (the mapping stays)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def checked_model(artifact):
    """(the targets.c.generate.CModel, its TFLiteGraph) of a c artifact, regenerated from its
    NAME.tflite; a ModelFileError when the artifact's C files differ from it."""
    from targets.c.generate import generate

    meta = artifact.metadata
    name = meta.get("c_name")
    if not isinstance(name, str) or not name.isidentifier():
        raise ModelFileError(f"{artifact.directory}: the c artifact's manifest entry has no valid c_name; re-export")
    tflite = artifact.directory / f"{name}.tflite"
    try:
        data = tflite.read_bytes()
    except OSError as e:
        raise ModelFileError(f"{tflite}: cannot read ({e.strerror}); re-export the build") from e
    model = generate(data, name=name, model_name=str(meta.get("model_name", tflite.name)), section=meta.get("section"),
                     kernels=str(meta.get("kernels", "portable")))  # fmt: skip
    for fname, text in model.files.items():
        path = artifact.directory / fname
        if not path.is_file() or path.read_text(errors="replace") != text:
            raise ModelFileError(f"{path}: differs from the C edgekit generates from {tflite.name} (edited?); "
                                 "re-export the build, or build your edited C yourself")  # fmt: skip
    return model, TFLiteGraph(data, str(tflite))


def model_bytes(artifact) -> bytes | None:
    """The .tflite the C was generated from (for the device cost model)."""
    name = artifact.metadata.get("c_name")
    path = artifact.directory / f"{name}.tflite"
    return path.read_bytes() if isinstance(name, str) and path.is_file() else None


def device_ram(artifact, data: bytes) -> tuple[int, str] | None:
    """RAM for tensors on the device: the planned arena, inputs and outputs included (as
    TFLM's arena holds them)."""
    meta = artifact.metadata
    try:
        return int(meta["plan"]["arena"]), "c target plan (exact)"
    except (KeyError, TypeError, ValueError):
        return None
