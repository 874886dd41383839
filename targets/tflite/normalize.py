"""Older ``.tflite`` files rewritten into the form AI Edge Quantizer reads.

AI Edge Quantizer addresses a model's inputs through its signatures, and reads an op's
kind from the ``builtin_code`` field alone. Files from older converters (MLPerf Tiny's
``ad01_fp32.tflite``, schema 3) have no SignatureDef and keep the op kind in
``deprecated_builtin_code`` (``builtin_code`` 0 reads as ADD, so every op would be quantized
as an ADD). Such a file gets a ``serving_default`` signature over the main subgraph's inputs
and outputs (under their tensor names) and both code fields set, as the schema's readers
take them (the larger of the two). The rewrite goes through LiteRT's own flatbuffer helpers
(``ai_edge_litert.tools.flatbuffer_utils``, the object API AI Edge Quantizer itself reads and
writes models with); packing is deterministic. The graph and its weights do not change.

The other way round, AI Edge Quantizer writes a model with 256 KiB or more of weights in the
large-model layout (buffers after the flatbuffer, found by offset and size), which TFLite
Micro and a C array of the model do not take; ``inline_buffers`` packs them back inside.
"""

from __future__ import annotations

from edgekit.errors import UnsupportedError
from edgekit.tflite_graph import TFLiteGraph

SIGNATURE_KEY = "serving_default"


def main_signature(graph: TFLiteGraph) -> tuple[str, list[str]] | None:
    """``(key, input names in the order of the main subgraph's inputs)`` of the signature that
    runs the main subgraph with all its inputs, or None if the file has none."""
    for key, sig in sorted(graph.signatures.items()):
        by_tensor = {t: name for name, t in sig["inputs"].items()}
        if sig["subgraph"] == 0 and set(by_tensor) == set(graph.main.inputs):
            return key, [by_tensor[t] for t in graph.main.inputs]
    return None


def normalized(data: bytes) -> bytes:
    """``data`` unchanged if AI Edge Quantizer reads it as it is; otherwise the same model with
    a ``serving_default`` signature (if it has none) and the op codes in ``builtin_code``."""
    graph = TFLiteGraph(data)
    has_signature = main_signature(graph) is not None
    if not has_signature and graph.signatures:  # signatures over other subgraphs: adding ours could clash
        raise UnsupportedError(
            f"the model's signatures ({', '.join(sorted(graph.signatures))}) do not cover its main subgraph's inputs"
        )
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(data))
    stale = [c for c in model.operatorCodes or [] if c.builtinCode != flatbuffer_utils.get_builtin_code_from_operator_code(c)]
    if has_signature and not stale:
        return data
    for code in stale:
        code.builtinCode = flatbuffer_utils.get_builtin_code_from_operator_code(code)
    if not has_signature:
        model.signatureDefs = [_signature(graph)]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _signature(graph: TFLiteGraph):
    from ai_edge_litert import schema_py_generated as schema

    sig = schema.SignatureDefT()
    sig.signatureKey = SIGNATURE_KEY
    sig.subgraphIndex = 0
    sig.inputs = _tensor_maps(graph, graph.main.inputs, "input")
    sig.outputs = _tensor_maps(graph, graph.main.outputs, "output")
    return sig


def _tensor_maps(graph: TFLiteGraph, tensors: tuple[int, ...], prefix: str) -> list:
    """Signature entries for ``tensors`` under their tensor names, or ``prefix_i`` where a name
    is empty or repeated (a signature needs distinct names)."""
    from ai_edge_litert import schema_py_generated as schema

    names = [graph.main.tensors[t].name for t in tensors]
    entries = []
    for i, (name, tensor) in enumerate(zip(names, tensors)):
        entry = schema.TensorMapT()
        entry.name = name if name and names.count(name) == 1 else f"{prefix}_{i}"
        entry.tensorIndex = tensor
        entries.append(entry)
    return entries


def inline_buffers(data: bytes) -> bytes:
    """``data`` with every buffer stored inside the flatbuffer (unchanged if all already are)."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(data, 0)
    if not any(model.Buffers(i).Offset() > 1 for i in range(model.BuffersLength())):
        return data
    from ai_edge_litert.tools import flatbuffer_utils

    # Reading resolves offset buffers into data; packing writes data inline (< 2 GiB models).
    return bytes(flatbuffer_utils.convert_object_to_bytearray(flatbuffer_utils.read_model_from_bytearray(data)))
