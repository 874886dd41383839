"""A build directory: the names of the files edgekit keeps in it, and their reads and writes.

``manifest.json`` (what was built from what), ``validation.json`` (``edgekit validate`` and
``export --eval``), ``simulation.json`` (``edgekit simulate``), the report pages and the
pruned model. Everything that reads or writes one of them goes through ``BuildDir``.
"""

from __future__ import annotations

import json
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from edgekit import jsontext
from edgekit.errors import ModelFileError, OutputError
from edgekit.files import atomic_write, read_bounded, sha256_of
from edgekit.manifest import tool_versions

MANIFEST = "manifest.json"
VALIDATION = "validation.json"
SIMULATION = "simulation.json"
REPORT_HTML = "report.html"
REPORT_MD = "report.md"
PRUNED = "pruned"  # folder of the pruned model (export --prune)


def _dumps(data: dict) -> str:
    return jsontext.dumps(data, indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class BuildDir:
    """One build directory (an export's staging directory while it is written)."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    @property
    def validation_path(self) -> Path:
        return self.path / VALIDATION

    @property
    def simulation_path(self) -> Path:
        return self.path / SIMULATION

    def is_edgekit_build(self) -> bool:
        """Whether the directory holds a manifest written by edgekit (not just any manifest.json)."""
        try:
            if not stat.S_ISREG(os.lstat(self.manifest_path).st_mode):
                return False
            return "edgekit_manifest" in json.loads(read_bounded(self.manifest_path, "manifest", error=OutputError))
        except (OSError, ValueError, TypeError, OutputError):  # a huge "manifest.json" is not ours either
            return False

    # manifest.json

    def write_manifest(self, final: Path, *, source: dict, options: dict, artifacts, warnings) -> dict:
        """Write ``manifest.json``; artifact paths are relative to the build dir, ``final`` is
        where the build will be. ``created`` is the only field that differs between two identical
        runs, unless SOURCE_DATE_EPOCH fixes it (reproducible-builds.org)."""
        manifest = {
            "edgekit_manifest": 1,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(_build_time())),
            "build_dir": str(final),
            "source": source,
            "options": options,
            "artifacts": [a.to_json(self.path) for a in artifacts],
            "warnings": list(warnings),
            "tools": tool_versions(),
        }
        self.manifest_path.write_text(_dumps(manifest))
        return manifest

    def read_manifest(self) -> dict:
        """The manifest (for validate/simulate/report)."""
        try:
            return json.loads(read_bounded(self.manifest_path, "build manifest", error=ModelFileError))
        except FileNotFoundError:
            raise ModelFileError(f"{self.path}: no {MANIFEST}; is it an edgekit build directory?") from None
        except (OSError, ValueError) as e:
            raise ModelFileError(f"{self.manifest_path}: unreadable manifest ({e})") from e

    def damaged(self, e: Exception) -> ModelFileError:
        """The error for a manifest whose entries are missing or of the wrong type."""
        return ModelFileError(f"{self.manifest_path}: damaged manifest ({type(e).__name__}: {e}); re-export the build")

    def float_reference(self, manifest: dict, given: Path | None = None) -> tuple[Path, dict]:
        """The float model to score the build against, and a record of it for validation.json.

        Without ``given``: the pruned model in the build, or the source it was exported from,
        and its sha256 must be the one the manifest records. ``given`` (``--model``) is used as
        it is; the record says whether it is the build's source.
        """
        build_dir = self.path
        try:
            src = manifest["source"]
            pruning = src.get("pruning") if isinstance(src.get("pruning"), dict) else {}
            recorded, base = str(src["path"]), src.get("path_base")
        except (KeyError, TypeError, AttributeError) as e:
            raise self.damaged(e) from e
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

    def pruned_model(self, name: str, suffix: str) -> str:
        """Where the pruned model ``name`` + ``suffix`` goes, relative to the build directory."""
        return (Path(PRUNED) / f"{name}{suffix}").as_posix()

    # validation.json, simulation.json

    def write_validation(self, record: dict) -> None:
        atomic_write(self.validation_path, _dumps(record))

    def write_simulation(self, record: dict) -> None:
        atomic_write(self.simulation_path, _dumps(record))

    def read_records(self) -> tuple[dict, dict | None, dict | None]:
        """(manifest, validation or None, simulation or None), for the report."""
        if not self.path.exists():
            raise ModelFileError(f"{self.path}: no such directory; give an edgekit build directory (with {MANIFEST})")
        if not self.path.is_dir():
            raise ModelFileError(f"{self.path}: not a directory; give an edgekit build directory (with {MANIFEST})")
        manifest = self.read_manifest()
        if not isinstance(manifest, dict) or not isinstance(manifest.get("artifacts"), list) or "source" not in manifest:
            raise ModelFileError(f"{self.manifest_path}: not an edgekit manifest")
        return manifest, _read_optional(self.validation_path), _read_optional(self.simulation_path)


def _read_optional(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        data = json.loads(read_bounded(path, "results file", error=ModelFileError))
    except (OSError, ValueError) as e:
        raise ModelFileError(f"{path}: unreadable ({e}); rerun the command that writes it") from e
    if not isinstance(data, dict):
        raise ModelFileError(f"{path}: not an edgekit results file")
    return data


def _is_saved_model(path: Path) -> bool:
    return path.is_dir() and ((path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file())


def _build_time() -> float | None:
    """SOURCE_DATE_EPOCH when set (a build system pinning timestamps), else now (None)."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is None:
        return None
    try:
        return float(int(value))
    except ValueError:
        raise OutputError(f"SOURCE_DATE_EPOCH={value!r}: give whole seconds since 1970 (or unset it)") from None
