"""The ``edgekit`` command line.

User mistakes (EdgekitError) print one line and exit 2; with ``-v`` the framework logs and
full tracebacks are shown. Framework noise is otherwise captured (see ``edgekit.quiet``).
"""

from __future__ import annotations

import contextlib
import sys
import time
import traceback
from pathlib import Path

import click

from edgekit import __version__, jsontext
from edgekit.errors import EdgekitError, OptionError
from edgekit.export_options import export_schema
from edgekit.fmt import printable, safe
from edgekit.options import (EPOCHS_HELP, FINETUNE_HELP, MAX_DROP, MIN_ACCURACY, MIN_COSINE, PRUNE_HELP, TASK, UNSAFE_HELP,
                             parse_floats, parse_scale)  # fmt: skip
from edgekit.cli_options import option, schema_options
from edgekit.quiet import captured_native_output, quiet_environment, terminal_stream


class _State:
    def __init__(self, verbose: bool):
        from rich.console import Console

        self.verbose = verbose
        # Bound to duplicates of fd 1/2 made before the redirect, so they reach the terminal.
        out = terminal_stream(1)
        # Logs and pipes get wide lines instead of rich's 80-column default.
        self.out = Console(file=out, highlight=False, soft_wrap=False, width=None if out.isatty() else 140)
        self.err = Console(file=terminal_stream(2), highlight=False, stderr=True)

    @contextlib.contextmanager
    def step(self, text: str):
        """A spinner while a long step runs and a timed tick after it (terminals only)."""
        if not self.err.is_terminal:
            yield
            return
        from rich.live import Live
        from rich.spinner import Spinner

        start = time.perf_counter()
        text = safe(text)  # step texts name files and layers
        # Console.status() would route sys.stdout/sys.stderr into the terminal while it spins,
        # past the fd redirect, so Python-level framework output (warnings, tqdm bars, TF's
        # "Saved artifact" report) would reach the user: keep them going to the captured log.
        spinner = Spinner("dots", text, style="status.spinner")
        with Live(spinner, console=self.err, transient=True, refresh_per_second=12.5,
                  redirect_stdout=False, redirect_stderr=False):  # fmt: skip
            yield
        self.err.print(f"[green]✓[/] {text} [dim]({time.perf_counter() - start:.1f} s)[/]")


