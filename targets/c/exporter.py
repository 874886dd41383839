"""The standalone C target: an int8 or int16x8 TFLite graph compiled to plain C (no interpreter).

The TFLite flatbuffer comes from the TFLite target's converter (or is given as ``.tflite``);
every op is checked before anything is written. The artifact is NAME.c, NAME.h and the
NAME.tflite they were generated from (not deployed: the runner regenerates the C from it to
prove the files are edgekit's, and the cost model reads it).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from edgekit.errors import UnsupportedError
from edgekit.model import SourceModel
from edgekit.session import ExportSession
from edgekit.tflite_graph import TFLiteGraph
from quantize.spec import QuantSpec
from targets.base import Artifact, check_scheme, tflite_source_scheme
from targets.c.kernels import check_kernels
from targets.c_names import model_c_name
from targets.tflm.sources import check_section


class CTarget:
    name = "c"
    reemits_tflite = True  # a .tflite source already in the scheme is taken as it is (no calibration)
    schemes = frozenset({"int8", "int16x8"})  # both with either kernel back-end

    def __init__(self, c_name: str | None = None, section: str | None = None, kernels: str = "portable"):
        check_section(section)
        self.kernels = check_kernels(kernels)
        if c_name is not None:
            model_c_name(c_name, explicit=True)
        self.c_name = c_name
        self.section = section

    def check(self, model: SourceModel | None, spec: QuantSpec) -> None:
        check_scheme(self, spec)
        act = "int16" if spec.scheme == "int16x8" else "int8"
        if spec.io not in (act, "float32"):
            raise UnsupportedError(f"target c takes {act} or float32 inputs and outputs with -q {spec.scheme}; "
                                   f"got --io-dtype {spec.io}")  # fmt: skip
        have = tflite_source_scheme(model)
        if have is not None and have != spec.scheme:
            raise UnsupportedError(f"{model.path} is a {have} .tflite, not {spec.scheme}; the c target compiles the graph as it is "
                                   "(or use --target tflm)")  # fmt: skip
        if model is not None and model.kind == "tflite":
            from targets.c.generate import check

            check(model.backend.graph)

    def describe(self, spec: QuantSpec) -> str:
        kernels = "CMSIS-NN, TFLM's reference kernels where it has none" if self.kernels == "cmsis-nn" else \
            "TFLM's reference kernels"
        return f"standalone C of the {spec.scheme} TFLite graph ({self.kernels} kernels: {kernels}; no interpreter)"

    def export(self, model: SourceModel, spec: QuantSpec, out_dir: Path, calib=None,
               session: ExportSession | None = None) -> Artifact:  # fmt: skip
        self.check(model, spec)
        from targets.tflite.convert import tflite_of

        data = tflite_of(model, spec, calib, session)
        name = model_c_name(self.c_name, explicit=True) if self.c_name else model_c_name(model.name, explicit=False)
        return write_c(data, out_dir / spec.scheme, name=name, model_name=model.path.name, section=self.section, spec=spec,
                       kernels=self.kernels)  # fmt: skip


def write_c(data: bytes, out_dir: Path, *, name: str, model_name: str, section: str | None = None,
            spec: QuantSpec | None = None, kernels: str = "portable") -> Artifact:  # fmt: skip
    """Generate (all checks first) and write the C of one int8 or int16x8 TFLite model."""
    from targets.c.generate import generate

    model = generate(data, name=name, model_name=model_name, section=section, kernels=kernels)
    graph = TFLiteGraph(data, model_name)
    out_dir.mkdir(parents=True, exist_ok=True)
    for fname, text in model.files.items():
        (out_dir / fname).write_text(text)
    (out_dir / f"{name}.tflite").write_bytes(data)
    p = model.plan
    notes = (f"{len(model.ops)} op kinds, {kernels} kernels; arena {p.size:,} B (lower bound {p.lower_bound:,} B, "
             f"x{p.ratio:.3f}); {model.const_bytes:,} B constant data; inputs and outputs in the arena",)  # fmt: skip
    scheme = graph.quant_scheme()
    metadata = {**model.metadata(), "scheme": scheme, "section": section, "model_name": model_name,
                "model_bytes": model.const_bytes, "tflite_sha256": hashlib.sha256(data).hexdigest()}  # fmt: skip
    files = (*model.files, f"{name}.tflite")
    return Artifact("c", scheme, out_dir, files, tuple(t.info() for t in graph.inputs),
                    tuple(t.info() for t in graph.outputs), notes, metadata, spec)  # fmt: skip
