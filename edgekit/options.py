"""One declaration per option: name, flags, type, range or choices, unit, help, config key and
the formats that use it.

The click options of ``edgekit export``, the config-file check, the ``ExportOptions`` fields
(checked by tests/test_options.py), the reproduce command of the report and the options table
of docs/export.md all come from these declarations. This module is core: it names no format;
each format declares its own options in ``targets/<format>/options.py`` and
``edgekit.export_options`` puts the whole schema together.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.errors import OptionError


@dataclass(frozen=True)
class Option:
    """One option. ``name`` is the ExportOptions field and the config key (a key of the config
    table ``table`` when that is set, e.g. ``[export.coreml] deployment_target``)."""

    name: str
    flags: tuple[str, ...] = ()  # CLI spellings; none: a config-file key only
    help: str = ""  # one line for --help
    doc: str = ""  # the docs/ table's text (Markdown, links relative to docs/); default: help
    type: type = str  # str, int, float, bool or Path
    default: Any = field(default=None, hash=False)  # may be a dict (the coreml table)
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True
    unit: str = ""  # of a number, in plain words ("percentage points")
    range_hint: str = ""  # replaces the generic out-of-range sentence
    formats: tuple[str, ...] = ()  # the formats that use it; empty: every format
    is_path: bool = False  # config values are relative to the config file
    not_paths: tuple[str, ...] = ()  # values of a path option that are not paths ("random")
    multiple: bool = False  # repeatable flag (-p A -p B); a list in a config file
    comma_list: bool = False  # "a,b" -> ("a", "b"); a list in a config file
    joins: bool = False  # comma-separated text: a repeated flag joins ("-q int8 -q tflm=int8")
    config: bool = True  # settable in a config file
    stored: bool = True  # an ExportOptions field (--config and --json are not)
    table: str | None = None  # the config table (and ExportOptions field) it is a key of
    arg: str | None = None  # the keyword of its formats' Target constructor (default: name)
    toml: str = ""  # config kind when not derived from type: "quant", "table", "numbers"
    cli_default: Any = None  # what the CLI uses when neither a flag nor the config gives it
    reproduce: bool = True  # part of the command that rebuilds the build
    positional: bool = False  # a click argument (MODEL)
    parse: Callable[[str], Any] | None = None  # CLI text -> value
    render: Callable[[Any], str] | None = None  # value -> CLI text in the reproduce command

    @property
    def flag(self) -> str:
        """The spelling errors name: the long flag, else the config key."""
        longs = [f for f in self.flags if f.startswith("--")]
        if longs:
            return longs[0].split("/")[0]
        return f"{self.table} option '{self.name}'" if self.table else f"'{self.name}'"

    @property
    def dest(self) -> str:
        """The click parameter name (unique across the schema)."""
        return self.flag[2:].replace("-", "_") if self.flags else self.name

    @property
    def is_flag(self) -> bool:
        return self.type is bool and "/" not in "".join(self.flags)

    def check(self, value) -> None:
        """Refuse a value outside the declared choices or range (None is "not given")."""
        if value is None:
            return
        if self.choices and value not in self.choices:
            raise OptionError(f"{self.flag} {value!r}: choose one of {', '.join(self.choices)}")
        if self.min is None and self.max is None:
            return
        unit = f" ({self.unit})" if self.unit else ""
        if self.type is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise OptionError(f"{self.flag} {value!r}: give an integer{unit}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise OptionError(f"{self.flag} {value!r}: give a number{unit}")
        low_ok = self.min is None or (value >= self.min if self.min_inclusive else value > self.min)
        high_ok = self.max is None or (value <= self.max if self.max_inclusive else value < self.max)
        if low_ok and high_ok:
            return
        if self.range_hint:
            raise OptionError(f"{self.flag} {value}: {self.range_hint}")
        if self.max is None:
            relation = "at least" if self.min_inclusive else "more than"
            raise OptionError(f"{self.flag} must be {relation} {self.min}, got {value}")
        raise OptionError(f"{self.flag} {value}: out of range; it is {self.unit}, from {self.min} to {self.max}")

    def applies_to(self, fmt: str) -> bool:
        return not self.formats or fmt in self.formats


# --- CLI text parsers (also used by `edgekit prune`) ---


def parse_floats(text: str | None, option: str):
    """``0.5`` or ``0.5,0.5,0.5`` -> a tuple of floats."""
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise OptionError(f"{option} '{text}': give a number or comma-separated numbers") from None


def parse_scale(text: str | None):
    """``0.00392`` or ``1/255`` -> a float."""
    if text is None:
        return None
    try:
        if "/" in text:
            num, den = text.split("/")
            return float(num) / float(den)
        return float(text)
    except (ValueError, ZeroDivisionError):
        raise OptionError(f"--scale '{text}': give a number such as 0.00392 or 1/255") from None


def _numbers(value) -> str:
    return ",".join(f"{v:g}" for v in value) if isinstance(value, (list, tuple)) else f"{value:g}"


def _quant_text(q) -> str:
    """A TOML ``quant`` table as the ``tflite=int8,...`` form of ``--quant``."""
    if isinstance(q, dict):
        return ",".join(f"{t}={s}" for t, ss in q.items() for s in ([ss] if isinstance(ss, str) else ss))
    return ",".join(q) if isinstance(q, (list, tuple)) else q


TASKS = ("classification", "regression", "anomaly")

# The gates, shared by `edgekit export --eval` and `edgekit validate` (edgekit.simulate.gates checks them).
MAX_DROP = Option(
    "max_drop", ("--max-drop",), type=float, min=0, max=100, unit="percentage points",
    help="Gate: percentage points of top-1 (or AUC) an artifact may lose against float (0-100; 0.5 = half a point).",
)  # fmt: skip
MIN_COSINE = Option(
    "min_cosine", ("--min-cosine",), type=float, min=-1, max=1, unit="a cosine similarity",
    help="Gate: least cosine similarity with the float model, every output (-1 to 1, e.g. 0.99).",
)  # fmt: skip
MIN_ACCURACY = Option(
    "min_accuracy", ("--min-accuracy",), type=float, min=0, max=100, unit="percent",
    help="Gate: least top-1 (or AUC) in percent (e.g. 95 for 95%; 0 < value <= 1 is refused as ambiguous).",
)  # fmt: skip
BASELINE_TOLERANCE = Option(
    "baseline_tolerance", ("--baseline-tolerance",), type=float, default=0.1, min=0, max=100, unit="percentage points",
    help="Percentage points of top-1 (or AUC) an artifact may lose against the baseline.",
)  # fmt: skip
TASK = Option("task", ("--task",), choices=TASKS, help="What --eval scores (default: from the output shape).",
              doc="what `--eval` scores (default: from the output shape); see [validate.md](validate.md#options)")

UNSAFE_HELP = "Skip the model safety checks (code in Keras configs, file/library ops in SavedModels): trusted files only."
PRUNE_HELP = "Prune before export (repeatable): channels=0.3, sparsity=0.8 or ops; options after commas (see docs/pruning.md)."
FINETUNE_HELP = "Labelled data (.npz with x and y) to fine-tune the pruned model on."
EPOCHS_HELP = "Fine-tuning epochs (default 5)."

# The options of `edgekit export` every format shares, in --help order. Format-specific ones
# come from targets/<format>/options.py (see edgekit.export_options).
COMMON: tuple[Option, ...] = (
    Option("model", type=Path, is_path=True, positional=True, reproduce=False,
           help="The trained model: .keras, .h5, a SavedModel directory, .tflite, .onnx or .pt2."),
    Option("target", ("-t", "--target"), default=("tflite",), comma_list=True,
           help="Targets, comma-separated (default: tflite).",
           doc="targets, comma-separated, from `edgekit targets` ([targets.md](targets.md); default `tflite`); "
               "unknown or empty names are errors (with a did-you-mean)"),
    Option("quant", ("-q", "--quant"), default="float32", toml="quant", render=_quant_text, joins=True,
           help="Schemes: 'int8', 'float32,int8' or 'tflite=int8,...'.",
           doc="`int8`, `float32,int8` (every target), or `tflite=int8,coreml=palettize4` (per target; repeat a target "
               "for several schemes). A scheme given for several targets that one of them cannot produce becomes that "
               "target's closest ([targets.md](targets.md#one---quant-for-several-targets)); per target it is exact"),
    Option("calib", ("--calib",), is_path=True, not_paths=("random",),
           help="Calibration data: .npz, .npy, image directory, or 'random'.",
           doc="calibration data for `int8`/`int16x8`: `.npz`, `.npy`, an image directory, or `random` (runs, but "
               "accuracy is meaningless — a warning says so)"),
    Option("eval", ("--eval",), is_path=True, help="Evaluation data (.npz with x and y, .npy, image directory).",
           doc="evaluation data; adds accuracy, agreement and cosine per artifact"),
    Option("out", ("-o", "--out"), type=Path, default=Path("build"), is_path=True, reproduce=False,
           help="Build directory (default: build).",
           doc="build directory; must not exist unless `--force`; never a symlink; checked before the model is read"),
    Option("config", ("--config",), type=Path, config=False, stored=False, reproduce=False,
           help="TOML file with any of these options.",
           doc="read any of these options from a TOML file; flags on the command line win (see [config.md](config.md))"),
    Option("calib_size", ("--calib-size",), type=int, default=100, min=1, help="Calibration samples to use (default 100)."),
    Option("io_dtype", ("--io-dtype",), choices=("int8", "uint8", "int16", "float32"), help="I/O type of integer schemes.",
           doc="I/O type of integer schemes: `int8` (default), `uint8`, `float32` for int8; `int16` (default) or "
               "`float32` for int16x8"),
    Option("batch", ("--batch",), type=int, default=1, min=1, help="Fixed batch size of the exported model (default 1)."),
    Option("input_shape", ("--input-shape",), help="Fix input shapes: 1x96x96x3 or NAME=1x96x96x3;NAME2=...",
           doc="fix unknown input dimensions: `1x96x96x3` or `NAME=1x96x96x3;NAME2=1x10`"),
    Option("signature", ("--signature",), help="SavedModel signature to export (default serving_default)."),
    Option("preprocess", type=dict, toml="table", help="Preprocessing of calibration and evaluation data."),
    Option("scale", ("--scale",), type=float, table="preprocess", toml="number", parse=parse_scale, render=_numbers,
           help="Preprocessing: multiply inputs by this (e.g. 1/255).",
           doc="preprocessing applied to calibration/evaluation data: `x' = (x*scale - mean)/std`; one finite number "
               "(`--scale 1/255`)"),
    Option("mean", ("--mean",), type=float, table="preprocess", toml="numbers", render=_numbers,
           parse=lambda text: parse_floats(text, "--mean"), help="Preprocessing: subtract (per channel: 0.5,0.5,0.5).",
           doc="preprocessing: subtract; one value or one per channel (the input's last axis, checked before "
               "conversion): `--mean 0.5,0.5,0.5`"),
    Option("std", ("--std",), type=float, table="preprocess", toml="numbers", render=_numbers,
           parse=lambda text: parse_floats(text, "--std"), help="Preprocessing: divide by (per channel allowed).",
           doc="preprocessing: divide by; one value or one per channel; non-zero"),
)

# After the format-specific options in --help.
VALIDATION: tuple[Option, ...] = (
    TASK, MAX_DROP, MIN_COSINE, MIN_ACCURACY,
    Option("layers", ("--layers",), type=bool, default=False,
           help="With --eval: per-layer error report of int8 TFLite artifacts.",
           doc="with `--eval`: per-layer error report of int8 TFLite artifacts, as for [`edgekit validate`](validate.md#options)"),
    Option("latency", ("--latency/--no-latency",), type=bool, default=False, cli_default=True, reproduce=False,
           help="Time each artifact on the host for the summary (default: on).",
           doc="`--no-latency` skips timing each artifact on the host for the summary's \"host p50\" column "
               "(`--latency`, on by default in the CLI: 0.1 s per artifact, first runtime variant; off by default in "
               "the [Python API](python-api.md); timings never go into `manifest.json`, so builds stay byte-identical; "
               "[`edgekit simulate`](simulate.md) measures properly)"),
    Option("prune", ("-p", "--prune"), default=(), multiple=True, help=PRUNE_HELP,
           doc="prune the model before every target (repeatable): `channels=0.3`, `sparsity=0.8`, `ops`; see "
               "[pruning.md](pruning.md)"),
    Option("finetune", ("--finetune",), is_path=True, help=FINETUNE_HELP,
           doc="with `--prune`: fine-tune the pruned model on labelled data (`.npz` with `x` and `y`)"),
    Option("epochs", ("--epochs",), type=int, min=1, help=EPOCHS_HELP, doc="with `--finetune`: epochs (default 5)"),
    Option("unsafe", ("--unsafe",), type=bool, default=False, config=False, help=UNSAFE_HELP,
           doc="skip the model safety checks for a file you trust (code in Keras configs, file/library ops in "
               "SavedModels; see [security](security.md)); prints a warning; never settable in a config file"),
    Option("force", ("--force",), type=bool, default=False, reproduce=False,
           help="Replace an existing edgekit build (or an empty directory).",
           doc="replace an existing **edgekit build** (a directory with edgekit's `manifest.json`) or an empty "
               "directory; anything else is refused ([rules](security.md#output-directories))"),
    Option("json", ("--json",), type=bool, default=False, config=False, stored=False, reproduce=False,
           help="Print the manifest as JSON instead of the table."),
)  # fmt: skip
