"""Structured channel pruning: remove whole filters/units and rebuild a smaller Keras model.

Channels are chosen per coupled group (see ``quantize.prune.graph``): every layer producing a
group's channels (the convs of all branches joined by an Add) loses the same channels, and
every layer reading them (BatchNormalization, DepthwiseConv2D, the next conv or dense, through
Flatten and Concatenate) loses the matching weights. Importance of a channel is the L1 or L2
norm of its filters summed over the group's producers, or the mean absolute activation on
calibration data (``criterion=activation``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.errors import OptionError
from quantize.prune.graph import (
    ChannelGroups,
    KerasGraph,
    class_name,
    read_graph,
    rebuild,
)
from quantize.prune.spec import PruneSpec

ACTIVATION_SAMPLES = 64


@dataclass
class ChannelPlan:
    graph: KerasGraph
    groups: ChannelGroups
    kept: dict[int, np.ndarray]  # group root -> sorted surviving channel indices
    rows: list[dict]  # one per group: layers, channels before/after, or why it was kept


def _out_kernel(layer) -> np.ndarray:
    """The kernel whose last axis is the layer's output channels."""
    w = layer.get_weights()
    return w[1] if class_name(layer).startswith("Separable") else w[0]


def _norms(layer, criterion: str) -> np.ndarray:
    k = _out_kernel(layer)
    k = k.reshape(-1, k.shape[-1])
    return np.abs(k).sum(0) if criterion == "l1" else np.sqrt((k * k).sum(0))


def _activations(graph: KerasGraph, key: int, calib) -> np.ndarray:
    K = graph.K
    ins = [graph.tensors[k] for k in graph.inputs]
    probe = K.Model(ins[0] if len(ins) == 1 else ins, graph.tensors[key])
    batch = next(calib.batches(ACTIVATION_SAMPLES, ACTIVATION_SAMPLES))
    x = batch.inputs[0] if len(batch.inputs) == 1 else batch.inputs
    act = np.asarray(probe(x, training=False))
    return np.abs(act.reshape(-1, act.shape[-1])).mean(0)


def plan_channels(model, spec: PruneSpec, calib=None) -> ChannelPlan:
    """Which channels of which groups survive ``spec``."""
    if spec.criterion == "activation" and calib is None:
        raise OptionError("--prune channels=...,criterion=activation needs calibration data: pass --calib DATA")
    graph = read_graph(model)
    cg = ChannelGroups(graph)
    layers = {n.layer.name: n.layer for n in graph.nodes}
    kept: dict[int, np.ndarray] = {}
    rows = []
    for g in cg.groups:
        if not g.producers:
            continue
        row = {"layers": list(g.producers), "channels": g.size, "kept": g.size}
        rows.append(row)
        outside = [p for p in g.producers if not spec.in_scope(p, class_name(layers[p]))]
        ratio = max(spec.ratio_for(p) for p in g.producers)
        if g.frozen or outside or ratio == 0:
            row["reason"] = g.frozen or (f"{', '.join(outside)} excluded or outside layers=" if outside else "ratio 0")
            continue
        if spec.criterion == "activation":
            score = _activations(graph, g.tensors[-1], calib)
        else:
            score = sum(_norms(layers[p], spec.criterion) for p in g.producers)
        keep = max(1, g.size - round(g.size * ratio))
        order = np.argsort(-score, kind="stable")
        kept[g.gid] = np.sort(order[:keep])
        row["kept"] = keep
    return ChannelPlan(graph, cg, kept, rows)


def _slice_weights(plan: ChannelPlan, layer, arrays: list) -> list:
    cg, name, cls = plan.groups, layer.name, class_name(layer)
    if name not in cg.in_space:
        return arrays
    in_idx = cg.kept_indices(cg.in_space[name], plan.kept)
    if name not in cg.out_group:  # per-channel weights of a pass-through layer
        if cls.startswith("Depthwise"):
            return [arrays[0][..., in_idx, :], *(a[in_idx] for a in arrays[1:])]
        return [a[..., in_idx] for a in arrays]
    out_idx = plan.kept.get(cg.find(cg.out_group[name]))
    if out_idx is None:
        out_idx = np.arange(arrays[-1].shape[-1])
    if cls.startswith("Separable"):
        dw, pw, *rest = arrays
        dm = dw.shape[-1]
        pw_in = (in_idx[:, None] * dm + np.arange(dm)[None, :]).reshape(-1)
        return [dw[..., in_idx, :], pw[..., pw_in, :][..., out_idx], *(b[out_idx] for b in rest)]
    kernel, *rest = arrays
    return [kernel[..., in_idx, :][..., out_idx], *(b[out_idx] for b in rest)]


def apply_channel_plan(plan: ChannelPlan):
    """The smaller model of ``plan``, with the surviving weights copied in."""
    cg = plan.groups

    def config(layer, cfg):
        gid = cg.out_group.get(layer.name)
        if gid is not None and cg.find(gid) in plan.kept:
            cfg["units" if "units" in cfg else "filters"] = len(plan.kept[cg.find(gid)])
        return cfg

    return rebuild(plan.graph, config=config, weights=lambda layer, arrays: _slice_weights(plan, layer, arrays))


def prune_channels(model, spec: PruneSpec, calib=None):
    """``(smaller model, record)``: ``spec.ratio`` of the channels of each prunable group removed."""
    plan = plan_channels(model, spec, calib)
    pruned = apply_channel_plan(plan)
    return pruned, {"groups": plan.rows, "criterion": spec.criterion}
