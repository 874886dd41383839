"""``edgekit validate``: run every artifact of a build in its runtime and apply the gates.

Writes ``validation.json`` (and optionally a JUnit report) into the build directory; the
exit code is 0 when every gate passes, 1 when one fails, 2 on an error.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path

from edgekit import jsontext
from edgekit.build import BuildDir
from edgekit.data import Dataset, Preprocess
from edgekit.errors import CannotSimulate, ModelFileError, OptionError, OutputError
from edgekit.files import atomic_write
from edgekit.simulate.gates import GateResult, Gates, baseline_of, check, junit_xml
from targets import select_targets
from targets.base import build_artifacts


@dataclass
class ValidationReport:
    result: dict
    gates: list[GateResult]
    # (artifact, record) a device runner measured (firmware flash/RAM/instructions), for the Format's keep_measurement
    measurements: list = field(default_factory=list, compare=False)

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    def to_json(self) -> dict:
        return {"edgekit_validation": 1, **self.result, "gates": [g.to_json() for g in self.gates], "passed": self.passed}


def artifact_key(a) -> str:
    return f"{a.target}/{a.scheme}"


def run_validation(model, artifacts, dataset, *, task=None, gates: Gates = Gates(), batch_size=256,
                   workers: int | None = None, litert_kernels: str | None = None,
                   trusted: Collection[str] = (), on: tuple[str, ...] = ()) -> ValidationReport:  # fmt: skip
    """Evaluate loaded artifacts on a Dataset and check the gates (no files written).
    ``trusted``: digests of the files the current export run wrote (ExportSession.trusted);
    every other model file is crash-probed before an in-process runtime loads it. ``on``:
    devices each artifact whose format runs there is also evaluated on (key ``KEY@DEVICE``)."""
    from edgekit.labels import check_labels
    from edgekit.simulate.evaluate import default_task, evaluate
    from targets import runner_for

    gates.check_data(task or default_task(model), dataset.has_labels)  # before any runtime starts
    check_labels(dataset, model, task)
    # Use every core: LiteRT threads within a batch, TFLM runs samples in parallel processes.
    cores = workers or os.cpu_count() or 1
    runners, skipped = {}, {}
    for a in artifacts:
        try:
            runners[artifact_key(a)] = runner_for(a, workers=cores, num_threads=cores, kernels=litert_kernels,
                                                   trusted=trusted)
        except CannotSimulate as e:  # reported per artifact; the others are still validated
            skipped[artifact_key(a)] = str(e)
    try:
        runners.update(_device_runners(artifacts, on, skipped))
        result = evaluate(model, runners, dataset, batch_size=batch_size, task=task)
        by_key = {f"{artifact_key(a)}@{d}": a for a in artifacts for d in on}
        measurements = []
        for key, r in runners.items():  # what a device runner measured besides the outputs (firmware: instructions)
            summary = getattr(r, "device_summary", None)
            if summary is not None and key in result["artifacts"]:
                result["artifacts"][key]["device"] = summary()
            record = getattr(r, "measurement", lambda: None)() if key in by_key else None
            if record is not None:
                measurements.append((by_key[key], record))
        if skipped:
            result["not_validated"] = skipped
    finally:
        for r in runners.values():
            getattr(r, "close", lambda: None)()
    results = check(result, gates)
    if gates.any:  # a gate cannot pass on an artifact nobody ran
        results += [GateResult(key, "validated", "runtime", 0.0, 1.0, False, f"{key}: not validated: {why}")
                    for key, why in skipped.items()]  # fmt: skip
    return ValidationReport(result, results, measurements)


def check_devices(on: tuple[str, ...], artifacts) -> None:
    """Refuse an unknown ``--on`` device, or one none of ``artifacts`` runs on, before any work."""
    from targets import device_names, format_of

    known = device_names()
    for device in on:
        if device not in known:
            raise OptionError(f"--on {device}: unknown device; choose from {', '.join(known)}")
        if not any(format_of(a).device_runner(device) is not None for a in artifacts):
            raise OptionError(f"--on {device}: none of the artifacts ({', '.join(map(artifact_key, artifacts))}) runs there")


def _device_runners(artifacts, on: tuple[str, ...], skipped: dict) -> dict:
    """Loaded runners of the artifacts on each device of ``on``, keyed ``KEY@DEVICE``."""
    from targets import device_runner_for

    out = {}
    for device in on:
        for a in artifacts:
            key = f"{artifact_key(a)}@{device}"
            try:
                runner = device_runner_for(a, device)
            except CannotSimulate as e:
                skipped[key] = str(e)
                continue
            if runner is not None:
                out[key] = runner
    return out


def check_layers(model, formats) -> None:
    """Refuse ``--layers`` up front (one line) when the per-layer report of one of ``formats``
    (format names) cannot cover ``model``'s kind of source."""
    from targets import get_format

    for name in sorted(set(formats)):
        get_format(name).call("layer_check", model)


def diagnose_layers(model, artifacts, calib, evalset, session=None) -> dict:
    """Per-layer error report of every artifact whose format has one (int8 TFLite) and the
    --float-layers fix, from the QuantSpec each artifact records (``session``: the export
    run's, sharing its conversions)."""
    from targets import format_of

    out = {}
    for a in artifacts:
        record = format_of(a).call("layer_report", model, a, a.spec, calib, evalset, session) if a.spec else None
        if record is not None:
            out[artifact_key(a)] = record
    return out


