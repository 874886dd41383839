"""``edgekit.toml``: every export flag as a config key (CLI flags win).

Keys use the flag names with underscores or dashes (``calib_size`` or ``calib-size``).
Paths are relative to the config file. ``unsafe`` is deliberately not accepted here: running
code from a model file must be asked for on the command line, every time.
"""

from __future__ import annotations

import sys
from pathlib import Path

from edgekit.errors import OptionError
from edgekit.files import read_bounded

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_STR, _INT, _BOOL, _NUM = "a string", "an integer", "true or false", "a number"
# key -> (expected kind, is a path)
EXPORT_KEYS: dict[str, tuple[str, bool]] = {
    "model": (_STR, True),
    "out": (_STR, True),
    "target": ("a string or a list of strings", False),
    "quant": ("a string, a list of strings or a table of target = scheme(s)", False),
    "calib": (_STR, True),
    "eval": (_STR, True),
    "calib_size": (_INT, False),
    "io_dtype": (_STR, False),
    "per_channel": (_STR, False),
    "batch": (_INT, False),
    "input_shape": (_STR, False),
    "signature": (_STR, False),
    "force": (_BOOL, False),
    "labels": (_STR, True),
    "float_layers": ("a string or a list of strings", False),
    "c_name": (_STR, False),
    "lang": (_STR, False),
    "section": (_STR, False),
    "arena_margin": (_INT, False),
    "ov_preset": (_STR, False),
    "coreml": ("a table", False),
    "task": (_STR, False),
    "max_drop": (_NUM, False),
    "min_cosine": (_NUM, False),
    "min_accuracy": (_NUM, False),
    "layers": (_BOOL, False),
    "latency": (_BOOL, False),
    "prune": ("a string or a list of strings", False),
    "finetune": (_STR, True),
    "epochs": (_INT, False),
}
PREPROCESS_KEYS = ("scale", "mean", "std")


def _ok(kind: str, value) -> bool:
    if kind == _STR:
        return isinstance(value, str)
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _NUM:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind.startswith("a string or a list"):
        return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    if kind == "a table":
        return isinstance(value, dict)
    if kind.startswith("a string, a list"):
        return _ok("a string or a list", value) or (
            isinstance(value, dict) and all(_ok("a string or a list", v) for v in value.values())
        )
    return False


def _number_or_list(path: Path, key: str, value):
    if key == "scale" and isinstance(value, list):  # one factor for every channel, like --scale
        raise OptionError(f"{path}: [preprocess] scale must be one number (per-channel values go in mean/std)")
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise OptionError(f"{path}: [preprocess] {key} must be a number or a list of numbers")
    return float(values[0]) if key == "scale" else tuple(float(v) for v in values)


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
    out: dict = {}
    for key, value in section.items():
        name = key.replace("-", "_")
        if name == "preprocess":
            if not isinstance(value, dict):
                raise OptionError(f"{path}: preprocess must be a table ([export.preprocess])")
            for k, v in value.items():
                if k not in PREPROCESS_KEYS:
                    raise OptionError(f"{path}: unknown preprocess key '{k}'; use {', '.join(PREPROCESS_KEYS)}")
                out[k] = _number_or_list(path, k, v)
            continue
        if name == "unsafe":
            raise OptionError(f"{path}: 'unsafe' cannot be set in a config file; pass --unsafe on the command line")
        if name not in EXPORT_KEYS:
            raise OptionError(f"{path}: unknown key '{key}'; known keys: {', '.join(EXPORT_KEYS)}, preprocess")
        kind, is_path = EXPORT_KEYS[name]
        if "\0" in str(value):
            raise OptionError(f"{path}: '{key}' contains a NUL character")
        if not _ok(kind, value):
            raise OptionError(f"{path}: '{key}' must be {kind}, got {type(value).__name__} {value!r}")
        if is_path and not (name == "calib" and value == "random"):
            value = str((path.parent / value)) if not Path(value).is_absolute() else value
        out[name] = value
    return out
