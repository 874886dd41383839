"""PyTorch programs to TFLite through litert-torch (LiteRT's PyTorch converter).

litert-torch lowers the ExportedProgram to TFLite and moves a channels-first conv net's
activations to channels-last itself (its layout optimisation), leaving a TRANSPOSE only
where the program's layout is observable: at each image input and output, and before a
``flatten`` that feeds a ``Linear`` (the flattened order is C,H,W). ``fold_flatten_order``
removes that last one: it permutes the Linear's weight columns to H,W,C order and flattens
channels-last, which the converter's own NHWC->NCHW transpose then cancels. With
``--layout nhwc`` the I/O itself is channels-last (``litert_torch.to_channel_last_io``), so
a plain conv net has no TRANSPOSE at all.
"""

from __future__ import annotations

import os

import numpy as np

from edgekit.errors import ConversionError, EdgekitError
from edgekit.model import SourceModel
from edgekit.tensors import NCHW


def _litert_torch():
    from edgekit.loaders.torch import import_torch

    import_torch()
    # The converter prints a progress tree to stdout unless told not to.
    os.environ.setdefault("LITERT_TORCH_SHOW_PROGRESS", "n")
    try:
        import litert_torch
    except ImportError as e:
        from edgekit.errors import MissingExtraError
        from edgekit.loaders.torch import EXTRA_HINT

        raise MissingExtraError(EXTRA_HINT) from e
    return litert_torch


def image_indices(tensors) -> list[int]:
    """Indices of the NCHW image tensors: the ones ``--layout nhwc`` makes channels-last."""
    return [i for i, t in enumerate(tensors) if t.layout == NCHW]


def float_flatbuffer(model: SourceModel, layout: str | None = None) -> bytes:
    """The float32 ``.tflite`` of a PyTorch source (``layout`` "nhwc": channels-last I/O)."""
    litert_torch = _litert_torch()
    module = clamp_unit_as_relus(fold_flatten_order(model.exported_program().module()))
    args = model.example_inputs()
    if layout == "nhwc":
        ins, outs = image_indices(model.inputs), image_indices(model.outputs)
        module = litert_torch.to_channel_last_io(module, args=ins, outputs=outs)
        args = tuple(a.permute(0, 2, 3, 1).contiguous() if i in ins else a for i, a in enumerate(args))
    # The program was exported in eval mode already; ``module()`` only leaves the flag on (and
    # refuses ``.eval()``), which litert-torch warns about.
    for sub in module.modules():
        sub.training = False
    try:
        return bytes(litert_torch.convert(module, args).model_content())
    except EdgekitError:
        raise
    except Exception as e:  # lowering errors come as many types, with the op in the message
        raise ConversionError(f"litert-torch could not convert {model.path}: {_first_line(e)}") from e


def float16_flatbuffer(data: bytes) -> bytes:
    """float16 weights (float32 compute) of a float32 ``.tflite``: litert-torch's fp16 recipe,
    which it applies with AI Edge Quantizer after conversion."""
    _litert_torch()
    from litert_torch.generative.quantize.quant_recipes import full_fp16_recipe
    from litert_torch.quantize import translate_recipe

    recipe = translate_recipe.translate_to_ai_edge_recipe(full_fp16_recipe().generative_recipe)
    return bytes(translate_recipe.quantize_model(data, recipe))


def fold_flatten_order(gm):
    """Rewrite ``linear(flatten(x))`` of a 4-D ``x`` into ``linear(flatten(x.permute(0,2,3,1)), W')``
    with ``W'`` the weight's columns in H,W,C order: the same function, whose flatten reads the
    channels-last activations litert-torch keeps, so no TRANSPOSE is needed before it."""
    import torch

    aten = torch.ops.aten
    changed = False
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target not in (aten.flatten.using_ints, aten.view.default,
                                                             aten.reshape.default):  # fmt: skip
            continue
        src = node.args[0]
        shape = tuple(getattr(src.meta.get("val"), "shape", ()))
        if len(shape) != 4 or shape[2] * shape[3] == 1 or not _flattens_to_2d(node, shape):
            continue
        users = list(node.users)
        if not users or not all(_linear_weight(gm, u, node) is not None for u in users):
            continue
        n, c, h, w = (int(d) for d in shape)
        for user in users:
            owner, leaf = _owner(gm, _linear_weight(gm, user, node))
            weight = getattr(owner, leaf)
            out = weight.shape[0]
            folded = weight.detach().reshape(out, c, h, w).permute(0, 2, 3, 1).reshape(out, c * h * w).contiguous()
            setattr(owner, leaf, torch.nn.Parameter(folded, requires_grad=False))
        with gm.graph.inserting_before(node):
            perm = gm.graph.call_function(aten.permute.default, (src, [0, 2, 3, 1]))
        node.replace_input_with(src, perm)
        changed = True
    if changed:
        gm.graph.lint()
        gm.recompile()
    return gm


