"""The whole option schema of ``edgekit export``: the shared options (edgekit.options) and the
options each registered format declares beside its exporter (targets/<format>/options.py).

From it come: the click options (edgekit.cli), the config-file check (edgekit.config), the
values ``ExportOptions`` is built from (``merge``), the scope check and the Target
constructor arguments (edgekit.pipeline), and the reproduce command of the report
(``reproduce_args``). Nothing here imports a framework: the CLI reads it for ``--help``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from edgekit.options import COMMON, VALIDATION, Option


def format_options(name: str):
    """The Format descriptor of ``name``: its ``options``, ``uses`` and ``reads``."""
    from targets import get_format

    return get_format(name)


@cache
def export_schema() -> tuple[Option, ...]:
    """Every option of ``edgekit export``, in --help order (a format's own after the shared ones).

    A format's option applies to that format and to every format that declares it ``uses``
    it (TFLM honours the TFLite converter's --per-channel), so no format names another."""
    from dataclasses import replace

    from targets import target_names

    names = target_names()
    own: list[Option] = []
    for name in names:
        for o in format_options(name).options:
            users = tuple(n for n in names if n == name or o.name in format_options(n).uses)
            own.append(o if o.formats else replace(o, formats=users))
    return (*COMMON, *own, *VALIDATION)


def reads(name: str) -> dict[str, str]:
    """Target constructor keyword -> the shared export option format ``name`` reads."""
    return dict(format_options(name).reads)


def field_options() -> tuple[Option, ...]:
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
    for o in field_options():
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
    for o in field_options():
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


def _words(o: Option) -> str:
    """What the docs table says an option's value is: kind, range or choices, default."""
    if o.type is bool:
        text = "flag"
    elif o.choices:
        text = ", ".join(f"`{c}`" for c in o.choices)
    elif o.type in (int, float):
        kind = "integer" if o.type is int else "number"
        num = (lambda v: f"{v:,}") if o.type is int else (lambda v: f"{v:g}")
        if o.min is not None and o.max is not None:
            text = f"{kind} {num(o.min)} to {num(o.max)}"
        elif o.min is not None:
            text = f"{kind} {'≥' if o.min_inclusive else '>'} {num(o.min)}"
        else:
            text = "number" + ("s, comma-separated" if o.toml == "numbers" else "")
        text += f" ({o.unit})" if o.unit and o.unit != "a cosine similarity" else ""
    elif o.is_path or o.type is Path:
        text = "path" + (" or " + ", ".join(f"`{v}`" for v in o.not_paths) if o.not_paths else "")
    else:
        text = "text" + (", comma-separated" if o.comma_list else "")
    if o.multiple:
        text += ", repeatable"
    shown = ",".join(map(str, o.default)) if isinstance(o.default, tuple) else o.default
    if shown not in (None, "", False, {}):
        text += f"; default `{shown}`"
    return text


def _sentence(help_text: str) -> str:
    """A --help line as a docs table cell: lower-case start (unless a name such as SavedModel), no full stop."""
    first = help_text.split(" ", 1)[0]
    text = help_text[0].lower() + help_text[1:] if first[1:] == first[1:].lower() else help_text
    return text.rstrip(".")


def options_markdown(options: tuple[Option, ...] | None = None) -> str:
    """The options table of docs/export.md (``make docs``): every flag of ``edgekit export``."""
    rows = ["| option | value | targets | config key | meaning |", "|---|---|---|---|---|"]
    for o in options or export_schema():
        if not o.flags:
            continue
        flags = " / ".join(f"`{f}`" for f in o.flags[0].split("/")) if "/" in o.flags[0] else f"`{', '.join(o.flags)}`"
        key = "-" if not (o.config and o.stored) else f"`{o.table}.{o.name}`" if o.table else f"`{o.name}`"
        rows.append(f"| {flags} | {_words(o)} | {', '.join(o.formats) or 'all'} | {key} | {o.doc or _sentence(o.help)} |")
    rows.append("| `-h, --help` | flag | all | - | the options, briefly |")
    return "\n".join(rows)


def table_markdown(table: str) -> str:
    """The keys of config table ``[export.<table>]`` with their flags (docs/coreml.md)."""
    rows = ["| key (flag) | value | meaning |", "|---|---|---|"]
    for o in table_keys(table):
        flag = f" (`{o.flag}`)" if o.flags else ""
        value = "text or list of texts" if o.toml == "strings" else "any value (kept as text)" if o.toml == "any" else _words(o)
        rows.append(f"| `{o.name}`{flag} | {value} | {o.doc or _sentence(o.help)} |")
    return "\n".join(rows)
