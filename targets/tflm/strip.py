"""Strip the strings TFLite Micro never reads from a TFLite flatbuffer (flash the model wastes).

Cleared as TensorFlow's ``tensorflow.lite.tools.flatbuffer_utils.strip_strings`` clears them
(model description, subgraph names, tensor names, signature defs), plus the metadata entries
TFLM does not look up (``min_runtime_version``, ``CONVERSION_METADATA``) and their buffers.
Done with LiteRT's schema bindings (what edgekit reads flatbuffers with), so a ``.tflite``
given to ``edgekit header`` needs no TensorFlow import. Buffer data stays 16-byte aligned, as
the TFLite converter writes it (TF's re-serialization aligns it to 1 byte). The names go to a
name map beside the sources, for debugging.
"""

from __future__ import annotations

import hashlib

# Metadata TFLM reads: the offline memory plan (micro_allocation_info.cc) and compressed
# tensors (micro_allocator.cc); every other entry is dead weight in flash.
TFLM_METADATA = frozenset({b"OfflineMemoryAllocation", b"COMPRESSION_METADATA"})
_ALIGN = 16


def _aligned_buffer_class(schema):
    class AlignedBufferT(schema.BufferT):
        """A Buffer whose data vector starts on a 16-byte boundary (the schema's force_align)."""

        def Pack(self, builder):
            data = None
            if self.data is not None:
                raw = bytes(bytearray(self.data))
                builder.StartVector(1, len(raw), _ALIGN)
                builder.head -= len(raw)
                builder.Bytes[builder.head : builder.head + len(raw)] = raw
                builder.vectorNumElems = len(raw)
                data = builder.EndVector()
            schema.BufferStart(builder)
            if data is not None:
                schema.BufferAddData(builder, data)
            schema.BufferAddOffset(builder, self.offset)
            schema.BufferAddSize(builder, self.size)
            return schema.BufferEnd(builder)

    return AlignedBufferT


def _text(value) -> str | None:
    return None if value is None else bytes(value).decode("utf-8", "replace")


def _name_map(model) -> dict:
    """What stripping removes, readable: tensor names by subgraph and index, signatures."""
    sigs = []
    for s in model.signatureDefs or []:
        sigs.append({
            "key": _text(s.signatureKey), "subgraph": s.subgraphIndex,
            "inputs": {_text(t.name): t.tensorIndex for t in s.inputs or []},
            "outputs": {_text(t.name): t.tensorIndex for t in s.outputs or []},
        })  # fmt: skip
    return {
        "description": _text(model.description),
        "subgraphs": [{"name": _text(sg.name), "tensors": [_text(t.name) for t in sg.tensors or []]}
                      for sg in model.subgraphs or []],  # fmt: skip
        "signatures": sigs,
        "metadata_removed": sorted(_text(m.name) for m in model.metadata or [] if bytes(m.name or b"") not in TFLM_METADATA),
    }  # fmt: skip


def _has_strings(names: dict) -> bool:
    return bool(names["description"] or names["signatures"] or names["metadata_removed"]
                or any(sg["name"] or any(sg["tensors"]) for sg in names["subgraphs"]))  # fmt: skip


def _drop_metadata(model) -> None:
    """Remove the metadata entries TFLM ignores and the buffers only they use (renumbering
    the buffers the tensors and the kept entries point at)."""
    kept = [m for m in model.metadata or [] if bytes(m.name or b"") in TFLM_METADATA]
    used = {t.buffer for sg in model.subgraphs or [] for t in sg.tensors or []} | {m.buffer for m in kept} | {0}
    order = [i for i in range(len(model.buffers or [])) if i in used]
    new = {old: i for i, old in enumerate(order)}
    model.buffers = [model.buffers[i] for i in order]
    for sg in model.subgraphs or []:
        for t in sg.tensors or []:
            t.buffer = new[t.buffer]
    for m in kept:
        m.buffer = new[m.buffer]
    model.metadata = kept or None
    model.metadataBuffer = None  # deprecated buffer-index list; TFLM does not read it


def strip_strings(data: bytes) -> tuple[bytes, dict | None]:
    """(the flatbuffer without the strings TFLM never reads, the name map); the bytes as
    given and None when there is nothing to strip (an already stripped model)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    names = _name_map(model)
    if not _has_strings(names):
        return data, None
    model.description = None
    for sg in model.subgraphs or []:
        sg.name = None
        for t in sg.tensors or []:
            t.name = None
    model.signatureDefs = None  # without the names a signature is useless
    _drop_metadata(model)
    aligned = _aligned_buffer_class(schema)
    for b in model.buffers:
        b.__class__ = aligned
    builder = flatbuffers.Builder(len(data) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    out = bytes(builder.Output())
    names["source_sha256"] = hashlib.sha256(data).hexdigest()
    names["source_bytes"] = len(data)
    return out, names
