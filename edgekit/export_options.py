"""The whole option schema of ``edgekit export``: the shared options (edgekit.options) and the
options each registered format declares beside its exporter (targets/<format>/options.py).

From it come: the click options (edgekit.cli), the config-file check (edgekit.config), the
values ``ExportOptions`` is built from (``merge``), the scope check and the Target
constructor arguments (edgekit.pipeline), and the reproduce command of the report
(``reproduce_args``). Nothing here imports a framework: the CLI reads it for ``--help``.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from pathlib import Path
from types import ModuleType

from edgekit.options import COMMON, VALIDATION, Option


def format_options(name: str) -> ModuleType:
    """The options module of format ``name`` (``OPTIONS`` and ``READS``): the one place that
    finds it, to become ``FORMAT.options`` once the registry lists Format descriptors."""
    return import_module(f"targets.{name}.options")


@cache
def export_schema() -> tuple[Option, ...]:
    """Every option of ``edgekit export``, in --help order (a format's own after the shared ones)."""
    from targets import target_names

    own: list[Option] = []
    for name in target_names():
        own += [o for o in format_options(name).OPTIONS if o not in own]
    return (*COMMON, *own, *VALIDATION)


def reads(name: str) -> dict[str, str]:
    """Target constructor keyword -> the shared export option format ``name`` reads."""
    return dict(format_options(name).READS)


def fields() -> tuple[Option, ...]:
    """The options that are ExportOptions fields (tables count once, as their own field)."""
    return tuple(o for o in export_schema() if o.stored and o.table is None)


def table_keys(table: str) -> tuple[Option, ...]:
    return tuple(o for o in export_schema() if o.table == table)


def merge(flags: dict, config: dict) -> dict:
    """ExportOptions keyword arguments: click's values (by ``dest``; None is "not given") over
    the values of a config file (edgekit.config.load_config), normalised to the field types."""
    from edgekit.data import Preprocess

    schema = export_schema()
    values = {k: dict(v) if isinstance(v, dict) else v for k, v in config.items()}
    for o in schema:
        value = flags.get(o.dest)
        if not o.stored or value is None or (o.multiple and not value):
            continue
        value = o.parse(value) if o.parse else value
        if o.table:
            values.setdefault(o.table, {})[o.name] = value
        else:
            values[o.name] = value
    for o in fields():
        if o.cli_default is not None:
            values.setdefault(o.name, o.cli_default)
        if o.name not in values:
            continue
        value = values[o.name]
        if o.comma_list and isinstance(value, str):
            value = tuple(v.strip() for v in value.split(",") if v.strip())
        elif o.comma_list or o.multiple:
            value = (value,) if isinstance(value, str) else tuple(value)
        elif o.type is Path:
            value = Path(value)
        values[o.name] = value
    if "preprocess" in values:
        values["preprocess"] = Preprocess(**values["preprocess"])
    return values


def given_format_options(opts) -> list[Option]:
    """The format-specific options ``opts`` (an ExportOptions) sets to other than their default;
    the keys of a table field (``coreml``) one by one, an unknown key as a key of that table."""
    out = []
    for o in fields():
        if not o.formats:
            continue
        value = getattr(opts, o.name)
        if o.toml == "table":
            keys = {k.name: k for k in table_keys(o.name)}
            out += [keys.get(k) or Option(k, table=o.name, formats=o.formats) for k in value]
        elif not _same(value, o.default):
            out.append(o)
    return out


def _same(value, default) -> bool:
    if isinstance(value, list):
        value = tuple(value)
    return value == default or (default is None and value in ((), ""))


def reproduce_args(options: dict) -> list[str]:
    """The flags that rebuild a build from the ``options`` its manifest recorded (defaults and
    options that do not change the build left out). Keys of a table without a flag (the rarer
    ``[export.coreml]`` keys) have no command-line form and stay in the manifest only."""
    args: list[str] = []
    for o in export_schema():
        if not o.reproduce or not o.flags or o.positional:
            continue
        value = (options.get(o.table) or {}).get(o.name) if o.table else options.get(o.name)
        if value is None or _same(value, o.default):
            continue
        if o.is_flag:
            args += [o.flag] if value else []
        elif o.multiple:
            args += [a for v in value for a in (o.flag, str(v))]
        elif o.render:
            args += [o.flag, o.render(value)]
        elif o.comma_list:
            args += [o.flag, ",".join(str(v) for v in value)]
        else:
            args += [o.flag, str(value)]
    return args
