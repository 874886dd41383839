"""The layer graph of a Keras model, for pruning: nodes, coupled channel groups, rebuild.

Works on Keras 3 and tf_keras models, Sequential and Functional. ``read_graph`` lists the
layer calls in topological order with the tensors they read and write; ``channel_groups``
finds which output channels must be removed together (every branch joined by an Add, a conv
and the BatchNormalization and DepthwiseConv2D after it, the parts of a Concatenate);
``rebuild`` builds a new model from the graph with changed layer configs, changed weights and
dropped layers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from edgekit.errors import UnsupportedError

# Layers that make new channels from all input channels.
SOURCES = {"Conv1D", "Conv2D", "Conv3D", "Dense", "SeparableConv1D", "SeparableConv2D"}
# Layers that keep channel c at position c (per-channel weights, if any, are on the last axis).
PASSTHROUGH = {
    "BatchNormalization", "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "ThresholdedReLU",
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Identity",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
    "AveragePooling3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D",
    "Cropping2D", "Cropping3D", "UpSampling1D", "UpSampling2D", "UpSampling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "DepthwiseConv1D", "DepthwiseConv2D",
}  # fmt: skip
MERGES = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"}
MIXING_ACTIVATIONS = {"softmax", "log_softmax"}


def class_name(layer) -> str:
    return type(layer).__name__


@dataclass
class Node:
    """One call of a layer: the keys (ids) of the tensors it reads and writes."""

    layer: object
    inputs: list[int]
    outputs: list[int]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


@dataclass
class KerasGraph:
    model: object
    framework: str  # "keras" or "tf_keras"
    nodes: list[Node]  # topological order, input layers first
    inputs: list[int]
    outputs: list[int]
    tensors: dict[int, object]  # key -> symbolic tensor
    shapes: dict[int, tuple]

    @property
    def K(self):
        return keras_module(self.model)

    def consumers(self, key: int) -> list[Node]:
        return [n for n in self.nodes if key in n.inputs]

    def producer(self, key: int) -> Node | None:
        return next((n for n in self.nodes if key in n.outputs), None)

    def layer_nodes(self) -> dict[str, list[Node]]:
        out: dict[str, list[Node]] = {}
        for n in self.nodes:
            out.setdefault(n.layer.name, []).append(n)
        return out


def _flatten(x) -> list:
    if isinstance(x, (list, tuple)):
        return [t for item in x for t in _flatten(item)]
    if isinstance(x, dict):
        return [t for k in sorted(x) for t in _flatten(x[k])]
    return [x]


def _shape(t) -> tuple:
    shape = t.shape
    if hasattr(shape, "as_list"):
        shape = shape.as_list()
    return tuple(None if d is None else int(d) for d in shape)


def framework_of(model) -> str:
    return "tf_keras" if type(model).__module__.startswith("tf_keras") else "keras"


def keras_module(model):
    """The Keras package a model belongs to: ``tf_keras`` (Keras 2) or ``keras`` (Keras 3)."""
    if framework_of(model) == "tf_keras":
        import tf_keras

        return tf_keras
    import keras

    return keras


def read_graph(model) -> KerasGraph:
    """The layer calls of ``model`` in topological order (Sequential or Functional)."""
    fw = framework_of(model)
    graph = model
    if fw == "keras" and class_name(model) == "Sequential":
        graph = getattr(model, "_functional", None)
    by_depth = getattr(graph, "_nodes_by_depth", None)
    if graph is None or by_depth is None:
        raise UnsupportedError(
            f"model {model.name} has no layer graph (a subclassed model, or a Sequential built without "
            "an Input); pruning needs a Sequential or Functional Keras model"
        )
    nodes: list[Node] = []
    tensors: dict[int, object] = {}
    for depth in sorted(by_depth, reverse=True):
        for n in by_depth[depth]:
            layer = n.operation if fw == "keras" else n.layer
            ins = list(n.input_tensors) if fw == "keras" else _flatten(n.keras_inputs)
            outs = _flatten(n.outputs)
            if fw == "keras":
                args, kwargs = tuple(n.arguments.args), dict(n.arguments.kwargs)
            else:
                args, kwargs = tuple(n.call_args), dict(n.call_kwargs)
            for t in ins + outs:
                tensors[id(t)] = t
            nodes.append(Node(layer, [id(t) for t in ins], [id(t) for t in outs], args, kwargs))
    for n in nodes:
        if not hasattr(n.layer, "get_config") or not hasattr(n.layer, "get_weights"):
            raise UnsupportedError(
                f"model {model.name}: '{n.layer.name}' ({class_name(n.layer)}) is an operation, not a layer; "
                "pruning rebuilds models from layers only"
            )
    g_inputs = [id(t) for t in graph.inputs]
    g_outputs = [id(t) for t in _flatten(graph.outputs)]
    return KerasGraph(model, fw, nodes, g_inputs, g_outputs, tensors, {k: _shape(t) for k, t in tensors.items()})


# -- channel groups ---------------------------------------------------------------------------


@dataclass
class Group:
    """Channels that must be kept or removed together."""

    gid: int
    size: int
    producers: list[str] = field(default_factory=list)  # layers that create these channels
    members: list[str] = field(default_factory=list)  # layers with per-channel weights on them
    tensors: list[int] = field(default_factory=list)  # tensors made only of these channels
    frozen: str = ""  # why these channels cannot be pruned ("" if they can)


@dataclass(frozen=True)
class Space:
    """The channel axis (last axis) of a tensor: segments of groups, repeated ``repeat`` times.

    A Flatten of an (H, W, C) tensor gives ``repeat = H*W``: feature ``s*C + c`` is channel c.
    """

    segments: tuple[tuple[int, int], ...]  # (group id, channels)
    repeat: int = 1

    @property
    def channels(self) -> int:
        return sum(n for _, n in self.segments)


class ChannelGroups:
    """The coupled channel groups of a graph, and the channel space of every tensor."""

    def __init__(self, graph: KerasGraph):
        self.graph = graph
        self._parent: dict[int, int] = {}
        self._groups: dict[int, Group] = {}
        self.space: dict[int, Space] = {}  # tensor key -> its channel space
        self.in_space: dict[str, Space] = {}  # source/member layer name -> space of its input
        self.out_group: dict[str, int] = {}  # source layer name -> group of its output
        self._build()

    # union-find
    def find(self, gid: int) -> int:
        while self._parent[gid] != gid:
            self._parent[gid] = self._parent[self._parent[gid]]
            gid = self._parent[gid]
        return gid

    def _new(self, size: int, frozen: str = "") -> int:
        gid = len(self._parent)
        self._parent[gid] = gid
        self._groups[gid] = Group(gid, size, frozen=frozen)
        return gid

    def _union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        ga, gb = self._groups[ra], self._groups[rb]
        self._parent[rb] = ra
        ga.producers += gb.producers
        ga.members += gb.members
        ga.tensors += gb.tensors
        ga.frozen = ga.frozen or gb.frozen
        del self._groups[rb]

    def freeze(self, space: Space | None, why: str) -> None:
        for gid, _ in space.segments if space else ():
            g = self._groups[self.find(gid)]
            g.frozen = g.frozen or why

    def group(self, gid: int) -> Group:
        return self._groups[self.find(gid)]

    @property
    def groups(self) -> list[Group]:
        return [self._groups[g] for g in sorted(self._groups)]

    def resolved(self, space: Space) -> Space:
        return Space(tuple((self.find(g), n) for g, n in space.segments), space.repeat)

    def _fresh(self, key: int, why: str = "") -> Space:
        size = self.graph.shapes[key][-1] if self.graph.shapes[key] else 1
        space = Space(((self._new(size or 1, why), size or 1),))
        self.space[key] = space
        return space

    def _block(self, node: Node, why: str) -> None:
        for k in node.inputs:
            self.freeze(self.space.get(k), why)
        for k in node.outputs:
            self._fresh(k, why)

    def _build(self) -> None:
        g = self.graph
        uses = g.layer_nodes()
        for node in g.nodes:
            layer, cls = node.layer, class_name(node.layer)
            if cls == "InputLayer":
                self._fresh(node.outputs[0], "model input")
                continue
            ins = [self.space[k] for k in node.inputs if k in self.space]
            if len(ins) != len(node.inputs) or len(node.outputs) != 1:
                self._block(node, f"{layer.name} ({cls}) has several outputs or unknown inputs")
                continue
            cfg = layer.get_config()
            why = _blocker(layer, cls, cfg, len(uses[layer.name]), len(self.graph.shapes[node.inputs[0]]))
            if why:
                self._block(node, why)
                continue
            out = node.outputs[0]
            if cls in SOURCES:
                self.in_space[layer.name] = ins[0]
                gid = self._new(int(self.graph.shapes[out][-1]))
                self.group(gid).producers.append(layer.name)
                self.out_group[layer.name] = gid
                if cfg.get("activation") in MIXING_ACTIVATIONS:
                    self.freeze(Space(((gid, 1),)), f"{layer.name} applies {cfg['activation']} across channels")
                self.space[out] = Space(((gid, self.group(gid).size),))
            elif cls in PASSTHROUGH:
                space = ins[0]
                if layer.get_weights():
                    self.in_space[layer.name] = space
                    for gid, _ in space.segments:
                        self.group(gid).members.append(layer.name)
                if cls.startswith("Global"):
                    space = Space(space.segments, 1)
                self.space[out] = space
            elif cls == "Flatten":
                shape = self.graph.shapes[node.inputs[0]]
                spatial = math.prod(shape[1:-1]) if len(shape) > 2 else 1
                self.space[out] = Space(ins[0].segments, ins[0].repeat * spatial)
            elif cls in MERGES:
                first = ins[0]
                if any([n for _, n in s.segments] != [n for _, n in first.segments] or s.repeat != first.repeat for s in ins):
                    self._block(node, f"{layer.name} ({cls}) joins tensors whose channels do not line up")
                    continue
                for s in ins[1:]:
                    for (a, _), (b, _) in zip(first.segments, s.segments):
                        self._union(a, b)
                self.space[out] = first
            elif cls == "Concatenate":
                rank = len(self.graph.shapes[out])
                if cfg.get("axis", -1) not in (-1, rank - 1) or any(s.repeat != 1 for s in ins):
                    self._block(node, f"{layer.name} concatenates along an axis other than channels")
                    continue
                self.space[out] = Space(tuple(seg for s in ins for seg in s.segments))
            else:
                self._block(node, f"{layer.name} ({cls}) is not a layer channel pruning knows")
                continue
            space = self.space[out]
            if len(space.segments) == 1 and space.repeat == 1:  # a tensor of this group alone
                self.group(space.segments[0][0]).tensors.append(out)
        for k in g.outputs:  # the classifier head keeps its classes, whatever else applies
            for gid, _ in self.space[k].segments if k in self.space else ():
                self.group(gid).frozen = "model output"

    def kept_indices(self, space: Space, kept: dict[int, np.ndarray]) -> np.ndarray:
        """Indices along the last axis of a tensor of ``space`` that survive ``kept``."""
        base, offset = [], 0
        for gid, n in space.segments:
            k = kept.get(self.find(gid))
            base.append(offset + (np.arange(n) if k is None else k))
            offset += n
        idx = np.concatenate(base) if base else np.arange(0)
        return (np.arange(space.repeat)[:, None] * offset + idx[None, :]).reshape(-1)


def _blocker(layer, cls: str, cfg: dict, uses: int, rank: int) -> str:
    """Why a layer stops channel pruning through it ("" if it does not)."""
    if uses > 1:
        return f"{layer.name} is shared ({uses} calls)"
    if cfg.get("data_format") == "channels_first":
        return f"{layer.name} is channels_first"
    if cfg.get("groups", 1) != 1:
        return f"{layer.name} is a grouped convolution"
    if cls.startswith("Depthwise") and cfg.get("depth_multiplier", 1) != 1:
        return f"{layer.name} has depth_multiplier {cfg['depth_multiplier']}"
    if cls == "BatchNormalization":
        axis = cfg.get("axis", -1)
        axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
        if axis not in (-1, rank - 1):
            return f"{layer.name} normalizes axis {axis}, not the channels"
    if cls in ("Activation", "Softmax") and (cls == "Softmax" or cfg.get("activation") in MIXING_ACTIVATIONS):
        return f"{layer.name} mixes channels (softmax)"
    return ""


# -- rebuild ----------------------------------------------------------------------------------


def rebuild(
    graph: KerasGraph,
    *,
    config: Callable[[object, dict], dict] | None = None,
    weights: Callable[[object, list], list] | None = None,
    skip: Callable[[Node], bool] | None = None,
):
    """A new model from ``graph``: every layer re-created from its (changed) config.

    ``config(layer, cfg)`` may change a layer's config, ``weights(layer, arrays)`` the arrays
    copied into it, and ``skip(node)`` drops a single-input layer (its output becomes its input).
    The original model is not touched: every layer is a new object with copied weights.
    """
    K = graph.K
    new: dict[int, object] = {}
    made: dict[int, object] = {}  # id(original layer) -> new layer (shared layers stay shared)
    for node in graph.nodes:
        layer = node.layer
        if class_name(layer) == "InputLayer":
            t = graph.tensors[node.outputs[0]]
            new[node.outputs[0]] = K.Input(
                batch_shape=graph.shapes[node.outputs[0]], dtype=_dtype(t), name=layer.name
            )
            continue
        if skip is not None and skip(node):
            new[node.outputs[0]] = new[node.inputs[0]]
            continue
        if id(layer) not in made:
            cfg = layer.get_config()
            cfg = config(layer, cfg) if config else cfg
            made[id(layer)] = (_from_config(layer, cfg, K), layer)
        clone = made[id(layer)][0]

        def swap(x):
            if isinstance(x, (list, tuple)):
                return type(x)(swap(v) for v in x)
            if isinstance(x, dict):
                return {k: swap(v) for k, v in x.items()}
            return new.get(id(x), x) if id(x) in graph.tensors else x

        result = clone(*swap(node.args), **swap(node.kwargs))
        for key, t in zip(node.outputs, _flatten(result)):
            new[key] = t
    outs = [new[k] for k in graph.outputs]
    ins = [new[k] for k in graph.inputs]
    model = K.Model(ins[0] if len(ins) == 1 else ins, outs[0] if len(outs) == 1 else outs, name=graph.model.name)
    for clone, layer in made.values():
        arrays = [np.array(w, copy=True) for w in layer.get_weights()]
        clone.set_weights(weights(layer, arrays) if weights else arrays)
    return model


def _dtype(t) -> str:
    d = t.dtype
    return getattr(d, "name", None) or str(d)


def _from_config(layer, cfg: dict, K):
    if hasattr(layer, "layers") and class_name(layer) in ("Sequential", "Functional", "Model"):
        return K.models.clone_model(layer) if cfg == layer.get_config() else type(layer).from_config(cfg)
    return type(layer).from_config(cfg)
