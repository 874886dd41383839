"""Model loaders, chosen by file type. Each returns a Backend for ``edgekit.model``."""

from __future__ import annotations

from pathlib import Path

from edgekit.errors import ModelFileError


def pick_loader(path: Path):
    """The loader function for ``path``, or a ModelFileError saying what is accepted."""
    if path.is_dir():
        if (path / "saved_model.pb").exists() or (path / "saved_model.pbtxt").exists():
            from edgekit.loaders.saved_model import load_saved_model

            return load_saved_model
        raise ModelFileError(
            f"{path}: a directory without saved_model.pb is not a TensorFlow SavedModel"
        )
    suffix = path.suffix.lower()
    if suffix in (".keras", ".h5", ".hdf5"):
        from edgekit.loaders.keras import load_keras

        return load_keras
    if suffix == ".onnx":
        from edgekit.loaders.onnx import load_onnx

        return load_onnx
    if suffix == ".tflite":
        from edgekit.loaders.tflite import load_tflite

        return load_tflite
    if suffix == ".pt2":
        from edgekit.loaders.torch import load_pt2

        return load_pt2
    if suffix in (".pt", ".pth"):
        from edgekit.loaders.torch import load_pickled

        return load_pickled
    raise ModelFileError(
        f"{path}: unknown model type '{suffix or path.name}'; give a .keras, .h5, .tflite, .onnx, .pt2 file "
        "or a SavedModel directory"
    )
