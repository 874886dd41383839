"""The option schema (edgekit.options, targets/<format>/options.py, edgekit.export_options):
each option declared once, and what is generated from it agrees with it. No TensorFlow."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest

from edgekit.errors import OptionError
from edgekit.export_options import export_schema, field_options, format_options, merge, reads, reproduce_args, table_keys
from edgekit.options import MAX_DROP, Option
from edgekit.pipeline import ExportOptions
from targets import get_target, target_names
from tests.test_imports import import_graph

# ExportOptions type annotation (its first alternative) of a schema option
_ANNOTATION = {int: "int", float: "float", bool: "bool", Path: "Path", str: "str", dict: "dict"}


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else None


def test_export_options_fields_are_the_schema():
    schema = {o.name: o for o in field_options()}
    dc = {f.name: f for f in dataclasses.fields(ExportOptions)}
    assert list(dc) == [n for n in dc if n in schema] and set(dc) == set(schema), (
        f"ExportOptions and the schema differ: only in ExportOptions {sorted(set(dc) - set(schema))}, "
        f"only in the schema {sorted(set(schema) - set(dc))}"
    )
    for name, o in schema.items():
        ann = str(dc[name].type).split(" | ")[0]
        if o.comma_list or o.multiple:
            assert ann == "tuple[str, ...]", name
        elif name == "preprocess":  # a table held as an edgekit.data.Preprocess
            assert ann == "Preprocess" and _default(dc[name]).to_json() == {}
            continue
        else:
            assert ann == _ANNOTATION[o.type], f"{name}: ExportOptions says {ann}, the schema {o.type.__name__}"
        if name == "model":  # required
            assert dc[name].default is dataclasses.MISSING
        else:
            assert _default(dc[name]) == o.default, f"{name}: default {_default(dc[name])!r} vs schema {o.default!r}"


def test_every_option_once_with_unique_flags():
    schema = export_schema()
    keys = [(o.table, o.name) for o in schema]
    assert len(keys) == len(set(keys))
    dests = [o.dest for o in schema if o.flags]
    assert len(dests) == len(set(dests))
    flags = [f for o in schema for f in o.flags]
    assert len(flags) == len(set(flags))
    for o in schema:
        assert o.help, o.name
        assert set(o.formats) <= set(target_names()), o.name
        if o.flags and o.table is None:
            assert o.dest == o.name, f"{o.flag}: the flag and the field name differ"


def test_core_module_names_no_target_package():
    assert not {m for m in import_graph()["edgekit.options"] if m.split(".")[0] == "targets"}


@pytest.mark.parametrize("name", target_names())
def test_constructor_arguments_exist(name):
    """Every option a format passes to its Target constructor is a parameter of it."""
    cls = type(get_target(name))
    params = set(inspect.signature(cls.__init__).parameters) - {"self"}
    mine = {o.arg for o in field_options() if o.arg and name in o.formats}
    assert mine | set(reads(name)) <= params
    assert set(format_options(name).reads.values()) <= {o.name for o in field_options()}


def test_format_constants_equal_the_exporters():
    from targets.coreml import exporter as coreml
    from targets.tflm import exporter as tflm
    from targets.tflm.options import MAX_MARGIN

    assert MAX_MARGIN == tflm.MAX_MARGIN
    keys = {o.name: o for o in table_keys("coreml")}
    assert set(keys) == set(coreml.OPTION_KEYS)
    assert keys["precision"].choices == coreml.PRECISIONS and keys["input"].choices == coreml.INPUT_KINDS
    assert keys["color_layout"].choices == coreml.COLOR_LAYOUTS


@pytest.mark.parametrize(
    "option, value, message",
    [
        (MAX_DROP, 200, "--max-drop 200: out of range; it is percentage points, from 0 to 100"),
        (MAX_DROP, float("nan"), r"--max-drop nan: give a number \(percentage points\)"),
        (Option("batch", ("--batch",), type=int, min=1), 0, "--batch must be at least 1, got 0"),
        (Option("batch", ("--batch",), type=int, min=1), "2", "--batch '2': give an integer"),
        (Option("r", ("--r",), type=float, min=0, min_inclusive=False), 0, "--r must be more than 0, got 0"),
        (Option("lang", ("--lang",), choices=("c", "cc")), "rust", "--lang 'rust': choose one of c, cc"),
        (Option("m", ("--m",), type=int, min=0, max=9, range_hint="give 0 to 9 bytes"), 10, "--m 10: give 0 to 9 bytes"),
        (Option("k", table="coreml", choices=("a",)), "b", "coreml option 'k' 'b': choose one of a"),
    ],
)
def test_check_refuses_in_the_option_words(option, value, message):
    with pytest.raises(OptionError, match=message):
        option.check(value)
    option.check(None)


def test_merge_flags_over_config():
    config = {"target": ["tflite", "coreml"], "calib_size": 5, "coreml": {"precision": "float32", "author": "me"},
              "preprocess": {"mean": (0.5,)}, "model": "m.keras", "prune": "ops"}  # fmt: skip
    flags = {"coreml_target": "iOS17", "scale": "1/255", "float_layers": "a, b,", "prune": (), "out": "o", "layers": None}
    v = merge(flags, config)
    assert v["target"] == ("tflite", "coreml") and v["calib_size"] == 5 and v["float_layers"] == ("a", "b")
    assert v["coreml"] == {"precision": "float32", "author": "me", "deployment_target": "iOS17"}
    assert v["preprocess"].scale == pytest.approx(1 / 255) and v["preprocess"].mean == (0.5,)
    assert v["model"] == Path("m.keras") and v["out"] == Path("o") and v["prune"] == ("ops",)
    assert v["latency"] is True and "layers" not in v  # the CLI's default; not given
    assert config["coreml"] == {"precision": "float32", "author": "me"}  # not changed in place


def test_reproduce_args_rebuild_the_same_options():
    """The report's command, parsed by the CLI, gives back the options the manifest recorded."""
    from edgekit.cli import export

    opts = ExportOptions(
        model=Path("m.keras"), out=Path("b"), target=("tflite", "tflm", "coreml"), quant="tflite=int8,tflm=int8,coreml=float16",
        calib="c.npz", calib_size=20, per_channel="all", float_layers=("conv 1", "d"), batch=2, labels="l.txt",
        lang="cc", arena_margin=2048, coreml={"deployment_target": "iOS17", "precision": "float32"},
        max_drop=1.5, layers=True, prune=("ops", "channels=0.5"), finetune="t.npz", epochs=3, unsafe=True,
    )  # fmt: skip
    recorded = {**opts.to_json(), "preprocess": {"scale": 1 / 255, "mean": [0.5, 0.25]}}
    args = reproduce_args(recorded)
    assert args[:4] == ["--target", "tflite,tflm,coreml", "--quant", "tflite=int8,tflm=int8,coreml=float16"]
    assert "--prune" in args and "--coreml-target" in args and "--latency" not in args and "--force" not in args
    ctx = export.make_context("export", ["m.keras", *args, "--out", "b"])
    again = ExportOptions(**merge(ctx.params, {}))
    assert again.to_json() | {"latency": False, "preprocess": {}} == opts.to_json() | {"preprocess": {}}
    assert again.preprocess.mean == (0.5, 0.25) and again.preprocess.scale == pytest.approx(1 / 255, rel=1e-5)


def test_reproduce_args_leave_defaults_out():
    assert reproduce_args(ExportOptions(model=Path("m.keras")).to_json()) == []
    assert reproduce_args({"quant": {"tflite": ["int8", "float16"]}, "target": ["tflite"]}) == ["--quant", "tflite=int8,tflite=float16"]
