"""edgekit's packages import without cycles (imports inside functions count: a lazy import
that closes a cycle is a cycle that is merely hidden until the function runs)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("edgekit", "quantize", "targets")


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return mods


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere in its body."""
    mods = _modules()

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                deps.update(filter(None, (known(a.name) for a in node.names)))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([node.module] if node.module else []))
                # ``from pkg import mod`` runs pkg/__init__ first: an edge to both.
                deps.update(filter(None, [known(base), *(known(f"{base}.{a.name}") for a in node.names)]))
        deps.discard(mod)
        graph[mod] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each as a closed path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(_path(graph, sorted(comp)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _path(graph, comp: list[str]) -> list[str]:
    """One import path around a component, from its first module back to it."""
    start, inside = comp[0], set(comp)
    prev, queue = {start: None}, [start]
    for v in queue:
        for w in sorted(graph[v] & inside):
            if w == start:
                path = [v]  # back from v to start through the search tree
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_the_checker_finds_a_cycle_and_names_it():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


# Layers, bottom up (../shared/DESIGN.md): a module may import its own layer and those below.
LAYERS = (
    ("core", ("edgekit", "edgekit.errors", "edgekit.tensors", "edgekit.model", "edgekit.loaders", "edgekit.data",
              "edgekit.tflite_graph", "edgekit.outdir", "edgekit.outlock", "edgekit.files", "edgekit.fmt",
              "edgekit.jsontext", "edgekit.quiet", "edgekit.runtime", "edgekit.options", "edgekit.session",
              "edgekit.build", "edgekit.manifest")),
    ("quantize", ("quantize",)),
    ("targets", ("targets",)),
    ("tools", ("edgekit.simulate", "edgekit.validate", "edgekit.inspect", "edgekit.pipeline", "edgekit.report",
               "edgekit.summary", "edgekit.prune_report", "edgekit.config", "edgekit.export_options",
               # device profiles, label checks and the pytest API serve simulate and validate:
               "edgekit.device", "edgekit.labels", "edgekit.testing")),
    ("cli", ("edgekit.cli", "edgekit.cli_options")),
)  # fmt: skip


def layer_of(module: str) -> int:
    """The layer of ``module``: the most specific prefix listed in LAYERS."""
    best, level = "", None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > len(best):
                best, level = p, i
    assert level is not None, f"{module} is in no layer: add it to LAYERS in tests/test_imports.py"
    return level


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """'a -> b' for every import of a module from a higher layer."""
    return sorted(f"{m} ({LAYERS[layer_of(m)][0]}) -> {d} ({LAYERS[layer_of(d)][0]})"
                  for m, deps in graph.items() for d in deps if layer_of(d) > layer_of(m))  # fmt: skip


def test_layers_import_downward_only():
    found = upward_imports(import_graph())
    assert not found, "upward imports:\n" + "\n".join(found)


def test_the_layer_check_names_an_upward_import():
    assert upward_imports({"targets.tflite": {"edgekit.simulate.latency"}, "edgekit.simulate.latency": set()}) == [
        "targets.tflite (targets) -> edgekit.simulate.latency (tools)"
    ]