class EdgekitGroup(click.Group):
    """Turns EdgekitError into one line and a non-zero exit."""

    def invoke(self, ctx):
        rest = [*(getattr(ctx, "_protected_args", None) or []), *ctx.args]
        ctx.meta["edgekit.help"] = any(a in ("-h", "--help") for a in rest)
        try:
            return super().invoke(ctx)
        except EdgekitError as e:
            self._fail(ctx, f"error: {e}", e.exit_code)
        except KeyboardInterrupt:
            self._fail(ctx, "interrupted; nothing was written", 130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as e:  # a bug in edgekit, not a user mistake
            self._fail(ctx, f"internal error: {type(e).__name__}: {e} (rerun with -v for the traceback)", 3)

    @staticmethod
    def _fail(ctx, message: str, code: int):
        state = ctx.obj
        stream = state.err.file if isinstance(state, _State) else sys.stderr
        if isinstance(state, _State) and state.verbose:
            traceback.print_exc(file=stream)
        stream.write(printable(message.replace("\n", " ")) + "\n")  # paths and names come from files
        stream.flush()
        ctx.exit(code)


@click.group(cls=EdgekitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Show framework logs and full tracebacks.")
@click.version_option(__version__, prog_name="edgekit")
@click.pass_context
def cli(ctx, verbose):
    """Quantize, prune and export trained models for the edge, and prove every artifact."""
    quiet_environment() if not verbose else None
    ctx.obj = _State(verbose)
    # A subcommand prints its --help while its arguments are parsed, after this point: never
    # capture a run that asks for help, or the text lands in the log instead of the terminal.
    wants_help = ctx.meta.get("edgekit.help", False)
    ctx.with_resource(captured_native_output(enabled=not (verbose or wants_help)))


def _warn_unsafe(state: _State, unsafe: bool) -> None:
    if unsafe:
        state.err.print("[bold yellow]warning:[/] --unsafe: model safety checks skipped; the model file may run "
                        "code on this machine while loading", soft_wrap=True)  # fmt: skip


@cli.command()
@schema_options(export_schema())
@click.pass_obj
def export(state: _State, **flags):
    """Export MODEL to every --target with the --quant schemes, and prove each artifact.

    \b
    edgekit export model.keras -t tflite -q float32,int8 --calib calib.npz --eval eval.npz -o build
    """
    from edgekit.config import load_config
    from edgekit.export_options import merge
    from edgekit.pipeline import ExportOptions, export as run_export
    from edgekit.summary import render_export, render_validation

    values = merge(flags, load_config(flags["config"]) if flags["config"] else {})
    if "model" not in values:
        raise OptionError("no MODEL given: pass a model file, or set 'model' in --config")
    opts = ExportOptions(**values)
    _warn_unsafe(state, opts.unsafe)
    result = run_export(opts, progress=state.step, read=[Path(flags["config"])] if flags["config"] else [])
    if flags["json"]:
        state.out.file.write(jsontext.dumps(result.manifest, indent=2, sort_keys=True) + "\n")
    else:
        render_export(result, state.out)
        if result.validation is not None and (result.validation.gates or result.validation.result.get("layers")):
            render_validation(result.validation, state.out, "validation")
        _report_line(state, result.out)
    if result.validation is not None and not result.validation.passed:
        raise click.exceptions.Exit(1)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Pruned model file (.keras, or .h5).")
@option("-p", "--prune", "prune", multiple=True, required=True, help=PRUNE_HELP)
@option("--finetune", help=FINETUNE_HELP)
@option("--epochs", type=int, help=EPOCHS_HELP)
@option("--calib", help="Data for criterion=activation (.npz, .npy, image directory).")
@option("--eval", "eval_", help="Labelled data: top-1 before and after pruning.")
@option("--scale", help="Preprocessing: multiply inputs by this (e.g. 1/255).")
@option("--mean", help="Preprocessing: subtract (per channel allowed).")
@option("--std", help="Preprocessing: divide by (per channel allowed).")
@option("--unsafe", is_flag=True, help=UNSAFE_HELP)
@option("--force", is_flag=True, help="Replace an existing output file.")
@option("--json", "as_json", is_flag=True, help="Print the pruning record as JSON.")
@click.pass_obj
def prune(state: _State, model, out, prune, finetune, epochs, calib, eval_, scale, mean, std, unsafe, force, as_json):
    """Prune a Keras MODEL and save the smaller model to --out.

    \b
    edgekit prune digits.keras -p channels=0.5,layers=conv --finetune train.npz --eval eval.npz -o pruned.keras
    """
    from edgekit.data import Dataset, Preprocess
    from edgekit.model import load_model
    from edgekit.pipeline import ExportOptions, plan_pruning
    from edgekit.prune_report import check_model_out, prune_source, render_pruning, save_keras

    opts = ExportOptions(model=model, prune=tuple(prune), finetune=finetune, epochs=epochs)
    specs = plan_pruning(opts)
    pre = Preprocess(parse_scale(scale), parse_floats(mean, "--mean"), parse_floats(std, "--std"))
    _warn_unsafe(state, unsafe)
    with state.step(f"Loading {model}"):
        source = load_model(model, unsafe=unsafe)
    check_model_out(out, source.kind, force)
    data = {k: Dataset.open(v, source.inputs, pre, f"--{k}") if v else None
            for k, v in (("calib", calib), ("eval", eval_), ("finetune", finetune))}  # fmt: skip
    with state.step("Pruning " + ", ".join(s.describe() for s in specs)):
        pruned, record = prune_source(source, specs, calib=data["calib"], train=data["finetune"],
                                      epochs=epochs or 5, evalset=data["eval"])  # fmt: skip
    save_keras(pruned, out, force)
    record["out"] = str(out)
    if as_json:
        state.out.file.write(jsontext.dumps(record, indent=2, sort_keys=True) + "\n")
    else:
        render_pruning(record, state.out)
        state.out.print(f"wrote {safe(out)}")


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@option("--ops", is_flag=True, help="Also list every op with its MACs and output.")
@option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@option("--unsafe", is_flag=True, help=UNSAFE_HELP)
@click.pass_obj
def inspect(state: _State, model, ops, as_json, unsafe):
    """Show MODEL's inputs, outputs, ops, parameters, MACs and largest tensors.

    \b
    edgekit inspect model.tflite --ops
    """
    from edgekit.inspect import inspect_path, render

    if not model.exists():
        raise OptionError(f"{model}: no such file or directory")
    _warn_unsafe(state, unsafe)
    report = inspect_path(model, with_ops=ops, unsafe=unsafe)
    if as_json:
        state.out.file.write(jsontext.dumps(report, indent=2) + "\n")
    else:
        render(report, state.out)


@cli.command()
@click.argument("build_dir", type=click.Path(path_type=Path))
@option("--eval", "eval_", required=True, help="Evaluation data (.npz with x and y, .npy, image directory).")
@option("--model", "model_path", help="The float source model (default: the path in the manifest).")
@option("--targets", "only", help="Validate only these targets (comma-separated).")
@option("--task", type=click.Choice(TASK.choices), help="What to score (default: from the output shape).")
@option("--max-drop", type=float, help=MAX_DROP.help)
@option("--min-cosine", type=float, help=MIN_COSINE.help)
@option("--min-accuracy", type=float, help=MIN_ACCURACY.help)
@option("--baseline", type=click.Path(path_type=Path), help="Baseline file: fail when worse than it.")
@option("--baseline-tolerance", type=float, default=0.1, show_default=True, help="Percentage points of top-1 (or AUC) an artifact may lose against the baseline.")
@option("--update-baseline", is_flag=True, help="Write this run's metrics as the new --baseline.")
@option("--junit", type=click.Path(path_type=Path), help="Also write a JUnit XML report here.")
@option("--litert-kernels", type=click.Choice(["xnnpack", "builtin", "reference"]), default="xnnpack",
              show_default=True, help="LiteRT kernels: XNNPACK as deployed on CPUs, or builtin/reference (bit-exact with TFLM).")
@option("--layers", is_flag=True, help="Per-layer quantization error of int8 TFLite artifacts, and the fix.")
@option("--on", "on", multiple=True, metavar="DEVICE",
              help="Also run the artifacts on this (emulated) device, e.g. qemu-m4 or qemu-m55-cmsis-nn (TFLM firmware under QEMU); repeatable.")
@option("--json", "as_json", is_flag=True, help="Print validation.json instead of the table.")
@option("--unsafe", is_flag=True, help=UNSAFE_HELP)
@click.pass_obj
def validate(state: _State, build_dir, eval_, model_path, only, task, max_drop, min_cosine, min_accuracy, baseline,
             baseline_tolerance, update_baseline, junit, litert_kernels, layers, on, as_json, unsafe):
    """Run every artifact of BUILD_DIR in its runtime over --eval and apply the gates.

    Exit code 0: all gates pass; 1: a gate failed; 2: an error.

    \b
    edgekit validate build/ --eval eval.npz --max-drop 1.0 --min-cosine 0.99 --junit validation.xml
    """
    from edgekit.simulate.gates import Gates
    from edgekit.summary import render_validation
    from edgekit.validate import validate_build
    from targets import parse_target_list

    gates = Gates(max_drop, min_cosine, min_accuracy, baseline, update_baseline, baseline_tolerance)
    targets = parse_target_list(only, "--targets") if only is not None else ()
    _warn_unsafe(state, unsafe)
    report = validate_build(build_dir, eval_, model_path=model_path, task=task, gates=gates, targets=targets,
                            junit=junit, litert_kernels=litert_kernels, progress=state.step, layers=layers,
                            unsafe=unsafe, on=tuple(on))  # fmt: skip
    _refresh_report(state, build_dir)
    if as_json:
        state.out.file.write(jsontext.dumps(report.to_json(), indent=2, sort_keys=True) + "\n")
    else:
        render_validation(report, state.out)
        _report_line(state, build_dir)
    if not report.passed:
        raise click.exceptions.Exit(1)


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@option("--seconds", type=float, default=1.0, show_default=True, help="Timed runs per variant (after warm-up).")
@option("--targets", "only", help="Only these targets (comma-separated).")
@option("--device", help="Check RAM/flash against this device profile (see `edgekit devices`).")
@option("--device-file", type=click.Path(path_type=Path), help="Your own device profile (TOML).")
@option("--require-fit", is_flag=True, help="Exit 1 when an artifact does not fit the device.")
@option("--ops", "show_ops", is_flag=True, help="With --device: the costliest ops of each model.")
@option("--json", "as_json", is_flag=True, help="Print the measurements as JSON.")
@click.pass_obj
def simulate(state: _State, path, seconds, only, device, device_file, require_fit, show_ops, as_json):
    """Measure host latency of every artifact of a build (or of one .tflite / .xml / .mlpackage),
    and estimate latency, RAM and flash on a device profile.

    Load/compile time is reported apart from inference; inference is timed after a
    warm-up, batch 1, with p50/p90/p99 over at least 30 runs. With --device, int8 TFLite
    and TFLM artifacts also get a device latency estimate from the calibrated cost model
    and a RAM/flash fit check. A build directory gets the results in simulation.json.

    \b
    edgekit simulate build/ --seconds 2
    edgekit simulate model_int8.tflite --device cortex-m4 --ops
    """
    from rich.table import Table

    from edgekit.build import BuildDir
    from edgekit.simulate.latency import artifacts_of, host_latency
    from targets import parse_target_list

    if not path.exists():
        raise OptionError(f"{path}: no such file or directory")
    if seconds <= 0:
        raise OptionError("--seconds must be positive")
    targets = parse_target_list(only, "--targets") if only is not None else ()
    dev = None
    if device or device_file:
        from edgekit.device import get_device

        dev = get_device(device, device_file)
    elif require_fit or show_ops:
        raise OptionError(f"{'--require-fit' if require_fit else '--ops'} needs --device NAME or --device-file FILE")
    found = artifacts_of(path, targets)
    result = host_latency(path, seconds, targets, progress=state.step, artifacts=found)
    if dev is not None:
        from edgekit.simulate.device_latency import estimate_artifact
        from edgekit.simulate.memory import memory_fit

        result["device"] = dev.__dict__ | {"features": list(dev.features)}
        result["memory"] = [memory_fit(a, dev) for a in found]
        result["device_latency"] = [estimate_artifact(a, dev) for a in found]
    if path.is_dir():
        BuildDir(path).write_simulation(result)
        _refresh_report(state, path)
    if as_json:
        state.out.file.write(jsontext.dumps(result, indent=2, sort_keys=True) + "\n")
        return
    host = result["host"]
    table = Table(title=f"host latency in ms ({host['processor']}, {host['cores']} cores, batch 1)", title_justify="left")
    for col in ("artifact", "runtime", "load", "p50", "p90", "p99", "runs"):
        table.add_column(col, justify="left" if col in ("artifact", "runtime") else "right", no_wrap=True)
    for key, rows in result["artifacts"].items():
        for r in rows:
            table.add_row(safe(key), r["variant"], f"{r['load_ms']:.1f}", f"{r['p50_ms']:.3f}", f"{r['p90_ms']:.3f}",
                          f"{r['p99_ms']:.3f}", str(r["runs"]))  # fmt: skip
    state.out.print(table)
    for key, reason in result.get("not_timed", {}).items():
        state.out.print(f"[bold yellow]not timed:[/] {safe(key)}: {safe(reason)}", soft_wrap=True)
    if dev is not None:
        from edgekit.summary import render_device

        render_device(result, dev, state.out, show_ops)
    if path.is_dir():
        _report_line(state, path)
    if require_fit and not all(m["fits"] for m in result.get("memory", []) if m["applies"]):
        raise click.exceptions.Exit(1)


@cli.command()
@click.argument("build_dir", type=click.Path(path_type=Path))
@click.pass_obj
def report(state: _State, build_dir):
    """Regenerate BUILD_DIR/report.html and report.md from its JSON files (runs nothing).

    \b
    edgekit report build/
    """
    from edgekit.fmt import fmt_bytes
    from edgekit.report import write_report

    for page in write_report(build_dir):
        state.out.print(f"{safe(page)}  {fmt_bytes(page.stat().st_size)}")


def _refresh_report(state: _State, build_dir: Path) -> None:
    """Rewrite the build's report after a command changed its JSON; a failure only warns."""
    from edgekit.report import refresh_report

    problem = refresh_report(build_dir)
    if problem:
        state.err.print(f"[bold yellow]warning:[/] {safe(problem)}", soft_wrap=True)


def _report_line(state: _State, build_dir: Path) -> None:
    from edgekit.report import REPORT_HTML

    if (Path(build_dir) / REPORT_HTML).exists():
        state.out.print(f"[dim]report: {safe(Path(build_dir) / REPORT_HTML)} (and report.md)[/]", soft_wrap=True)


@cli.command()
@click.pass_obj
def devices(state: _State):
    """List the device profiles shipped with edgekit."""
    from rich.table import Table

    from edgekit.device import builtin_devices
    from edgekit.simulate.device_latency import basis_for

    table = Table(title="device profiles (use --device NAME, or --device-file for your own)", title_justify="left")
    for col in ("name", "core", "MHz", "SRAM KiB", "flash KiB", "kernels", "latency model", "board"):
        table.add_column(col, justify="right" if col in ("MHz", "SRAM KiB", "flash KiB") else "left", no_wrap=col != "board")
    for d in builtin_devices().values():
        basis = basis_for(d)
        if isinstance(basis, str):
            model = "none"
        else:
            model = basis.board + ("" if basis.core_factor == 1.0 else f" x{basis.core_factor:.3g}")
        table.add_row(d.name, safe(d.core), f"{d.clock_mhz:g}", f"{d.sram_kb:g}", f"{d.flash_kb:g}", d.kernels, model, safe(d.board))
    state.out.print(table)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Directory for the sources.")
@option("--name", help="Prefix of the generated symbols and files (default: the model file name).")
@option("--lang", type=click.Choice(["c", "cc"]), default="c", show_default=True, help="Model data as C or C++.")
@option("--section", help="Linker section for the model data (e.g. .rodata.model).")
@option("--labels", help="Text file with the class labels, one per line.")
@option("--arena-margin", type=int, help="Bytes added to the measured arena (default 5%, >= 1 KiB).")
@option("--app", is_flag=True, help="Also write NAME_main.cc, a minimal TFLM application.")
@option("--keep-strings", is_flag=True, help="Keep the tensor names, signatures and metadata TFLM never reads.")
@option("--force", is_flag=True, help="Replace generated files that already exist.")
@click.pass_obj
def header(state: _State, model, out, name, lang, section, labels, arena_margin, app, keep_strings, force):
    """Turn a .tflite into TFLite Micro sources: model data, settings, op resolver.

    \b
    edgekit header model_int8.tflite -o firmware/src --name kws --section .rodata.model
    """
    from edgekit.data import read_labels
    from edgekit.fmt import fmt_bytes
    from edgekit.outdir import write_files
    from edgekit.tflite_graph import TFLiteGraph
    from targets.c_names import model_c_name
    from targets.tflm.exporter import build_tflm_sources

    if model.is_dir() or model.suffix.lower() != ".tflite":
        raise OptionError(f"{model}: `edgekit header` takes a .tflite file; use `edgekit export --target tflm` for other models")
    graph = TFLiteGraph.from_file(model)
    cname = model_c_name(name, explicit=True) if name else model_c_name(model.stem, explicit=False)
    with state.step(f"Measuring the arena and rendering {cname}"):
        sources = build_tflm_sources(
            graph.data, name=cname, model_name=model.name, lang=lang, section=section,
            labels=read_labels(labels) if labels else None, arena_margin=arena_margin, app=app,
            keep_strings=keep_strings,
        )  # fmt: skip
    written = write_files(out, sources.files, force)
    arena = sources.metadata["arena"]
    for path in written:
        state.out.print(f"{safe(path)}  {fmt_bytes(path.stat().st_size)}")
    state.out.print(
        f"arena {arena['size']:,} B ({arena['required']:,} measured + {arena['margin']:,} margin; "
        f"32-bit target {arena['size_32bit']:,} B); ops: {safe(', '.join(sources.metadata['ops']))}"
    )
    state.out.print(safe(sources.notes[-1]))


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Directory for the project.")
@option("--board", default="mps2-an386", show_default=True,
              help="Board to build for (emulated by QEMU): mps2-an386 (M4), mps2-an500 (M7), mps2-an505 (M33), mps3-an547 (M55).")
@option("--kernels", default="reference", show_default=True, help="TFLM kernel library: reference or cmsis-nn.")
@option("--tflm-root", type=click.Path(path_type=Path), help="TFLM source tree (create_tflm_tree.py output).")
@option("--scheme", help="Which tflm artifact of the build (when it has several).")
@option("--sample", "sample_data", type=click.Path(path_type=Path),
              help="Evaluation data (as --eval takes it): compile one of its samples into NAME_sample.c (default: zeros).")
@option("--sample-index", type=click.IntRange(min=0), default=0, show_default=True, help="Which sample of --sample.")
@option("--build", "do_build", is_flag=True,
              help="Also build it (arm-none-eabi-gcc), measure flash and RAM per component, run it once in QEMU for the stack.")
@option("--measure-arena", is_flag=True, help="With --build: bisect the exact 32-bit arena on the emulated core.")
@option("--force", is_flag=True, help="Replace project files that already exist.")
@click.pass_obj
def firmware(state: _State, source, out, board, kernels, tflm_root, scheme, sample_data, sample_index, do_build,
             measure_arena, force):  # fmt: skip
    """Write a buildable firmware project for SOURCE (a build with a tflm artifact, or a .tflite).

    \b
    edgekit firmware build/digits --board mps2-an386 -o fw/digits --build
    """
    from edgekit.outdir import write_files
    from targets.tflm.firmware import model_from_source, project_for, sample_from_data

    if measure_arena and not do_build:
        raise OptionError("--measure-arena runs the built firmware: add --build")
    given = model_from_source(source, scheme)
    sample = sample_from_data(given["data"], sample_data, sample_index) if sample_data is not None else None
    with state.step(f"Measuring the arena and rendering the {board} project"):
        project = project_for(**given, board=board, kernels=kernels, tflm_root=tflm_root, sample=sample)
    written = write_files(out, project.files, force)
    state.out.print(f"{safe(out)}: {len(written)} files for {board} ({kernels} kernels, "
                    f"{len(project.record['kernel_sources'])} kernel files); build with `make -C {safe(out)}`")  # fmt: skip
    if do_build:
        _build_firmware(state, source, scheme, given, project, out, measure_arena, sample)


def _build_firmware(state: _State, source, scheme, given, project, out, measure_arena, sample) -> None:
    """Build, measure (and bisect the arena of) a written project; print the size table."""
    from rich.table import Table

    from targets.tflm.firmware import project_for
    from targets.tflm.fwbuild import SIZES, build
    from targets.tflm.fwmeasure import arena_note, measure_project, record_for_artifact
    from targets.tflm.fwsize import table_rows

    with state.step("Building the firmware"):
        build(out)
    with state.step("Measuring it under QEMU" + (" (arena bisection)" if measure_arena else "")):
        sizes = measure_project(out, arena=measure_arena)
    table = Table(title=f"{project.board.name} ({project.kernels} kernels): bytes from the linked ELF's map"
                        + (", RAM run on the emulated core" if "ram" in sizes else ""), title_justify="left")  # fmt: skip
    for col in ("component", "flash", "RAM"):
        table.add_column(col, justify="left" if col == "component" else "right")
    for label, flash, ram in table_rows(sizes):
        table.add_row(safe(label), f"{flash:,}" if flash else "", f"{ram:,}" if ram else "")
    state.out.print(table)
    if "ram_note" in sizes:
        state.out.print(safe(sizes["ram_note"]))
    if measure_arena:
        found = sizes["arena_32bit"]
        nbytes, where = arena_note(found)
        settings = f"{project.name}_model_settings.h"
        again = project_for(**given, board=project.board.name, kernels=project.kernels, tflm_root=project.tflm_root,
                            arena32=(nbytes, where), sample=sample)  # fmt: skip
        (out / settings).write_text(again.files[settings])
        state.out.print(f"arena on {safe(where)}: {nbytes:,} B exact (fails at {found['fails_at']:,} B; TFLM reported "
                        f"{found['arena_used_reported']:,} B used; {found['qemu_runs']} QEMU runs); "
                        f"{project.name.upper()}_ARENA_SIZE_32BIT in {safe(out / settings)}")  # fmt: skip
    state.out.print(f"{sizes['tflm_objects_compiled']} TFLM objects compiled in {sizes['build_seconds']} s; {safe(out / 'build' / SIZES)}")
    if Path(source).is_dir():
        from targets.tflm.firmware import tflm_artifact

        kept = record_for_artifact(tflm_artifact(source, scheme)[0].directory, sizes, project.record["tflite_sha256"])
        state.out.print(f"measurements kept for `edgekit simulate --device`: {safe(kept)}")


@cli.command()
@click.pass_obj
def targets(state: _State):
    """List the targets and the schemes each can produce."""
    from rich.table import Table

    from quantize.spec import SCHEMES
    from targets import get_target, target_names

    table = Table(title="Schemes per target", title_justify="left")
    table.add_column("scheme")
    names = target_names()
    for n in names:
        table.add_column(n, justify="center")
    table.add_column("what it does")
    supported = {n: get_target(n).schemes for n in names}
    for s in SCHEMES.values():
        table.add_row(s.name, *("yes" if s.name in supported[n] else "-" for n in names), s.summary)
    state.out.print(table)


def main() -> None:
    cli(prog_name="edgekit")


if __name__ == "__main__":
    main()
