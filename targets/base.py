"""What a format is, what its target produces and what runs it.

A format package (targets/<name>/) exposes one ``Format`` descriptor. Its target turns a
SourceModel and a QuantSpec into an Artifact, declaring the schemes it can produce and
checking a request before any work starts; its runner runs the artifact. Everything above
``targets/`` reaches a format only through its descriptor in the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from importlib import import_module
from typing import Callable, Protocol

from edgekit.build import BuildDir
from edgekit.files import sha256_of, tree_size as _size  # noqa: F401  (sha256_of: part of this API)
from edgekit.model import SourceModel
from edgekit.runtime.runner import Runner, RunnerBase  # noqa: F401  (declared for the formats)
from edgekit.tensors import TensorInfo, describe_layouts
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
    # (input layouts, output layouts) of the source model when they differ from this artifact's
    # own (``inputs[i].layout``): runners then transpose (edgekit.runtime.runner.in_source_layout).
    # None: the artifact takes data as the source does.
    source_layouts: tuple[tuple[str | None, ...], tuple[str | None, ...]] | None = field(default=None, compare=False)

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
        infos = [tuple(TensorInfo.from_json(t) for t in entry[k]) for k in ("inputs", "outputs")]
        spec = QuantSpec.from_json(entry["spec"]) if entry.get("spec") is not None else None
        src = entry.get("source_layouts")
        layouts = None if src is None else (tuple(src["inputs"]), tuple(src["outputs"]))
        return cls(entry["target"], entry["scheme"], directory, tuple(str(p.relative_to(paths[0].parent)) for p in paths),
                   infos[0], infos[1], tuple(entry.get("notes", ())), dict(entry.get("metadata", {})), spec,
                   layouts)  # fmt: skip

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
            **({"source_layouts": {"inputs": list(self.source_layouts[0]), "outputs": list(self.source_layouts[1])}}
               if self.source_layouts is not None else {}),
        }

    def io_layout(self) -> str:
        """The I/O layout in words: "NCHW", "NHWC (source NCHW)", "" for non-image I/O."""
        src = None if self.source_layouts is None else [*self.source_layouts[0], *self.source_layouts[1]]
        return describe_layouts([t.layout for t in (*self.inputs, *self.outputs)], src)


def with_layouts(artifact: Artifact, model: SourceModel, layout: str | None = None) -> Artifact:
    """``artifact`` with every I/O layout recorded: tensors the target left without one take
    ``layout`` ("nhwc": the target made image I/O channels last) or else the source tensor's
    at the same position (converters keep the source's layout unless told otherwise); the
    source's layouts are kept where the artifact's differ. Idempotent."""
    from edgekit.tensors import NHWC

    def fill(mine: tuple[TensorInfo, ...], src: tuple[TensorInfo, ...]) -> tuple[TensorInfo, ...]:
        return tuple(replace(t, layout=NHWC if layout == "nhwc" else s.layout)
                     if t.layout is None and s.layout and len(t.shape) == 4 else t
                     for t, s in zip(mine, src)) + mine[len(src):]  # fmt: skip

    ins, outs = fill(artifact.inputs, model.inputs), fill(artifact.outputs, model.outputs)
    src = tuple(t.layout for t in model.inputs), tuple(t.layout for t in model.outputs)
    differs = any(a.layout != b for a, b in zip((*ins, *outs), (*src[0], *src[1])) if a.layout and b)
    return replace(artifact, inputs=ins, outputs=outs, source_layouts=src if differs else None)


def build_artifacts(build: BuildDir, manifest: dict | None = None) -> list[Artifact]:
    """The Artifacts a build's manifest lists, every entry checked: a damaged manifest is one
    error naming it, and no artifact may lie outside the build directory."""
    manifest = build.read_manifest() if manifest is None else manifest
    try:
        artifacts = [Artifact.from_json(e, build.path) for e in manifest["artifacts"]]
        inside = build.path.resolve()
        for a in artifacts:
            if not all((a.directory / f).resolve().is_relative_to(inside) for f in a.files):
                raise ValueError(f"{a.target}/{a.scheme} lists files outside the build directory")
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        raise build.damaged(e) from e
    return artifacts


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


def calibrates(target, model: SourceModel | None, spec: QuantSpec) -> bool:
    """Whether ``target`` needs calibration data for ``spec`` from ``model``: not when it takes a
    ``.tflite`` source already in ``spec``'s scheme as it is (targets with ``reemits_tflite``)."""
    if not spec.needs_calibration:
        return False
    return not (getattr(target, "reemits_tflite", False) and tflite_source_scheme(model) == spec.scheme)


def _default_variants() -> list[tuple[str, dict]]:
    return [("default", {})]


def resolve(ref: str):
    """The object a "module:attribute" reference names (imported on first use, so listing
    the formats never imports a framework)."""
    module, _, attr = ref.partition(":")
    return getattr(import_module(module), attr)


@dataclass(frozen=True)
class Format:
    """One output format: everything the layers above ``targets/`` may know about it.

    References are "module:attribute" strings resolved on use: the heavy frameworks behind
    a format load only when one of its artifacts is made, run or read.
    """

    name: str
    title: str  # what the format is, for tables: "TFLite / LiteRT flatbuffer"
    target: str  # the Target class; its constructor takes this format's options
    runner: str  # the Runner class; its constructor takes the options of a latency variant
    # Host-latency variants: () -> [(label, runner options)]; the first is the summary's.
    variants: Callable[[], list[tuple[str, dict]]] = _default_variants
    suffixes: tuple[str, ...] = ()  # a lone file of this format (simulate, inspect); "" = none
    companions: tuple[str, ...] = ()  # suffixes of sibling files a lone file needs (.xml -> .bin)
    directory: bool = False  # a lone artifact is a directory (a .mlpackage)
    inspect: str | None = None  # (path, with_ops) -> inspect report dict, for a lone file
    color: str = "#7a7a7a"  # the format's colour in the report's charts
    # The format whose float32 artifact is this one's float reference for sizes, when it has
    # none of its own (TFLM sources hold a TFLite flatbuffer).
    compares_with: str | None = None
    # (artifact) -> the TFLite flatbuffer the artifact deploys, or None: for the device cost
    # model and the RAM/flash fit, which reason about TFLite graphs.
    flatbuffer: str | None = None
    # (artifact, flatbuffer) -> (RAM bytes on a 32-bit MCU, where the figure came from) | None
    device_ram: str | None = None
    # (artifact, Device) -> {"flash_bytes", "ram_bytes", "source", and "instructions",
    # "instructions_per_op" where counted} measured from a firmware build for the device's core
    # and kernel library, or None (the fit check and the latency model then estimate)
    device_measurement: str | None = None
    # (artifact, record) -> path: keep a device runner's measurement (``validate --on``) beside
    # the artifact, where ``device_measurement`` finds it
    keep_measurement: str | None = None
    # (model, artifacts, specs, calib, evalset) -> per-layer quantization error records
    layer_report: str | None = None
    # (model) -> None, raising when layer_report cannot cover this source (checked before export)
    layer_check: str | None = None
    options: tuple = ()  # edgekit.options.Option declarations of this format's own options (options.py)
    uses: tuple[str, ...] = ()  # options other formats declare that this one honours too
    # Target constructor keyword -> the shared export option it reads (OpenVINO's eval_data <- eval)
    reads: dict = field(default_factory=dict)
    # Schemes the target offers only on some hosts: scheme -> where ("macOS"), for the docs.
    host_only: dict = field(default_factory=dict)
    # () -> {device name: (Runner class reference, its options)}: (emulated) devices that run
    # this format's artifacts, for `validate --on DEVICE` (TFLM firmware under QEMU).
    devices: str | None = None

    def make_target(self, **options):
        """The Target of this format with its format-specific options."""
        return resolve(self.target)(**options)

    def make_runner(self, **options) -> Runner:
        """A Runner, given only the options its constructor takes (a variant's threads,
        kernels or worker processes mean nothing to runtimes without them)."""
        import inspect

        cls = resolve(self.runner)
        accepted = inspect.signature(cls).parameters
        return cls(**{k: v for k, v in options.items() if k in accepted and v is not None})

    def device_runner(self, device: str) -> Runner | None:
        """A Runner of this format's artifacts on ``device``, or None if it has none there."""
        found = resolve(self.devices)().get(device) if self.devices else None
        return None if found is None else resolve(found[0])(**found[1])

    def call(self, hook: str, *args):
        """Call one of the optional hooks (``flatbuffer``, ``device_ram``, ...); None if the
        format does not have it."""
        ref = getattr(self, hook)
        return resolve(ref)(*args) if ref else None
