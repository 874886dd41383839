"""Magnitude (unstructured) pruning: zero the smallest weights of every kernel.

``mode=global`` (the default) uses one magnitude threshold over all kernels (small layers can
lose more, large ones less); ``mode=layer`` gives each kernel the target sparsity, and so do
per-layer ratios. Biases and
BatchNormalization parameters are never pruned. The masks are returned so fine-tuning can keep
the pruned weights at zero; converters keep exact zeros (float32/float16 as 0.0, symmetric
int8 weights as 0), so the sparsity survives into every artifact.
"""

from __future__ import annotations

import numpy as np

from quantize.prune.graph import class_name, read_graph, rebuild
from quantize.prune.spec import PruneSpec

# Layer class -> indices of its get_weights() arrays that are prunable kernels.
KERNELS = {
    "Conv1D": (0,), "Conv2D": (0,), "Conv3D": (0,), "Dense": (0,), "Conv2DTranspose": (0,),
    "DepthwiseConv1D": (0,), "DepthwiseConv2D": (0,), "SeparableConv1D": (0, 1), "SeparableConv2D": (0, 1),
}  # fmt: skip

Masks = dict[str, list]  # layer name -> one boolean array (True = kept) or None per weight array


def _kernels(model, spec: PruneSpec) -> list[tuple[str, int, np.ndarray]]:
    out = []
    for n in read_graph(model).nodes:
        idx = KERNELS.get(class_name(n.layer), ())
        if idx and not spec.excluded(n.layer.name):
            w = n.layer.get_weights()
            out += [(n.layer.name, i, w[i]) for i in idx]
    return out


def _mask(w: np.ndarray, sparsity: float) -> np.ndarray:
    k = round(sparsity * w.size)
    mask = np.ones(w.size, bool)
    if k:
        mask[np.argsort(np.abs(w).reshape(-1), kind="stable")[:k]] = False
    return mask.reshape(w.shape)


def magnitude_masks(model, spec: PruneSpec) -> Masks:
    """Masks reaching ``spec.ratio`` zeros per kernel (or over all kernels, mode=global)."""
    kernels = _kernels(model, spec)
    masks: Masks = {}
    if spec.mode == "global" and not spec.per_layer and kernels:
        flat = np.concatenate([np.abs(w).reshape(-1) for _, _, w in kernels])
        k = round(spec.ratio * flat.size)
        threshold = np.sort(flat, kind="stable")[k - 1] if k else -1.0
        made = {(name, i): np.abs(w) > threshold for name, i, w in kernels}
    else:
        made = {(name, i): _mask(w, spec.ratio_for(name)) for name, i, w in kernels}
    for (name, i), m in made.items():
        layer_masks = masks.setdefault(name, [])
        layer_masks += [None] * (i + 1 - len(layer_masks))
        layer_masks[i] = m
    return masks


def apply_masks(model, masks: Masks) -> None:
    """Zero the masked weights of ``model`` in place."""
    for name, layer_masks in masks.items():
        layer = model.get_layer(name)
        w = layer.get_weights()
        layer.set_weights([a * m if m is not None else a for a, m in zip(w, layer_masks + [None] * len(w))])


def sparsity_of(model) -> dict:
    """Zero share of all prunable kernels, overall and per layer."""
    total = zeros = 0
    layers = {}
    for n in read_graph(model).nodes:
        idx = KERNELS.get(class_name(n.layer), ())
        w = n.layer.get_weights()
        size = sum(w[i].size for i in idx)
        if size:
            z = sum(int((w[i] == 0).sum()) for i in idx)
            layers[n.layer.name] = z / size
            total, zeros = total + size, zeros + z
    return {"sparsity": zeros / total if total else 0.0, "layers": layers}


def prune_magnitude(model, spec: PruneSpec):
    """``(copy of model with the smallest weights zeroed, masks, record)``."""
    masks = magnitude_masks(model, spec)
    pruned = rebuild(read_graph(model))
    apply_masks(pruned, masks)
    return pruned, masks, {"mode": spec.mode, **sparsity_of(pruned)}
