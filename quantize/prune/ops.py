"""Operator pruning: drop layers that do nothing at inference, fold BatchNormalization.

Removed: Dropout and the other training-only noise layers, Identity, linear Activation,
ActivityRegularization, and Reshape/Flatten/Permute whose output shape equals their input
shape. BatchNormalization is folded into the Conv/Dense/DepthwiseConv before it when that
layer has no activation and feeds nothing else. Layers producing a model output are kept so
output names do not change. (Not to be confused with the TFLM target's op resolver, which is
pruned to the kernels a model uses: that keeps the graph as it is.)
"""

from __future__ import annotations

import numpy as np

from quantize.prune.graph import KerasGraph, Node, class_name, read_graph, rebuild

TRAINING_ONLY = {
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "ActivityRegularization",
}  # fmt: skip
RESHAPES = {"Reshape", "Flatten", "Permute"}
FOLD_INTO = {"Conv1D", "Conv2D", "Conv3D", "Dense", "DepthwiseConv1D", "DepthwiseConv2D"}


def _removable(graph: KerasGraph, node: Node) -> str:
    """Why ``node`` can go ("" if it stays)."""
    layer, cls = node.layer, class_name(node.layer)
    if len(node.inputs) != 1 or len(node.outputs) != 1 or node.outputs[0] in graph.outputs:
        return ""
    if cls in TRAINING_ONLY:
        return "training only"
    if cls == "Identity":
        return "identity"
    if cls == "Activation" and layer.get_config().get("activation") in ("linear", None):
        return "linear activation"
    same = graph.shapes[node.inputs[0]] == graph.shapes[node.outputs[0]]
    if cls in RESHAPES and same:
        return "no-op reshape"
    return ""


def _bn_folds(graph: KerasGraph) -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
    """BatchNormalization layer name -> (layer it folds into, scale, shift)."""
    folds = {}
    uses = graph.layer_nodes()
    for node in graph.nodes:
        bn = node.layer
        if class_name(bn) != "BatchNormalization" or len(uses[bn.name]) > 1 or node.outputs[0] in graph.outputs:
            continue
        src = graph.producer(node.inputs[0])
        if src is None or class_name(src.layer) not in FOLD_INTO or len(uses[src.layer.name]) > 1:
            continue
        cfg, bcfg = src.layer.get_config(), bn.get_config()
        axis = bcfg.get("axis", -1)
        axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
        if (
            cfg.get("activation", "linear") != "linear"
            or axis not in (-1, len(graph.shapes[node.inputs[0]]) - 1)
            or len(graph.consumers(node.inputs[0])) != 1
            or node.inputs[0] in graph.outputs
        ):
            continue
        w = list(bn.get_weights())
        gamma = w.pop(0) if bcfg.get("scale", True) else 1.0
        beta = w.pop(0) if bcfg.get("center", True) else 0.0
        mean, var = w
        scale = gamma / np.sqrt(var + bcfg.get("epsilon", 1e-3))
        folds[bn.name] = (src.layer.name, scale.astype(np.float32), (beta - mean * scale).astype(np.float32))
    return folds


def prune_ops(model, fold_bn: bool = True):
    """``(model without no-op layers, list of what was removed or folded)``."""
    graph = read_graph(model)
    folds = _bn_folds(graph) if fold_bn else {}
    into = {target: (scale, shift) for target, scale, shift in folds.values()}
    removed = []
    for node in graph.nodes:
        why = _removable(graph, node)
        if why:
            removed.append({"layer": node.layer.name, "op": class_name(node.layer), "action": f"removed ({why})"})
        elif node.layer.name in folds:
            removed.append({"layer": node.layer.name, "op": "BatchNormalization", "action": f"folded into {folds[node.layer.name][0]}"})
    drop = {r["layer"] for r in removed}

    def config(layer, cfg):
        if layer.name in into:
            cfg["use_bias"] = True
        return cfg

    def weights(layer, arrays):
        if layer.name not in into:
            return arrays
        scale, shift = into[layer.name]
        kernel = arrays[0]
        bias = arrays[1] if len(arrays) > 1 else np.zeros(scale.shape, np.float32)
        if class_name(layer).startswith("Depthwise"):  # output channel c*dm + m
            kernel = kernel * scale.reshape(kernel.shape[-2], kernel.shape[-1])
        else:
            kernel = kernel * scale
        return [kernel.astype(np.float32), (bias * scale + shift).astype(np.float32)]

    pruned = rebuild(graph, config=config, weights=weights, skip=lambda n: n.layer.name in drop)
    return pruned, removed
