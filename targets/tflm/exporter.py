"""TFLite Micro: the model as C arrays, its settings, a pruned op resolver, the exact arena.

The TFLite flatbuffer comes from the TFLite target's converter (or is given as ``.tflite``, and
quantized by AI Edge Quantizer when it is float and int8/int16x8 is asked for);
it is checked against TFLM's op table before anything is written, its arena is measured with
the real TFLM interpreter in a child process, and the bytes parsed back from the generated C
array are run once in TFLM to prove the file is right.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from edgekit.errors import ModelFileError, OptionError
from edgekit.model import SourceModel
from edgekit.session import ExportSession
from edgekit.tflite_graph import TFLiteGraph
from quantize.spec import QuantSpec
from targets.base import Artifact, check_scheme, with_layouts
from targets.c_names import model_c_name
from targets.tflm.ops import check_graph, resolver_ops
from targets.tflm.sources import ArenaFigures, check_section, parse_c_array, render_sources


MAX_MARGIN = 64 * 1024 * 1024  # bytes: more headroom than any MCU (even with PSRAM) has RAM


def check_margin(arena_margin: int | None) -> None:
    """``--arena-margin`` is extra bytes on top of the measured arena: 0 up to MAX_MARGIN."""
    if arena_margin is not None and not (
        isinstance(arena_margin, int) and not isinstance(arena_margin, bool) and 0 <= arena_margin <= MAX_MARGIN
    ):
        raise OptionError(
            f"--arena-margin {arena_margin}: give 0 to {MAX_MARGIN:,} bytes of headroom added to the measured "
            "arena (default: 5%, at least 1 KiB)"
        )


def default_margin(required: int) -> int:
    """Arena headroom: 5% (at least 1 KiB), rounded to 16. The measurement is exact for TFLM's
    reference kernels; optimized kernels (CMSIS-NN, ...) may ask for scratch buffers those do not."""
    return int(math.ceil(max(1024, 0.05 * required) / 16) * 16)


class TFLMTarget:
    name = "tflm"
    reemits_tflite = True  # a .tflite source already in the scheme is taken as it is (no calibration)
    schemes = frozenset({"int8", "int16x8", "float32"})

    def __init__(self, c_name: str | None = None, lang: str = "c", section: str | None = None,
                 labels: list[str] | None = None, arena_margin: int | None = None, layout: str | None = None,
                 keep_strings: bool = False):  # fmt: skip
        if lang not in ("c", "cc"):
            raise OptionError(f"--lang {lang!r}: choose c or cc")
        check_margin(arena_margin)
        check_section(section)
        self.c_name = c_name
        self.lang = lang
        self.section = section
        self.labels = labels
        self.arena_margin = arena_margin
        self.layout = None if layout in (None, "source") else layout  # as the TFLite target's
        self.keep_strings = bool(keep_strings)
        if c_name is not None:
            model_c_name(c_name, explicit=True)

    def check(self, model: SourceModel | None, spec: QuantSpec) -> None:
        check_scheme(self, spec)
        from targets.tflite.post_quantize import check_source

        check_source(model, spec, self.name)

    def describe(self, spec: QuantSpec) -> str:
        return f"TFLM C sources ({'C++' if self.lang == 'cc' else 'C'}) of the {spec.scheme} TFLite model"

    def export(self, model: SourceModel, spec: QuantSpec, out_dir: Path, calib=None,
               session: ExportSession | None = None) -> Artifact:  # fmt: skip
        """Convert (or take) the TFLite model (the TFLite target's conversion of the same
        ``session``) and write the C sources into ``out_dir``."""
        self.check(model, spec)
        from targets.tflite.convert import conversion

        converted = conversion(model, spec, calib, session, self.layout)
        data = converted.data
        name = model_c_name(self.c_name, explicit=True) if self.c_name else model_c_name(model.name, explicit=False)
        sources = build_tflm_sources(
            data, name=name, model_name=model.path.name, lang=self.lang, section=self.section,
            labels=self.labels, arena_margin=self.arena_margin, keep_strings=self.keep_strings,
        )  # fmt: skip
        artifact = with_layouts(self.write_sources(sources, spec, out_dir, data, model.path.name), model, self.layout)
        if converted.quantizer is None:
            return artifact
        return replace(artifact, notes=(converted.quantizer, *artifact.notes),
                       metadata={**artifact.metadata, "quantizer": converted.record})

    def write_sources(self, sources: TFLMSources, spec: QuantSpec, out_dir: Path, data: bytes, model_name: str) -> Artifact:
        """Write the sources (one folder per scheme: the file names carry the C name, not the scheme)."""
        return sources.write(out_dir / spec.scheme, spec)


def _main_tensor_names(names: dict | None) -> list | None:
    try:
        return names["subgraphs"][0]["tensors"]
    except (KeyError, IndexError, TypeError):
        return None


def strip_note(before: int, after: int, names: dict | None, keep_strings: bool, name: str) -> str:
    """The artifact note on the strings TFLM never reads."""
    if keep_strings:
        return f"model strings kept (--keep-strings): {after:,} B"
    if names is None:
        return f"model {after:,} B has no strings TFLM skips (already stripped)"
    return (f"tensor names, signatures and metadata TFLM never reads stripped: model {after:,} B, "
            f"{before - after:,} B ({100 * (before - after) / before:.1f}%) less flash; names in {name}_names.json")


@dataclass(frozen=True)
class TFLMSources:
    """The rendered files of one model, checked and proven, not yet written."""

    name: str
    lang: str
    files: dict  # file name -> text; the model data source first
    inputs: tuple
    outputs: tuple
    notes: tuple[str, ...]
    metadata: dict

    def write(self, out_dir: Path, spec: QuantSpec | None = None) -> Artifact:
        out_dir.mkdir(parents=True, exist_ok=True)
        for fname, text in self.files.items():
            (out_dir / fname).write_text(text)
        return Artifact("tflm", self.metadata["scheme"], out_dir, tuple(self.files), self.inputs, self.outputs,
                        self.notes, self.metadata, spec)  # fmt: skip


def build_tflm_sources(data: bytes, *, name: str, model_name: str, lang: str = "c", section: str | None = None,
                       labels: list[str] | None = None, arena_margin: int | None = None, app: bool = False,
                       keep_strings: bool = False, arena32: tuple[int, str] | None = None,
                       names: dict | None = None) -> TFLMSources:  # fmt: skip
    """Check, measure, render and prove the TFLM sources of one TFLite model. The C array holds
    the model without the strings TFLM never reads (``keep_strings`` keeps them); their names go
    to ``NAME_names.json``. ``names``: the name map of an already stripped model (a tflm
    artifact's), kept with the sources and used for the tensor comments."""
    from targets.tflm.runner import TFLMRunner, measure_arena
    from targets.tflm.strip import strip_strings

    check_margin(arena_margin)
    graph = TFLiteGraph(data, model_name)
    check_graph(graph)
    n_classes = graph.outputs[0].shape[-1] if graph.outputs and graph.outputs[0].shape else 0
    if labels is not None and len(labels) != n_classes:
        raise OptionError(f"--labels has {len(labels)} labels, the model's first output has {n_classes} classes")
    source_data = data
    data, stripped = (data, None) if keep_strings else strip_strings(data)
    names = stripped or (names if not keep_strings and isinstance(names, dict) else None)
    measured = measure_arena(data, model_name)
    margin = default_margin(measured.required) if arena_margin is None else int(math.ceil(arena_margin / 16) * 16)
    arena = ArenaFigures(measured.nonpersistent, measured.persistent, margin, measured.persistent32, measured.derivation,
                         *(arena32 or (None, "")))  # fmt: skip
    ops = resolver_ops(graph)
    scheme = graph.quant_scheme()
    rendered = render_sources(graph, name=name, model_name=model_name, scheme=scheme, lang=lang, section=section,
                              labels=labels, arena=arena, ops=ops, app=app, data=data,
                              tensor_names=_main_tensor_names(names))  # fmt: skip
    source = f"{name}_model_data.{lang}"
    if parse_c_array(rendered[source], name) != data:
        raise ModelFileError(f"{source}: the generated array does not read back as the model")
    if names is not None:
        names = {**names, "model_sha256": hashlib.sha256(data).hexdigest()}
        rendered[f"{name}_names.json"] = json.dumps(names, indent=1, sort_keys=True, ensure_ascii=True) + "\n"
    files = {source: rendered[source], **{f: rendered[f] for f in sorted(rendered) if f != source}}
    # Prove the bytes in the C file run in TFLM with the reported arena.
    runner = TFLMRunner()
    try:
        runner.load_bytes(parse_c_array(rendered[source], name), arena.size)
        runner.run([np.zeros(t.shape, np.float32) for t in runner.inputs])
    finally:
        runner.close()
    notes = (
        f"{len(ops)}-op resolver; arena {arena.size:,} B = {arena.required:,} measured "
        f"({arena.nonpersistent:,} tensors + {arena.persistent:,} persistent, 64-bit host) + {arena.margin:,} margin; "
        f"32-bit target {arena.size32:,} B",
        strip_note(len(source_data), len(data), stripped, keep_strings, name),
    )
    metadata = {
        "scheme": scheme, "c_name": name, "lang": lang, "section": section, "ops": [o["builtin"] for o in ops],
        "arena": arena.to_json(), "allocations": measured.allocations, "model_bytes": len(data),
        "tflite_sha256": hashlib.sha256(data).hexdigest(), "keep_strings": keep_strings,
        "strings_stripped": {"source_bytes": len(source_data), "saved_bytes": len(source_data) - len(data),
                             "source_sha256": hashlib.sha256(source_data).hexdigest()} if stripped else None,
    }  # fmt: skip
    return TFLMSources(name, lang, files, runner.inputs, runner.outputs, notes, metadata)
