"""ONNX -> PyTorch ExportedProgram (onnx2torch, then ``torch.export``), for the targets whose
converters read PyTorch: TFLite (litert-torch) and Core ML (coremltools). OpenVINO reads the
ONNX model itself.

Of the routes measured (docs/sources.md), this one is exact to float precision against ONNX
Runtime on the conv nets tried, lives in the same environment as the ``torch`` extra, and
shares the PyTorch sources' litert-torch conversion, so ``--layout nhwc`` and the flatten
folding apply unchanged. onnx2torch builds ``torch.nn`` modules from the graph's attributes
and weights: nothing in the file runs. It lacks converters for some ops; those are named in
one line. The converted module is checked against ONNX Runtime before anything uses it.
"""

from __future__ import annotations

import numpy as np

from edgekit.errors import ConversionError, MissingExtraError, UnsupportedError

EXTRA_HINT = ("ONNX to tflite/tflm/coreml goes through PyTorch (onnx2torch, litert-torch): "
              "pip install 'edgekit[torch]'; the openvino target needs no extra")  # fmt: skip
MIN_COSINE = 0.9999  # onnx2torch vs ONNX Runtime on one random input: a wrong conversion is far below


def fold_weight_nodes(model):
    """``model`` (changed in place) with Constant nodes and Identity nodes of initializers
    turned into initializers: onnx2torch reads Conv/Gemm weights only from initializers, and
    PyTorch's exporter writes shared weights through an Identity."""
    import onnx

    inits = {t.name for t in model.graph.initializer}
    by_name = {t.name: t for t in model.graph.initializer}
    keep = []
    for node in model.graph.node:
        value = None
        if node.op_type == "Identity" and node.input[0] in inits:
            value = by_name[node.input[0]]
        elif node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value":
            value = node.attribute[0].t
        if value is None:
            keep.append(node)
            continue
        t = onnx.TensorProto()
        t.CopyFrom(value)
        t.name = node.output[0]
        model.graph.initializer.append(t)
        inits.add(t.name)
        by_name[t.name] = t
    del model.graph.node[:]
    model.graph.node.extend(keep)
    return model


def exported_program(data: bytes, inputs, reference, source: str):
    """The ExportedProgram of the ONNX model ``data`` (fixed shapes) at ``inputs``' shapes,
    checked against ``reference`` (arrays -> outputs: ONNX Runtime)."""
    import onnx

    from edgekit.loaders.torch import import_torch

    torch = import_torch()
    try:
        from onnx2torch import convert
    except ImportError as e:
        raise MissingExtraError(EXTRA_HINT) from e
    model = fold_weight_nodes(onnx.load_from_string(data))
    try:
        module = _quantizable(convert(model).eval())
    except NotImplementedError as e:  # "Converter is not implemented (OperationDescription(...))"
        raise UnsupportedError(f"{source}: {_op_of(e)} has no PyTorch converter in onnx2torch, so it cannot go "
                               "to tflite/tflm/coreml; the openvino target reads the ONNX model directly") from e  # fmt: skip
    except Exception as e:  # onnx2torch raises KeyError/ValueError/... on graphs it cannot map
        raise ConversionError(f"onnx2torch could not convert {source}: {type(e).__name__}: {_first_line(e)}") from e
    rng = np.random.default_rng(0)
    arrays = [rng.random(t.shape).astype(t.dtype) if np.dtype(t.dtype).kind == "f" else np.zeros(t.shape, t.dtype)
              for t in inputs]  # fmt: skip
    args = tuple(torch.from_numpy(a) for a in arrays)
    try:
        program = torch.export.export(module, args)
    except Exception as e:  # torch.export raises many types for graphs it cannot trace
        raise ConversionError(f"torch.export of the onnx2torch module of {source} failed: {_first_line(e)}") from e
    with torch.inference_mode():
        got = program.module()(*args)
    got = [np.asarray(g.detach().numpy()) for g in (got if isinstance(got, (list, tuple)) else [got])]
    for i, (g, r) in enumerate(zip(got, reference(arrays))):
        cos = _cosine(g, r)
        if g.shape != r.shape or not cos >= MIN_COSINE:
            raise ConversionError(f"{source}: the PyTorch module onnx2torch made differs from ONNX Runtime on output {i} "
                                  f"(cosine {cos:.6f}); the tflite/tflm/coreml targets cannot use it, openvino can")  # fmt: skip
    return program


def _quantizable(module):
    """``module`` with onnx2torch's HardSigmoid (``clip(alpha*x + beta, 0, 1)``, which litert-torch
    lowers to RELU_0_TO_1, an op AI Edge Quantizer leaves float) as ``relu6(6*alpha*x + 6*beta) / 6``:
    the same function; PyTorch's own hardsigmoid for MobileNetV3's alpha 1/6, beta 1/2, which
    litert-torch folds into the preceding conv (RELU6) and one MUL."""
    import torch
    from onnx2torch.node_converters.activations import OnnxHardSigmoid

    class _Relu6Sigmoid(torch.nn.Module):
        def __init__(self, alpha: float, beta: float):
            super().__init__()
            self.scale, self.shift = 6.0 * alpha, 6.0 * beta

        def forward(self, x):
            return torch.nn.functional.relu6(x * self.scale + self.shift) / 6.0

    for name, sub in list(module.named_modules()):
        if isinstance(sub, OnnxHardSigmoid):
            standard = abs(sub.alpha - 1 / 6) < 1e-6 and abs(sub.beta - 0.5) < 1e-6
            new = torch.nn.Hardsigmoid() if standard else _Relu6Sigmoid(sub.alpha, sub.beta)
            parent, _, leaf = name.rpartition(".")
            setattr(module.get_submodule(parent) if parent else module, leaf, new)
    return module


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 1.0 if na == nb else 0.0
    return float(a @ b / (na * nb))


def _op_of(e: Exception) -> str:
    """'op X (opset N)' from onnx2torch's NotImplementedError text."""
    import re

    text = str(e)
    op = re.search(r"operation_type='([^']+)'", text)
    version = re.search(r"version=(\d+)", text)
    if not op:
        return f"an op ({_first_line(e)})"
    return f"op {op.group(1)!r}" + (f" (opset {version.group(1)})" if version else "")


def _first_line(e: Exception) -> str:
    text = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    return text[0][:300] if text else type(e).__name__
