"""manifest.json: the machine-readable record of a build directory."""

from __future__ import annotations

import json
import os
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


def source_entry(model: Path, build_dir: Path) -> dict:
    """Where the source model is and what it is: its path relative to the build directory
    (found from any working directory, and still when both move together), sha256 and size."""
    from targets.base import sha256_of

    model = Path(model)
    try:
        path = Path(os.path.relpath(model.resolve(), Path(build_dir).resolve())).as_posix()
    except ValueError:  # another drive: no relative path exists
        path = str(model.resolve())
    files = [p for p in model.rglob("*") if p.is_file()] if model.is_dir() else [model]
    return {"path": path, "path_base": "build_dir", "sha256": sha256_of(model), "bytes": sum(p.stat().st_size for p in files)}


def float_reference(manifest: dict, build_dir: Path, given: Path | None = None) -> tuple[Path, dict]:
    """The float model to score a build against, and a record of it for validation.json.

    Without ``given``: the pruned model in the build, or the source it was exported from,
    and its sha256 must be the one the manifest records. ``given`` (``--model``) is used as
    it is; the record says whether it is the build's source.
    """
    from edgekit.errors import ModelFileError
    from targets.base import sha256_of

    build_dir = Path(build_dir)
    try:
        src = manifest["source"]
        pruning = src.get("pruning") if isinstance(src.get("pruning"), dict) else {}
        recorded, base = str(src["path"]), src.get("path_base")
    except (KeyError, TypeError, AttributeError) as e:
        raise damaged_manifest(build_dir, e) from e
    known = {h for h in (src.get("sha256"), pruning.get("sha256")) if isinstance(h, str)}
    if given is not None:
        if not Path(given).exists():
            raise ModelFileError(f"--model {given}: no such file or directory")
        digest = sha256_of(Path(given))
        return Path(given), {"path": str(given), "sha256": digest, "given": True,
                             "matches_manifest": digest in known if known else None}  # fmt: skip
    if isinstance(pruning.get("model"), str):
        recorded, expected, what = pruning["model"], pruning.get("sha256"), "pruned model"
        candidates = [build_dir / recorded]
    elif base == "build_dir" or Path(recorded).is_absolute():
        candidates, expected, what = [build_dir / recorded], src.get("sha256"), "source model"
    else:  # an older manifest: the path is relative to wherever export ran; try both
        candidates, expected, what = [build_dir / recorded, Path(recorded)], src.get("sha256"), "source model"
    present = [c for c in dict.fromkeys(candidates) if c.exists()]
    if not present:
        raise ModelFileError(f"{candidates[0]}: the {what} of {build_dir} is not there; pass --model PATH")
    # The manifest may come from elsewhere: hash only what can be a model (a device such as
    # /dev/zero never ends, a folder such as / is the whole disk).
    present = [c for c in present if c.is_file() or _is_saved_model(c)]
    if not present:
        raise ModelFileError(f"{candidates[0]}: the manifest's {what} of {build_dir} is not a model file or "
                             "SavedModel directory; pass --model PATH")  # fmt: skip
    digests = [sha256_of(path) for path in present]
    for path, digest in zip(present, digests):
        if expected is None or digest == expected:
            return path, {"path": str(path), "sha256": digest, "given": False, "matches_manifest": expected is not None}
    raise ModelFileError(
        f"{present[0]}: not the {what} {build_dir} was exported from (sha256 {digests[0][:12]}, the manifest records "
        f"{str(expected)[:12]} for '{recorded}'); pass --model PATH to validate against another model on purpose"
    )


def _is_saved_model(path: Path) -> bool:
    return path.is_dir() and ((path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file())
