"""The export pipeline: load -> (calibrate) -> one artifact per target and scheme -> prove.

This is the only module that knows every target. It checks the whole request before any
work starts, writes into a staging directory, and moves the build into place at the end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from edgekit.build import BuildDir
from edgekit.data import Dataset, Preprocess, read_labels
from edgekit.errors import DataError, OptionError
from edgekit.export_options import field_options, given_format_options, reads, table_keys
from edgekit.manifest import source_entry
from edgekit.model import SourceModel, load_model, parse_input_shapes
from edgekit.outdir import name_max, staged_output
from edgekit.session import ExportSession
from edgekit.simulate.gates import Gates
from edgekit.validate import artifact_key
from quantize.spec import SCHEMES, QuantSpec, closest_plan
from targets import check_target_names, get_target
from targets.base import Artifact, calibrates, sha256_of, with_layouts

RANDOM_CALIB = "random"
LATENCY_SECONDS = 0.1  # per artifact in the export summary; `edgekit simulate` measures longer


@dataclass(frozen=True)
class ExportOptions:
    """Everything ``edgekit export`` takes (CLI flags and config keys share these names).

    One field per option of the schema (edgekit.export_options), with its default: types and
    defaults are written here to stay readable and type-checked; tests/test_options.py fails
    when a field and the schema differ. Ranges, choices and scope come from the schema.
    """

    model: Path
    out: Path = Path("build")
    target: tuple[str, ...] = ("tflite",)
    quant: str | dict = "float32"
    calib: str | None = None
    eval: str | None = None
    calib_size: int = 100
    io_dtype: str | None = None
    per_channel: str = "conv"
    calib_range: str = "minmax"  # int8 through AI Edge Quantizer: "minmax" or "mse" activation ranges
    float_layers: tuple[str, ...] = ()  # int8: keep these layers float (selective quantization)
    layout: str | None = None  # TFLite/TFLM I/O of a channels-first source: "source" (None) or "nhwc"
    batch: int = 1
    input_shape: str | None = None
    signature: str | None = None
    preprocess: Preprocess = field(default_factory=Preprocess)
    labels: str | None = None  # text file, one class label per line
    # TFLite Micro sources
    c_name: str | None = None
    lang: str = "c"
    section: str | None = None
    arena_margin: int | None = None
    keep_strings: bool = False  # tflm: keep the strings TFLM never reads in the model array
    firmware: str | None = None  # a board: also write the firmware project (targets.tflm.firmware)
    firmware_kernels: str = "reference"
    tflm_root: str | None = None
    # Standalone C
    c_kernels: str = "portable"  # kernel back-end: portable or cmsis-nn
    # OpenVINO
    ov_preset: str | None = None
    # Core ML: deployment_target, precision, input, color_layout, input_names, output_names,
    # sparsity, author, license, version, description (see targets.coreml.exporter)
    coreml: dict = field(default_factory=dict)
    # Validation (with --eval)
    task: str | None = None
    max_drop: float | None = None
    min_cosine: float | None = None
    min_accuracy: float | None = None
    layers: bool = False  # with --eval: per-layer error report of int8 TFLite artifacts
    latency: bool = False  # host p50 of each artifact in the summary (the CLI turns it on)
    # Pruning (quantize.prune.spec), applied to the SourceModel before the targets
    prune: tuple[str, ...] = ()
    finetune: str | None = None  # labelled training data for fine-tuning after pruning
    epochs: int | None = None  # fine-tuning epochs (default 5)
    unsafe: bool = False
    force: bool = False

    def to_json(self) -> dict:
        d = asdict(self)
        d["model"], d["out"] = str(self.model), str(self.out)
        d["target"] = list(self.target)
        d["float_layers"] = list(self.float_layers)
        d["prune"] = list(self.prune)
        d["preprocess"] = self.preprocess.to_json()
        return d


@dataclass
class ExportResult:
    out: Path
    model: SourceModel
    artifacts: list[Artifact]
    manifest: dict
    validation: object | None  # edgekit.validate.ValidationReport when --eval was given
    warnings: list[str]
    # artifact key -> host latency row (first runtime variant); timings stay out of the manifest
    # because they differ run to run and the build's bytes must not.
    latency: dict = field(default_factory=dict)
    pruning: dict | None = None  # edgekit.prune_report record when --prune was given

    @property
    def evaluation(self) -> dict | None:
        return self.validation.result if self.validation is not None else None


Progress = Callable[[str], contextlib.AbstractContextManager]


def plan_specs(opts: ExportOptions) -> list[tuple[object, QuantSpec]]:
    """(target, spec) pairs for the request, each checked against its target."""
    check_target_names(opts.target, "--target")
    _refuse_options_of_absent_targets(opts)
    _check_values(opts)
    labels = read_labels(opts.labels) if opts.labels else None
    targets = {name: get_target(name, **_target_options(name, opts, labels)) for name in opts.target}
    plan = closest_plan(opts.quant, list(opts.target), {n: t.schemes for n, t in targets.items()})
    made = [s for pairs in plan.values() for s, _ in pairs]
    if opts.io_dtype and not any(opts.io_dtype in SCHEMES[s].io_dtypes for s in made):
        raise OptionError(f"--io-dtype {opts.io_dtype} applies to none of the requested schemes")
    if opts.float_layers and "int8" not in made:
        raise OptionError("--float-layers applies to the int8 scheme; add int8 to --quant")
    if opts.calib_range != "minmax" and "int8" not in made:
        raise OptionError(f"--calib-range {opts.calib_range} applies to the int8 scheme; add int8 to --quant")
    ranges = {o.name: o for o in field_options()}["calib_range"]
    base = QuantSpec(calib_size=opts.calib_size, per_channel=opts.per_channel)
    pairs = []
    for name, schemes in plan.items():
        target = targets[name]
        for scheme, requested in schemes:
            io = opts.io_dtype if opts.io_dtype in SCHEMES[scheme].io_dtypes else None
            spec = replace(base.with_scheme(scheme), io_dtype=io,
                           float_layers=tuple(opts.float_layers) if scheme == "int8" else (),
                           calib_range=opts.calib_range if scheme == "int8" and ranges.applies_to(name) else "minmax",
                           requested=None if requested == scheme else requested)  # fmt: skip
            target.check(None, spec)
            pairs.append((target, spec))
    return pairs


def _require_calib(pairs, opts: ExportOptions, model: SourceModel | None) -> bool:
    """Whether the plan calibrates (``model`` None: before loading, by scheme alone); refuses a
    plan that does without --calib."""
    schemes = sorted({s.scheme for t, s in pairs if calibrates(t, model, s)})
    if schemes and not opts.calib:
        raise DataError(
            f"--quant {','.join(schemes)} needs calibration data: pass --calib DATA (.npz, .npy or an "
            f"image directory), or --calib {RANDOM_CALIB} to convert anyway with meaningless accuracy"
        )
    return bool(schemes)


def as_requested(artifact: Artifact, spec: QuantSpec) -> Artifact:
    """An artifact made for the closest scheme says so: a note (shown in the summary) and
    ``requested_scheme`` in its manifest metadata."""
    if spec.requested is None:
        return artifact
    note = (f"--quant {spec.requested}: {artifact.target} cannot produce {spec.requested} on this host, "
            f"so this is {spec.scheme}, the closest scheme it can")  # fmt: skip
    return replace(artifact, notes=(note, *artifact.notes), metadata={**artifact.metadata, "requested_scheme": spec.requested})


def export(opts: ExportOptions, progress: Progress | None = None, read: Iterable[Path] = ()) -> ExportResult:
    """Run the whole export; nothing is left at ``opts.out`` unless it completes.

    ``read``: other files the run read (its config file), which ``--force`` must not delete.
    """
    step = progress or (lambda text: contextlib.nullcontext())
    pairs = plan_specs(opts)
    prune_specs = plan_pruning(opts)
    gates = Gates(max_drop=opts.max_drop, min_cosine=opts.min_cosine, min_accuracy=opts.min_accuracy)
    if gates.any and not opts.eval:
        raise OptionError("--max-drop, --min-cosine and --min-accuracy need --eval DATA")
    if Path(opts.model).suffix.lower() != ".tflite":  # a .tflite may be re-emitted: known once loaded
        _require_calib(pairs, opts, None)
    shapes = parse_input_shapes(opts.input_shape)
    _check_artifact_names(opts)
    warnings: list[str] = []
    inputs = [Path(p) for p in (opts.model, opts.calib, opts.eval, opts.finetune, opts.labels) if p and p != RANDOM_CALIB]
    inputs += [Path(p) for p in read]

    with staged_output(opts.out, opts.force, keep=inputs) as stage:
        session = ExportSession(stage)  # this run's conversions and the files it wrote itself
        build = BuildDir(stage)
        with step(f"Loading {opts.model}"):
            model = load_model(
                opts.model, batch=opts.batch, input_shapes=shapes, signature=opts.signature, unsafe=opts.unsafe
            )
        opts.preprocess.check(model.inputs)
        for target, spec in pairs:
            target.check(model, spec)
        needs_calib = _require_calib(pairs, opts, model)
        if opts.layers:
            from edgekit.validate import check_layers

            check_layers(model, [target.name for target, _ in pairs])
        calib = None
        if needs_calib or (opts.calib and any(s.criterion == "activation" for s in prune_specs)):
            if opts.calib == RANDOM_CALIB:
                calib = Dataset.random(model.inputs, opts.calib_size)
                warnings.append(
                    "calibration used random data (--calib random): the int8/int16x8 artifacts run, "
                    "but their accuracy is meaningless"
                )
            else:
                calib = Dataset.open(opts.calib, model.inputs, opts.preprocess, "--calib")
        evalset = Dataset.open(opts.eval, model.inputs, opts.preprocess, "--eval") if opts.eval else None
        if evalset is not None:
            from edgekit.labels import check_labels
            from edgekit.simulate.evaluate import default_task

            gates.check_data(opts.task or default_task(model), evalset.has_labels)  # before pruning and export
            check_labels(evalset, model, opts.task)
        pruning = None
        if prune_specs:
            from edgekit.prune_report import prune_source, save_pruned

            train = Dataset.open(opts.finetune, model.inputs, opts.preprocess, "--finetune") if opts.finetune else None
            with step("Pruning " + ", ".join(s.describe() for s in prune_specs)):
                model, pruning = prune_source(
                    model, prune_specs, calib=calib, train=train, epochs=opts.epochs or 5, evalset=evalset,
                    session=session,
                )
                pruning["model"] = save_pruned(model, stage)
                pruning["sha256"] = sha256_of(stage / pruning["model"])

        artifacts = []
        for target, spec in pairs:
            with step(f"Exporting {target.name} {spec.scheme}"):
                artifact = with_layouts(target.export(model, spec, stage / target.name, calib, session), model)
                artifacts.append(as_requested(artifact, spec))

        report = None
        if evalset is not None:
            from edgekit.validate import run_validation, write_reports

            with step(f"Validating on {len(evalset)} samples"):
                report = run_validation(model, artifacts, evalset, task=opts.task, gates=gates, trusted=session.trusted)
            report.result["eval"] = evalset.describe()
            if opts.layers:
                from edgekit.validate import diagnose_layers

                with step("Per-layer quantization error of int8 TFLite artifacts"):
                    report.result["layers"] = diagnose_layers(model, artifacts, calib, evalset, session)
            write_reports(report, stage, gates, None)

        latency = {}
        if opts.latency:
            from edgekit.simulate.latency import measure_artifact

            with step("Timing each artifact on the host"):
                for a in artifacts:
                    latency[artifact_key(a)] = measure_artifact(a, seconds=LATENCY_SECONDS, first_only=True,
                                                                trusted=session.trusted)[0]

        source = {
            **source_entry(opts.model, opts.out),
            "kind": model.kind,
            "name": model.name,
            "inputs": [t.to_json() for t in model.inputs],
            "outputs": [t.to_json() for t in model.outputs],
        }
        if calib is not None:
            source["calibration"] = calib.describe()
        if pruning is not None:
            source["pruning"] = pruning
        manifest = build.write_manifest(
            opts.out,
            source=source,
            options=opts.to_json(),
            artifacts=artifacts,
            warnings=warnings,
        )
        from edgekit.report import refresh_report

        with step("Writing report.html and report.md"):
            problem = refresh_report(stage, opts.out)  # a report that cannot be made never fails the export
        if problem:
            warnings.append(problem)
    final = [a.relocated(opts.out / a.directory.relative_to(stage)) for a in artifacts]
    return ExportResult(opts.out, model, final, manifest, report, warnings, latency=latency, pruning=pruning)


# Bytes the targets add around the model's name: "m_" + "_int16x8.mlpackage" or "_model_settings.h".
_ARTIFACT_NAME_RESERVE = 24


def _check_artifact_names(opts: ExportOptions) -> None:
    """Artifacts are named after the model file: refuse a name they cannot have, before any work."""
    from edgekit.errors import OutputError
    from edgekit.model import model_name

    model = Path(opts.model)
    name = model_name(model)
    limit = name_max(Path(opts.out).parent) - _ARTIFACT_NAME_RESERVE
    if len(name) > limit:
        raise OutputError(f"{model.name}: file name too long to name the artifacts after it "
                          f"({len(name)} characters; at most {limit}); rename the model file")  # fmt: skip
    if opts.c_name and len(opts.c_name) > limit:
        raise OptionError(f"--c-name is too long to name the TFLM sources after it ({len(opts.c_name)} characters; at most {limit})")


def plan_pruning(opts: ExportOptions) -> list:
    """The --prune specs in the order they apply, checked with --finetune/--epochs."""
    from quantize.prune.spec import parse_prune_specs

    specs = parse_prune_specs(opts.prune)
    if opts.finetune and not specs:
        raise OptionError("--finetune fine-tunes a pruned model; add --prune (channels=0.3, sparsity=0.8 or ops)")
    if opts.epochs is not None and not opts.finetune:
        raise OptionError("--epochs applies to --finetune DATA; add --finetune")
    if opts.epochs is not None and opts.epochs < 1:
        raise OptionError(f"--epochs must be at least 1, got {opts.epochs}")
    return specs


def _refuse_options_of_absent_targets(opts: ExportOptions) -> None:
    """An option of a format that is not requested would be ignored yet recorded: refuse it."""
    for option in given_format_options(opts):
        wanted = option.formats
        if not set(wanted) & set(opts.target):
            flag, names = option.flag, " and ".join(f"the {t} target" for t in wanted)
            raise OptionError(f"{flag} applies to {names}, which {'is' if len(wanted) == 1 else 'are'} not requested "
                              f"(-t {','.join(opts.target)}); add it to --target or drop {flag}")  # fmt: skip


def _check_values(opts: ExportOptions) -> None:
    """Choices and ranges of the schema, for values from the CLI, a config file or Python alike."""
    for option in field_options():
        value = getattr(opts, option.name)
        if option.toml == "table" and isinstance(value, dict):
            for key in table_keys(option.name):
                key.check(value.get(key.name))
        elif option.toml != "table":
            option.check(value)


def _target_options(name: str, opts: ExportOptions, labels: list[str] | None) -> dict:
    """The constructor arguments of target ``name``: its formats' options (by their ``arg``)
    and the shared options it reads (its ``READS``); --labels as the labels read from the file."""
    args = {o.arg: getattr(opts, o.name) for o in field_options() if o.arg and name in o.formats}
    args.update({arg: getattr(opts, shared) for arg, shared in reads(name).items()})
    if "labels" in args:
        args["labels"] = labels
    return args
