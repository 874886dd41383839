"""Refuse ``.pt2`` archives whose loading or running would run code from the file.

``torch.export.load`` warns that it "uses pickle under the hood". Reading torch 2.14's
loader (``torch/export/pt2_archive/_package.py``, ``torch/_export/serde/serialize.py``), the
places where bytes from the file become code are:

- weights and tensor constants marked ``use_pickle``: ``torch.load(..., weights_only=False)``;
- custom (TorchBind) and opaque constants: ``torch._C._pickle_load_obj`` and ``pickle.loads``;
- the sample inputs: ``torch.load`` with ``weights_only=True`` that falls back to ``False``;
- AOTInductor packages (``data/aotinductor/``): compiled shared libraries that get loaded;
- archives of the pre-2.7 layout, which take the same fallback path;
- node targets: ``torch.<any.attribute.path>`` is resolved by ``getattr`` (``torch.os.system``
  is reachable) and called when the graph runs;
- symbolic shape expressions: ``sympy.sympify``, which evaluates its string;
- ``guards_code``: Python source compiled into the module ``ExportedProgram.module()`` makes;
- node names and stack traces: written into the Python source of the generated
  ``GraphModule.forward`` (a carriage return would end a comment line there).

edgekit checks all of these on the archive's JSON before torch reads it, checks any pickle
with ``torch.load(weights_only=True)`` (torch's allow-list unpickler) first, and after loading
checks every graph node again (``check_graph``). A file that fails is refused unless the user
passes ``--unsafe``.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from edgekit.errors import ModelFileError, UnsafeModelError

# What the serializer writes for an ATen/prims/HOP op or operator.getitem: dotted identifiers,
# no dunder (``torch.ops.<namespace>.<op>.<overload>``).
_TARGET = re.compile(r"^(torch\.ops\.[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){1,2}|_operator\.getitem)$")
# Symbolic shape expressions, as torch writes them (``s31 + 1``, sympy's ``srepr`` form
# ``Symbol('s31', positive=True, integer=True)``, ``FloorDiv(s0, 2)``): sympify evaluates them
# in a namespace of sympy's names plus Python's builtin functions (eval, getattr, ...), which
# are all lower case. Allowed: capitalised names (sympy/torch classes and functions), symbols
# (s0, u3), sympy's assumption keywords, quoted identifiers (symbol names), numbers and
# operators; no attribute access, no subscripts.
_EXPR = re.compile(r"^[A-Za-z0-9_ +\-*/%(),<>=!.']*$")
_QUOTED = re.compile(r"'[A-Za-z_][A-Za-z0-9_]*'")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SYMBOL = re.compile(r"^[a-z]{1,3}[0-9]+$")
_ASSUMPTIONS = frozenset({"positive", "negative", "nonnegative", "nonpositive", "integer", "real", "finite",
                          "infinite", "zero", "nonzero", "even", "odd", "rational", "commutative", "extended_real",
                          "extended_positive", "extended_negative", "extended_nonnegative", "extended_nonpositive",
                          "evaluate", "oo", "zoo", "nan"})  # fmt: skip
_NOT_BETWEEN_DIGITS = re.compile(r"(?<![0-9])\.|\.(?![0-9])")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Characters that end a line of Python source (or have no business in a graph file).
_CONTROL = re.compile(r"[\r\x00-\x08\x0b-\x1f\x7f\u2028\u2029\x85]")
_PT2_SAVE = 'torch.export.save(torch.export.export(model.eval(), args), "model.pt2")'
MAX_JSON = 512 << 20


def check_pt2_archive(path: Path, unsafe: bool) -> None:
    """Refuse an archive that is not a PT2 ExportedProgram or whose load would run code."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            _check_members(path, z, names, unsafe)
    # zlib.error: corrupt deflate data; NotImplementedError: unknown compression; RuntimeError: encrypted
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError) as e:
        raise ModelFileError(
            f"{path}: not a PT2 archive (a .pt2 is a zip written by torch.export.save); save it with {_PT2_SAVE}"
        ) from e


def _check_members(path: Path, z: zipfile.ZipFile, names: list[str], unsafe: bool) -> None:
    prefix = next((n[: -len("archive_format")] for n in names if n.endswith("archive_format")
                   and n.count("/") <= 1), None)  # fmt: skip
    if prefix is None or z.read(prefix + "archive_format").strip() != b"pt2":
        legacy = any(n.endswith("serialized_exported_program.json") for n in names)
        what = "an ExportedProgram of the pre-2.7 format" if legacy else "not a torch.export archive"
        raise ModelFileError(f"{path}: {what}; re-save it with {_PT2_SAVE}")
    models = [n for n in names if n.startswith(prefix + "models/") and n.endswith(".json")]
    if not models:
        raise ModelFileError(f"{path}: the archive holds no ExportedProgram (models/*.json); save it with {_PT2_SAVE}")
    if unsafe:
        return
    if any(n.startswith(prefix + "data/aotinductor/") for n in names):
        _refuse(path, "holds AOTInductor compiled code, which torch loads and runs")
    for model in models:
        name = model[len(prefix + "models/") : -len(".json")]
        _check_program(path, _read_json(z, model, path))
        _check_payloads(path, z, prefix, name, names)


