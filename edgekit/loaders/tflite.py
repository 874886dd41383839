"""``.tflite`` files as sources: for re-emission, inspection and re-quantization.

The flatbuffer is read and checked with TFLiteGraph before LiteRT's native code sees it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.tflite_graph import TFLiteGraph


def _image(t):
    """TFLite images are NHWC, except I/O a converter kept channels first (a PyTorch or ONNX
    model converted without moving its layout): 1 or 3 channels at axis 1 and more than 4 at axis 3."""
    from dataclasses import replace

    from edgekit.tensors import image_layout

    first = len(t.shape) == 4 and t.shape[1] in (1, 3) and t.shape[3] > 4
    return replace(t, layout=image_layout(t.shape, channels_first=first))


class TFLiteBackend:
    kind = "tflite"

    def __init__(self, path: Path):
        from edgekit.runtime.litert import LiteRTRunner

        self.graph = TFLiteGraph.from_file(path)
        self.runner = LiteRTRunner()
        self.runner.load(self.graph.data, str(path))
        self.inputs = tuple(_image(t) for t in self.runner.inputs)
        self.outputs = tuple(_image(t) for t in self.runner.outputs)

    def predict(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        return self.runner.run(arrays)

    def tflite_bytes(self) -> bytes:
        return self.graph.data


def load_tflite(path: Path, *, batch: int, input_shapes: dict, signature, unsafe: bool):
    """Load a .tflite file (its shapes are fixed by the file; --batch does not apply)."""
    return TFLiteBackend(path)
