"""``edgekit.toml``: every export flag as a config key (CLI flags win).

Keys use the flag names with underscores or dashes (``calib_size`` or ``calib-size``).
Paths are relative to the config file. ``unsafe`` is deliberately not accepted here: running
code from a model file must be asked for on the command line, every time.
"""

from __future__ import annotations

import sys
from pathlib import Path

from edgekit.errors import OptionError
from edgekit.export_options import export_schema, table_keys
from edgekit.files import read_bounded

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_STR, _INT, _BOOL, _NUM = "a string", "an integer", "true or false", "a number"
_STRS = "a string or a list of strings"
# Option.toml -> the kind a config value must be, in the words of the error message
_KINDS = {"quant": "a string, a list of strings or a table of target = scheme(s)", "table": "a table",
          "strings": _STRS, "number": _NUM, "numbers": "a number or a list of numbers", "any": "any value"}  # fmt: skip


def _kind(option) -> str:
    if option.toml:
        return _KINDS[option.toml]
    if option.comma_list or option.multiple:
        return _STRS
    return {int: _INT, bool: _BOOL, float: _NUM}.get(option.type, _STR)


def _ok(kind: str, value) -> bool:
    if kind == _STR:
        return isinstance(value, str)
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _NUM:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == _STRS:
        return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    if kind == "a table":
        return isinstance(value, dict)
    if kind == "any value":
        return True
    if kind == _KINDS["numbers"]:
        return _ok(_NUM, value) or (isinstance(value, list) and bool(value) and all(_ok(_NUM, v) for v in value))
    if kind == _KINDS["quant"]:
        return _ok(_STRS, value) or (isinstance(value, dict) and all(_ok(_STRS, v) for v in value.values()))
    return False


def _preprocess(path: Path, key: str, value):
    if key == "scale" and isinstance(value, list):  # one factor for every channel, like --scale
        raise OptionError(f"{path}: [preprocess] scale must be one number (per-channel values go in mean/std)")
    if not _ok(_KINDS["numbers"], value):
        raise OptionError(f"{path}: [preprocess] {key} must be a number or a list of numbers")
    values = value if isinstance(value, list) else [value]
    return float(values[0]) if key == "scale" else tuple(float(v) for v in values)


def export_keys() -> dict:
    """Config key -> Option: every export option a config file may set (not ``unsafe``)."""
    return {o.name: o for o in export_schema() if o.config and o.stored and o.table is None}


def read_toml(path: Path, option: str) -> dict:
    """A TOML file as a dict; a missing, unreadable or invalid file is one OptionError line."""
    try:
        return tomllib.loads(read_bounded(path, option))
    except FileNotFoundError:
        raise OptionError(f"{option} {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise OptionError(f"{option} {path}: cannot read ({e})") from e
    except tomllib.TOMLDecodeError as e:
        raise OptionError(f"{option} {path}: not valid TOML ({e})") from e


def load_config(path: str | Path) -> dict:
    """Read and check a config file; returns export option values keyed by field name."""
    path = Path(path)
    raw = read_toml(path, "--config")
    section = raw.get("export", raw)
    if section is not raw:
        extra = sorted(set(raw) - {"export"})
        if extra:
            raise OptionError(f"{path}: unknown top-level key(s) {', '.join(extra)}; put options under [export]")
    keys = export_keys()
    out: dict = {}
    for key, value in section.items():
        name = key.replace("-", "_")
        if name == "unsafe":
            raise OptionError(f"{path}: 'unsafe' cannot be set in a config file; pass --unsafe on the command line")
        if name not in keys:
            raise OptionError(f"{path}: unknown key '{key}'; known keys: {', '.join(keys)}")
        option = keys[name]
        if option.toml == "table":
            out[name] = _table(path, option, value)
            continue
        kind = _kind(option)
        if "\0" in str(value):
            raise OptionError(f"{path}: '{key}' contains a NUL character")
        if not _ok(kind, value):
            raise OptionError(f"{path}: '{key}' must be {kind}, got {type(value).__name__} {value!r}")
        out[name] = _resolved(path, option, value)
    return out


def _resolved(path: Path, option, value):
    """A path relative to the config file's directory (values such as calib = "random" stay)."""
    if option.is_path and value not in option.not_paths and not Path(value).is_absolute():
        return str(path.parent / value)
    return value


def _table(path: Path, option, value) -> dict:
    """An ``[export.<name>]`` table: known keys only, each of its declared kind."""
    name = option.name
    if not isinstance(value, dict):
        raise OptionError(f"{path}: {name} must be a table ([export.{name}])")
    keys = {o.name: o for o in table_keys(name)}
    out = {}
    for k, v in value.items():
        k = str(k).replace("-", "_")
        if k not in keys:
            raise OptionError(f"{path}: unknown {name} key '{k}'; use {', '.join(keys)}")
        if name == "preprocess":  # floats and tuples, as --scale/--mean/--std give them
            out[k] = _preprocess(path, k, v)
            continue
        kind = _kind(keys[k])
        if "\0" in str(v):
            raise OptionError(f"{path}: '{name}.{k}' contains a NUL character")
        if not _ok(kind, v):
            raise OptionError(f"{path}: '{name}.{k}' must be {kind}, got {type(v).__name__} {v!r}")
        out[k] = _resolved(path, keys[k], v)
    return out
