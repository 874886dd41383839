"""manifest.json: the machine-readable record of a build directory."""

from __future__ import annotations

import json
import time
from importlib import metadata
from pathlib import Path

import edgekit

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
    (stage / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def read_manifest(build_dir: Path) -> dict:
    """The manifest of a build directory (for validate/simulate/report)."""
    from edgekit.errors import ModelFileError

    path = Path(build_dir) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{build_dir}: no {MANIFEST}; is it an edgekit build directory?") from None
    except (OSError, ValueError) as e:
        raise ModelFileError(f"{path}: unreadable manifest ({e})") from e
