"""What a target is and what it produces.

A target turns a SourceModel and a QuantSpec into an Artifact. It declares the schemes it
can produce and checks a request before any work starts; the pipeline only ever talks to
targets through this protocol and the registry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from edgekit.model import SourceModel
from edgekit.tensors import TensorInfo
from quantize.spec import QuantSpec
from targets.metadata import RunnerMetadata


@dataclass(frozen=True)
class Artifact:
    """Files one target wrote for one scheme, and what a runner needs to run them."""

    target: str
    scheme: str
    directory: Path
    files: tuple[str, ...]  # relative to ``directory``; the first is the model itself
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    notes: tuple[str, ...] = ()  # what the target actually did, in plain words
    metadata: dict = field(default_factory=dict, compare=False)
    spec: QuantSpec | None = field(default=None, compare=False)  # None: a manifest older than the record

    @property
    def primary(self) -> Path:
        return self.directory / self.files[0]

    @property
    def size_bytes(self) -> int:
        return sum(_size(self.directory / f) for f in self.files)

    @property
    def runner_metadata(self) -> RunnerMetadata:
        """The entries of ``metadata`` runners and the report read, typed."""
        return RunnerMetadata.from_json(self.metadata)

    @property
    def deployed_bytes(self) -> int:
        """Bytes that go onto the device: the model data for source-code targets (TFLM),
        the files themselves otherwise."""
        model_bytes = self.runner_metadata.model_bytes
        return self.size_bytes if model_bytes is None else model_bytes

    def relocated(self, directory: Path) -> Artifact:
        """The same artifact after its directory moved (staging dir -> final place)."""
        return replace(self, directory=directory)

    @classmethod
    def from_json(cls, entry: dict, root: Path) -> Artifact:
        """The Artifact a manifest entry describes, under build directory ``root``."""
        paths = [Path(f["path"]) for f in entry["files"]]
        directory = root / paths[0].parent
        infos = [tuple(TensorInfo(t["name"], tuple(t["shape"]), t["dtype"], t.get("scale"), t.get("zero_point"))
                       for t in entry[k]) for k in ("inputs", "outputs")]  # fmt: skip
        spec = QuantSpec.from_json(entry["spec"]) if entry.get("spec") is not None else None
        return cls(entry["target"], entry["scheme"], directory, tuple(str(p.relative_to(paths[0].parent)) for p in paths),
                   infos[0], infos[1], tuple(entry.get("notes", ())), dict(entry.get("metadata", {})), spec)  # fmt: skip

    def to_json(self, root: Path) -> dict:
        """Manifest entry; paths relative to the build directory ``root``."""
        rel = self.directory.relative_to(root) if self.directory.is_relative_to(root) else self.directory
        return {
            "target": self.target,
            "scheme": self.scheme,
            "files": [
                {"path": str(rel / f), "bytes": _size(self.directory / f), "sha256": sha256_of(self.directory / f)}
                for f in self.files
            ],
            "bytes": self.size_bytes,
            "inputs": [t.to_json() for t in self.inputs],
            "outputs": [t.to_json() for t in self.outputs],
            "notes": list(self.notes),
            "metadata": self.metadata,
            **({"spec": self.spec.to_json()} if self.spec is not None else {}),
        }


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in sorted(path.rglob("*")) if p.is_file())
    return path.stat().st_size


def sha256_of(path: Path) -> str:
    """sha256 of a file, or of a directory's files (relative names and contents, sorted)."""
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(q for q in path.rglob("*") if q.is_file()):
            h.update(str(p.relative_to(path)).encode() + b"\0")
            h.update(p.read_bytes())
    else:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


class Target(Protocol):
    name: str
    schemes: frozenset[str]

    def check(self, model: SourceModel | None, spec: QuantSpec) -> None:
        """Raise UnsupportedError if this target cannot produce ``spec`` (``model`` may be
        None when only the request is known)."""

    def describe(self, spec: QuantSpec) -> str:
        """One line saying what this target will do for ``spec``."""

    def export(self, model: SourceModel, spec: QuantSpec, out_dir: Path, calib=None, session=None) -> Artifact:
        """Write the artifact for ``spec`` into ``out_dir`` (calibration data if needed), sharing
        conversions and trust with the other targets of ``session`` (an edgekit.session.ExportSession)."""


def check_scheme(target, spec: QuantSpec) -> None:
    """Refuse a scheme ``target`` does not declare, before any work starts."""
    from edgekit.errors import UnsupportedError

    if spec.scheme not in target.schemes:
        raise UnsupportedError(
            f"target {target.name} cannot produce scheme '{spec.scheme}'; it supports {', '.join(sorted(target.schemes))}"
        )


def tflite_source_scheme(model: SourceModel | None) -> str | None:
    """The scheme of a ``.tflite`` source (read from the graph its loader already parsed)."""
    if model is None or model.kind != "tflite":
        return None
    return model.backend.graph.quant_scheme()
