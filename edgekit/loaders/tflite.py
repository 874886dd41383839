"""``.tflite`` files as sources: for re-emission, inspection and re-quantization.

The flatbuffer is read and checked with TFLiteGraph before LiteRT's native code sees it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.tflite_graph import TFLiteGraph


class TFLiteBackend:
    kind = "tflite"

    def __init__(self, path: Path):
        from edgekit.runtime.litert import LiteRTRunner

        self.graph = TFLiteGraph.from_file(path)
        self.runner = LiteRTRunner()
        self.runner.load(self.graph.data, str(path))
        self.inputs = self.runner.inputs
        self.outputs = self.runner.outputs

    def predict(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        return self.runner.run(arrays)

    def tflite_bytes(self) -> bytes:
        return self.graph.data


def load_tflite(path: Path, *, batch: int, input_shapes: dict, signature, unsafe: bool):
    """Load a .tflite file (its shapes are fixed by the file; --batch does not apply)."""
    return TFLiteBackend(path)