def write_reports(report: ValidationReport, build_dir: Path, gates: Gates, junit: Path | None) -> None:
    """validation.json into the build dir, the baseline and JUnit files where asked."""
    BuildDir(build_dir).write_validation(report.to_json())
    if gates.update_baseline:
        atomic_write(gates.baseline, jsontext.dumps(baseline_of(report.result), indent=2, sort_keys=True) + "\n")
    if junit is not None:
        atomic_write(junit, junit_xml(report.gates))


def validate_build(build_dir: Path, eval_path: str, *, model_path: str | None = None, task: str | None = None,
                   gates: Gates = Gates(), targets: tuple[str, ...] = (), junit: Path | None = None,
                   batch_size: int = 256, litert_kernels: str | None = None, progress=None,
                   write: bool = True, layers: bool = False, unsafe: bool = False,
                   on: tuple[str, ...] = ()) -> ValidationReport:  # fmt: skip
    """Validate every artifact listed in ``build_dir/manifest.json`` on ``eval_path``, also on
    the devices ``on`` (and write validation.json, the baseline and JUnit files unless ``write`` is False).
    ``unsafe`` skips the safety checks of the source model (never taken from the manifest)."""
    import contextlib

    from edgekit.model import load_model, parse_input_shapes

    step = progress or (lambda text: contextlib.nullcontext())
    build_dir = Path(build_dir)
    gates.read_baseline()  # a bad baseline file fails before any work
    if junit is not None and not Path(junit).parent.is_dir():
        raise OutputError(f"--junit {junit}: its directory does not exist")
    build = BuildDir(build_dir)
    manifest = build.read_manifest()
    artifacts, opts, _, preprocess = _from_manifest(manifest, build)
    if targets:
        artifacts = select_targets(artifacts, targets, build_dir)
    for a in artifacts:
        if not a.primary.exists():
            raise ModelFileError(f"{a.primary}: listed in the manifest but missing; re-export the build")
    check_devices(on, artifacts)
    source, reference = build.float_reference(manifest, Path(model_path) if model_path else None)
    with step(f"Loading {source}"):
        model = load_model(source, batch=opts.get("batch", 1), input_shapes=parse_input_shapes(opts.get("input_shape")),
                           signature=opts.get("signature"), unsafe=unsafe)  # fmt: skip
    if layers:
        check_layers(model, [a.target for a in artifacts])
    dataset = Dataset.open(eval_path, model.inputs, preprocess, "--eval")
    where = f" (and on {', '.join(on)})" if on else ""
    with step(f"Validating {len(artifacts)} artifact(s) on {len(dataset)} samples{where}"):
        report = run_validation(model, artifacts, dataset, task=task, gates=gates, batch_size=batch_size,
                                litert_kernels=litert_kernels, on=on)
    report.result["eval"] = dataset.describe()
    report.result["reference"] = reference
    if layers:
        with step("Per-layer quantization error of int8 TFLite artifacts"):
            report.result["layers"] = diagnose_layers(model, artifacts, _calibration(manifest, model), dataset)
    if write:
        write_reports(report, build_dir, gates, junit)
        from targets import format_of

        for artifact, record in report.measurements:
            format_of(artifact).call("keep_measurement", artifact, record)
    return report


def _from_manifest(manifest, build: BuildDir) -> tuple[list, dict, str, Preprocess]:
    """(artifacts, each with its QuantSpec, export options, source model path, preprocessing)
    of a checked manifest."""
    artifacts = build_artifacts(build, manifest)
    try:
        opts, source = manifest.get("options", {}), str(manifest["source"]["path"])
        if not isinstance(opts.get("batch", 1), int) or not all(
            isinstance(opts.get(k), (str, type(None))) for k in ("input_shape", "signature")
        ):
            raise TypeError("batch, input_shape or signature has the wrong type")
        artifacts = [a if a.spec is not None else replace(a, spec=_guessed_spec(a, opts)) for a in artifacts]
        return artifacts, opts, source, Preprocess.from_json(opts.get("preprocess"))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise build.damaged(e) from e


def _guessed_spec(a, opts: dict):
    """The QuantSpec of an artifact from a manifest older than the one it records: the I/O
    dtype from its first input, the rest from the export options."""
    from quantize.spec import QuantSpec

    io = a.inputs[0].dtype if a.inputs and a.inputs[0].dtype in ("int8", "uint8", "int16") else "float32"
    io = io if a.scheme in ("int8", "int16x8") else None
    try:
        return QuantSpec(a.scheme, io, opts.get("per_channel", "conv"), opts.get("calib_size", 100),
                         tuple(opts.get("float_layers") or ()) if a.scheme == "int8" else (),
                         calib_range=opts.get("calib_range", "minmax") if a.scheme == "int8" else "minmax")  # fmt: skip
    except (OptionError, TypeError):  # not a scheme QuantSpec knows: nothing reads the spec of such a file
        return None


def _calibration(manifest: dict, model):
    cal = manifest["source"].get("calibration")
    if cal is None:
        raise OptionError("the per-layer report needs the build's calibration data; it was exported without any")
    if cal.get("random"):
        return Dataset.random(model.inputs, cal["samples"])
    return Dataset.open(cal["source"], model.inputs, Preprocess.from_json(cal.get("preprocess")), "--calib")
