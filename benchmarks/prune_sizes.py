"""Size effect of magnitude pruning (80% zero weights) per target, measured, not estimated.

Exports each model dense and with ``--prune sparsity=0.8`` to every target and scheme that
stores weights differently, and prints the bytes that go to the device and the same bytes
gzipped (what a compressed download, OTA update or compressed file system stores). Run:
``python benchmarks/prune_sizes.py`` (ResNet-8 needs ../shared/models).
"""

from __future__ import annotations

import gzip
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgekit.pipeline import ExportOptions, export
from tests.conftest import EXAMPLE, MLPERF

QUANT = {"tflite": ["float32", "float16", "int8", "sparse"], "tflm": ["int8"], "openvino": ["float32", "int8", "int8-weights"]}
MODELS = {
    "digits": (EXAMPLE / "digits.keras", str(EXAMPLE / "calib.npz")),
    "ResNet-8": (MLPERF / "image_classification" / "pretrainedResnet.h5", "random"),
}


def _payload(a) -> bytes:
    """The bytes that go to the device: the flatbuffer, the C array's data, the IR's .bin."""
    if a.target == "tflm":
        return _tflm_bytes(a)
    if a.target == "openvino":
        return (a.directory / next(f for f in a.files if f.endswith(".bin"))).read_bytes()
    return a.primary.read_bytes()


def _tflm_bytes(a) -> bytes:
    from targets.tflm.runner import _model_data_source
    from targets.tflm.sources import (
        parse_c_array,  # the runner's parser of the generated C
    )

    path, cname = _model_data_source(a)
    return parse_c_array(path.read_text(), cname)


def sizes(model: Path, calib: str, prune: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        res = export(ExportOptions(model=model, out=Path(tmp) / "b", target=tuple(QUANT), quant=QUANT,
                                   calib=calib, prune=prune))  # fmt: skip
        return {f"{a.target}/{a.scheme}": (len(p := _payload(a)), len(gzip.compress(p, 9, mtime=0))) for a in res.artifacts}


def main() -> None:
    print("| model | artifact | dense | 80% sparse | dense gzip | 80% sparse gzip | sparse gzip vs dense |")
    print("|---|---|---|---|---|---|---|")
    for name, (path, calib) in MODELS.items():
        if not path.exists():
            continue
        dense, sparse = sizes(path, calib, ()), sizes(path, calib, ("sparsity=0.8",))
        for key in dense:
            (d, dz), (s, sz) = dense[key], sparse[key]
            print(f"| {name} | {key} | {d:,} | {s:,} | {dz:,} | {sz:,} | {sz / d:.2f}x |")


if __name__ == "__main__":
    main()
