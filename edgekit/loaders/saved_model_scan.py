"""Refuse SavedModels whose graphs hold ops that touch files, load code or reach the network.

``tf.saved_model.load`` runs functions from the file while loading (resource initializers,
TF1 init and restore ops), so edgekit reads ``saved_model.pb`` first and checks the op type of
every node of every graph and library function against ``saved_model_ops.txt``. The saver's
file ops are allowed only inside the subgraphs ``saver_def`` names (see the data file).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from edgekit.errors import ModelFileError, UnsafeModelError


@lru_cache(maxsize=1)
def allowed_ops() -> dict[str, frozenset[str]]:
    """The op types of ``saved_model_ops.txt`` by section: ``any``, ``restore``, ``save``."""
    sections: dict[str, set[str]] = {}
    current = None
    for line in (Path(__file__).with_name("saved_model_ops.txt")).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), set())
        else:
            current.add(line)
    return {k: frozenset(v) for k, v in sections.items()}


def read_saved_model(path: Path):
    """The SavedModel protobuf of a SavedModel directory (ModelFileError if unreadable)."""
    from google.protobuf import message, text_format
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    binary, text = path / "saved_model.pb", path / "saved_model.pbtxt"
    try:
        if binary.exists():
            proto.ParseFromString(binary.read_bytes())
        else:
            text_format.Parse(text.read_text(), proto)
    except (message.DecodeError, text_format.ParseError, OSError, UnicodeDecodeError, ValueError) as e:
        raise ModelFileError(f"{path}: saved_model.pb is not a readable SavedModel protobuf ({type(e).__name__})") from e
    return proto


def _tensor_node(name: str) -> str:
    return name.lstrip("^").split(":")[0]


def _callees(node, functions) -> set[str]:
    """Library functions a node calls: as its op type or through func attributes."""
    names = {node.op} & functions
    for attr in node.attr.values():
        if attr.HasField("func"):
            names.add(attr.func.name)
        if attr.HasField("list"):
            names.update(f.name for f in attr.list.func)
    return names


def _closure(start: set[str], calls: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), list(start)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(calls.get(name, ()))
    return seen


def _subgraph(graph_nodes: dict, root: str) -> set[str]:
    """Names of the graph nodes ``root`` depends on (inputs and control inputs), itself included."""
    seen, todo = set(), [_tensor_node(root)] if root else []
    while todo:
        name = todo.pop()
        if name in seen or name not in graph_nodes:
            continue
        seen.add(name)
        todo.extend(_tensor_node(i) for i in graph_nodes[name].input)
    return seen


def refused_ops(proto) -> list[tuple[str, str]]:
    """(op type, where) for every node of the SavedModel that its allowlist does not cover."""
    ops = allowed_ops()
    anywhere, restore, save = ops["any"], ops["any"] | ops["restore"], ops["any"] | ops["restore"] | ops["save"]
    found = []
    for meta in proto.meta_graphs:
        graph = meta.graph_def
        functions = {f.signature.name: f for f in graph.library.function}
        names = set(functions)
        calls = {name: set().union(*(_callees(n, names) for n in f.node_def)) for name, f in functions.items()}
        nodes = {n.name: n for n in graph.node}
        restore_nodes = _subgraph(nodes, meta.saver_def.restore_op_name)
        save_nodes = _subgraph(nodes, meta.saver_def.save_tensor_name) - restore_nodes
        saver_nodes = restore_nodes | save_nodes

        def reach(node_names):
            return _closure(set().union(*(_callees(nodes[n], names) for n in node_names)), calls)

        # A function the model can run (from other graph nodes, the object graph, or unreferenced)
        # gets the strict list, even if the saver calls it too.
        model_roots = reach(set(nodes) - saver_nodes) | set(meta.object_graph_def.concrete_functions)
        model_roots |= names - reach(saver_nodes)
        model_fns = _closure(model_roots, calls)
        restore_fns = reach(restore_nodes) - model_fns
        save_fns = reach(save_nodes) - model_fns - restore_fns
        for node in graph.node:
            allowed = save if node.name in save_nodes else restore if node.name in restore_nodes else anywhere
            if node.op not in allowed and node.op not in names:
                found.append((node.op, f"node {node.name!r}"))
        for name, f in functions.items():
            allowed = save if name in save_fns else restore if name in restore_fns else anywhere
            for node in f.node_def:
                if node.op not in allowed and node.op not in names:
                    found.append((node.op, f"node {node.name!r} of function {name!r}"))
    return found


def check_saved_model(path: Path, unsafe: bool) -> None:
    """UnsafeModelError unless every op of the SavedModel is allowed (or the user said --unsafe)."""
    if unsafe:
        return
    found = refused_ops(read_saved_model(path))
    if found:
        op, where = found[0]
        kinds = sorted({o for o, _ in found})
        more = f" (refused op types: {', '.join(kinds[:8])}{' ...' if len(kinds) > 8 else ''})" if len(kinds) > 1 else ""
        raise UnsafeModelError(
            f"{path}: op {op} at {where} is not an op models compute with (it can touch files, load code "
            f"or reach the network){more}; refused before loading. Pass --unsafe only if you trust the file."
        )
