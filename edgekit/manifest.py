"""Entries of manifest.json that describe the world outside the build: the tools that made
it and the source model (edgekit.build.BuildDir reads and writes the manifest itself)."""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

import edgekit

# Distributions whose versions decide the bytes of an artifact.
_TOOLS = ("tensorflow", "tensorflow-cpu", "keras", "tf-keras", "ai-edge-litert", "numpy", "onnx", "onnxruntime")


def tool_versions() -> dict[str, str]:
    out = {"edgekit": edgekit.__version__}
    for name in _TOOLS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def source_entry(model: Path, build_dir: Path) -> dict:
    """Where the source model is and what it is: its path relative to the build directory
    (found from any working directory, and still when both move together), sha256 and size."""
    from edgekit.files import sha256_of

    model = Path(model)
    try:
        path = Path(os.path.relpath(model.resolve(), Path(build_dir).resolve())).as_posix()
    except ValueError:  # another drive: no relative path exists
        path = str(model.resolve())
    files = [p for p in model.rglob("*") if p.is_file()] if model.is_dir() else [model]
    return {"path": path, "path_base": "build_dir", "sha256": sha256_of(model), "bytes": sum(p.stat().st_size for p in files)}