def clamp_unit_as_relus(gm):
    """Rewrite ``clamp(x, 0, 1)`` (also ``clip``, ``hardtanh(x, 0, 1)``; ONNX ``Clip(0, 1)``) into
    ``1 - relu(1 - relu(x))``: the same function, which litert-torch lowers to ops AI Edge
    Quantizer makes int8 (two SUBs with a fused RELU), where the clamp itself lowers to
    RELU_0_TO_1, which it leaves float (so no full-integer model, and no TFLM)."""
    import torch

    aten = torch.ops.aten
    targets = {aten.clamp.default, aten.clip.default, aten.hardtanh.default}
    changed = False
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target not in targets or node.kwargs:
            continue
        if tuple(float(a) if isinstance(a, (int, float)) else a for a in node.args[1:]) != (0.0, 1.0):
            continue
        with gm.graph.inserting_before(node):
            inner = gm.graph.call_function(aten.relu.default, (node.args[0],))
            flipped = gm.graph.call_function(aten.relu.default, (gm.graph.call_function(aten.rsub.Scalar, (inner, 1.0)),))
            out = gm.graph.call_function(aten.rsub.Scalar, (flipped, 1.0))
        out.meta = dict(node.meta)
        node.replace_all_uses_with(out)
        gm.graph.erase_node(node)
        changed = True
    if changed:
        gm.graph.lint()
        gm.recompile()
    return gm


def _flattens_to_2d(node, shape) -> bool:
    import torch

    if node.target is torch.ops.aten.flatten.using_ints:
        start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
        end = node.args[2] if len(node.args) > 2 else node.kwargs.get("end_dim", -1)
        return start == 1 and end in (-1, 3)
    target = list(node.args[1])
    return len(target) == 2 and target[0] == shape[0] and target[1] in (-1, shape[1] * shape[2] * shape[3])


def _linear_weight(gm, user, flat) -> str | None:
    """The attribute name of ``user``'s weight when ``user`` is ``linear(flat, W, ...)`` with a
    constant ``W`` used by nothing else."""
    import torch

    if user.op != "call_function" or user.target is not torch.ops.aten.linear.default or user.args[0] is not flat:
        return None
    w = user.args[1]
    if w.op != "get_attr" or len(w.users) != 1:
        return None
    try:
        owner, leaf = _owner(gm, w.target)
    except AttributeError:
        return None
    return w.target if isinstance(getattr(owner, leaf, None), torch.Tensor) else None


def _owner(gm, target: str):
    """(module holding the attribute, its name) for a dotted ``get_attr`` target."""
    prefix, _, leaf = target.rpartition(".")
    return (gm.get_submodule(prefix) if prefix else gm), leaf


def _first_line(e: Exception) -> str:
    """The line naming the problem ("Lowering not found: aten.searchsorted.Tensor"), not the
    traceback and tool hints litert-torch appends."""
    text = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    return text[0][:300] if text else type(e).__name__


class _ChannelsLast:
    """A calibration Dataset whose rank-4 samples are transposed NCHW -> NHWC, for the
    ``--layout nhwc`` flatbuffer (the data stay in the source's layout on disk)."""

    def __init__(self, calib, images: list[int]):
        self._calib = calib
        self._images = images
        self.source = calib.source
        self.random = calib.random

    def take(self, count: int):
        return [[np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if i in self._images else x for i, x in enumerate(s)]
                for s in self._calib.take(count)]  # fmt: skip


def calibration_in_layout(model: SourceModel, calib, layout: str | None, session):
    """``calib`` as the flatbuffer of ``layout`` takes it (one wrapper per session, so the
    tflite and tflm targets share one quantization)."""
    images = image_indices(model.inputs)
    if calib is None or layout != "nhwc" or not images:
        return calib
    return session.cached(("channels-last-calib", id(calib)), lambda: _ChannelsLast(calib, images), keep=(calib,))
