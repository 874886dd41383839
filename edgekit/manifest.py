"""manifest.json: the machine-readable record of a build directory."""

from __future__ import annotations

import json
import time
from importlib import metadata
from pathlib import Path

import edgekit
from edgekit import jsontext

MANIFEST = "manifest.json"
# Distributions whose versions decide the bytes of an artifact.
_TOOLS = ("tensorflow", "tensorflow-cpu", "keras", "tf-keras", "ai-edge-litert", "numpy")


def tool_versions() -> dict[str, str]:
    out = {"edgekit": edgekit.__version__}
    for name in _TOOLS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def write_manifest(stage: Path, final: Path, *, source: dict, options: dict, artifacts, warnings) -> dict:
    """Write ``manifest.json`` into ``stage``; artifact paths are relative to the build dir.

    ``created`` is the only field that differs between two identical runs.
    """
    manifest = {
        "edgekit_manifest": 1,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_dir": str(final),
        "source": source,
        "options": options,
        "artifacts": [a.to_json(stage) for a in artifacts],
        "warnings": list(warnings),
        "tools": tool_versions(),
    }
    (stage / MANIFEST).write_text(jsontext.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def read_manifest(build_dir: Path) -> dict:
    """The manifest of a build directory (for validate/simulate/report)."""
    from edgekit.errors import ModelFileError
    from edgekit.files import read_bounded

    path = Path(build_dir) / MANIFEST
    try:
        return json.loads(read_bounded(path, "build manifest", error=ModelFileError))
    except FileNotFoundError:
        raise ModelFileError(f"{build_dir}: no {MANIFEST}; is it an edgekit build directory?") from None
    except (OSError, ValueError) as e:
        raise ModelFileError(f"{path}: unreadable manifest ({e})") from e


def build_artifacts(build_dir: Path, manifest: dict | None = None) -> list:
    """The Artifacts a build's manifest lists, every entry checked: a damaged manifest is
    one error naming it, and no artifact may lie outside the build directory."""
    from targets.base import Artifact

    build_dir = Path(build_dir)
    manifest = read_manifest(build_dir) if manifest is None else manifest
    try:
        artifacts = [Artifact.from_json(e, build_dir) for e in manifest["artifacts"]]
        inside = build_dir.resolve()
        for a in artifacts:
            if not all((a.directory / f).resolve().is_relative_to(inside) for f in a.files):
                raise ValueError(f"{a.target}/{a.scheme} lists files outside the build directory")
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        raise damaged_manifest(build_dir, e) from e
    return artifacts


def damaged_manifest(build_dir: Path, e: Exception):
    """The error for a manifest whose entries are missing or of the wrong type."""
    from edgekit.errors import ModelFileError

    return ModelFileError(f"{Path(build_dir) / MANIFEST}: damaged manifest ({type(e).__name__}: {e}); re-export the build")