def _read_json(z: zipfile.ZipFile, member: str, path: Path):
    info = z.getinfo(member)
    if info.file_size > MAX_JSON:
        raise ModelFileError(f"{path}: {member} is {info.file_size:,} B, more than a graph description needs")
    try:
        return json.loads(z.read(member))
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{path}: {member} is not valid JSON (truncated or damaged file?)") from e


def _check_program(path: Path, program) -> None:
    if not isinstance(program, dict) or not isinstance(program.get("graph_module"), dict):
        raise ModelFileError(f"{path}: the ExportedProgram JSON has no graph_module; save it with {_PT2_SAVE}")
    for text in _strings(program):
        if _CONTROL.search(text):
            _refuse(path, "holds control characters in its graph text (which torch writes into Python source)")
    for key, value in _items(program):
        if key == "target" and isinstance(value, str) and (not _TARGET.match(value) or "__" in value):
            _refuse(path, f"calls {value[:80]!r}, which is not a torch operator")
        elif key == "expr_str" and isinstance(value, str) and not safe_expression(value):
            _refuse(path, f"holds a shape expression {value[:80]!r} that torch would evaluate as code")
        elif key in ("name", "as_name") and isinstance(value, str) and value and not _NAME.match(value):
            _refuse(path, f"names a graph value {value[:80]!r}, which torch writes into Python source")
        elif key == "guards_code" and value:
            _refuse(path, "holds guard code, which torch compiles into the module")


def safe_expression(text: str) -> bool:
    """True when sympify can only build a symbolic expression from ``text`` (see ``_EXPR``)."""
    if not _EXPR.match(text):
        return False
    rest = _QUOTED.sub("''", text)
    if "'" in rest.replace("''", "") or "__" in rest or _NOT_BETWEEN_DIGITS.search(rest):
        return False
    return all(w[0].isupper() or w in _ASSUMPTIONS or _SYMBOL.match(w) for w in _IDENT.findall(rest))


def _check_payloads(path: Path, z: zipfile.ZipFile, prefix: str, name: str, names: list[str]) -> None:
    """Weights, constants and sample inputs: raw tensor bytes, or pickles torch's allow-list
    unpickler (``weights_only=True``) reads."""
    if f"{prefix}data/weights/{name}.pt" in names or f"{prefix}data/constants/{name}.pt" in names:
        _refuse(path, "stores its weights as a pickle of the pre-2.7 format")
    for kind in ("weights", "constants"):
        member = f"{prefix}data/{kind}/{name}_{kind}_config.json"
        if member not in names:
            continue
        config = _read_json(z, member, path).get("config") or {}
        for fqn, meta in config.items():
            file = str(meta.get("path_name", ""))
            if kind == "constants" and not file.startswith("tensor_"):
                _refuse(path, f"holds a Python object constant {fqn!r}, which torch unpickles")
            if meta.get("use_pickle"):
                _weights_only(path, z, f"{prefix}data/{kind}/{file}")
    sample = f"{prefix}data/sample_inputs/{name}.pt"
    if sample in names:
        _weights_only(path, z, sample)


def _weights_only(path: Path, z: zipfile.ZipFile, member: str) -> None:
    import torch

    try:
        torch.load(io.BytesIO(z.read(member)), weights_only=True, map_location="cpu")
    except KeyError as e:
        raise ModelFileError(f"{path}: the archive lacks {member}") from e
    except Exception as e:  # torch's UnpicklingError and whatever a damaged pickle raises
        _refuse(path, f"holds a pickle ({member}) with more than tensors in it", e)


def check_graph(path: Path, program) -> None:
    """After loading: every node of every graph calls a torch operator or ``getitem``."""
    import operator

    import torch

    for module in program.graph_module.modules():
        graph = getattr(module, "graph", None)
        for node in graph.nodes if graph is not None else ():
            if node.op == "call_function":
                t = node.target
                if not (isinstance(t, (torch._ops.OpOverload, torch._ops.HigherOrderOperator)) or t is operator.getitem):
                    _refuse(path, f"calls {str(t)[:80]!r}, which is not a torch operator")
            elif node.op not in ("placeholder", "output", "get_attr"):
                _refuse(path, f"has a {node.op} node, which an exported program does not")


def _refuse(path: Path, why: str, cause: Exception | None = None):
    raise UnsafeModelError(
        f"{path}: {why}; refused. Pass --unsafe only if you trust the file."
    ) from cause


def _strings(obj) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def _items(obj) -> Iterator[tuple[str, object]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k, v
            yield from _items(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _items(v)
