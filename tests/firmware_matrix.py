"""The firmware build matrix of issue 15: the digits example, the four MLPerf Tiny int8 models and
person_detect, built for each (board, kernel library) of ``CONFIGS``, run under QEMU and compared
with the Python TFLM interpreter, in quanta of each output.

Inputs are real where ../shared has them (digits eval set, the KWS reference sample, the AD log-mel
features cut into 640-value windows, the person / no-person photos for person_detect and, as RGB,
for VWW), else the structured synthetic inputs of tests/synthetic.py. The AD autoencoder's 640
outputs are the rich ones; the classifiers' outputs often saturate.

Used by tests/test_firmware_matrix.py and benchmarks/firmware_matrix.py (the docs table).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests import synthetic
from tests.conftest import EXAMPLE, MLPERF, SHARED

CONFIGS = (("mps2-an386", "reference"), ("mps2-an386", "cmsis-nn"), ("mps3-an547", "cmsis-nn"))
TESTDATA = SHARED / "tflm" / "testdata"


def _bmp_gray(name: str) -> np.ndarray:
    from PIL import Image

    with Image.open(TESTDATA / name) as im:
        return np.asarray(im.convert("L"), np.float32)  # 96 x 96, 0..255


def _photos() -> np.ndarray:
    return np.stack([_bmp_gray("person.bmp"), _bmp_gray("no_person.bmp")])


def _digits(n):
    with np.load(EXAMPLE / "eval.npz") as z:
        return [z["x"][:n].astype(np.float32)], "digits eval set"


def _kws(n):
    from edgekit.tflite_graph import TFLiteGraph

    q = TFLiteGraph.from_file(MLPERF / "keyword_spotting" / "kws_ref_model.tflite").inputs[0].quant
    real = (np.load(MLPERF / "keyword_spotting" / "kws_sample_input_int8.npy").astype(np.float32) - q.zero_point[0]) * q.scale[0]
    return [np.concatenate([real, synthetic.mfcc(n - 1, seed=5)])[:n]], "the KWS reference sample + synthetic MFCC"


def _ad(n):
    frames = np.fromfile(MLPERF / "anomaly_detection" / "normal_id_01_00000000_hist_librosa.bin", "<f4").reshape(200, 128)
    starts = np.linspace(0, len(frames) - 5, n).astype(int)
    return [np.stack([frames[s : s + 5].reshape(640) for s in starts])], "real log-mel windows (ToyCar id 01)"


def _ic(n):
    return [synthetic.images(n, 32, 32, 3, seed=7, lo=0.0, hi=255.0)], "synthetic images"


def _vww(n):
    photos = np.repeat(_photos()[..., None], 3, axis=-1) / 255.0
    return [np.concatenate([photos, synthetic.images(max(n - 2, 0), 96, 96, 3, seed=9)])[:n]], "2 photos (RGB) + synthetic"


def _person(n):
    photos = (_photos()[..., None] - 127.0) / 127.5  # the input's int8 scale 2/255, zero point -1
    return [np.resize(photos, (n, 96, 96, 1))], "the person / no-person photos"


@dataclass(frozen=True)
class Case:
    name: str  # C name and table row
    source: object  # Path of a .tflite, or None for the digits export
    inputs: object  # n -> (list of float arrays, what they are)
    quant: str = "int8"  # the scheme of the digits export (the shared files are int8 as they are)


CASES = {c.name: c for c in (
    Case("digits", None, _digits),
    Case("kws", MLPERF / "keyword_spotting" / "kws_ref_model.tflite", _kws),
    Case("ad", MLPERF / "anomaly_detection" / "ad01_int8.tflite", _ad),
    Case("ic", MLPERF / "image_classification" / "pretrainedResnet_quant.tflite", _ic),
    Case("vww", MLPERF / "visual_wake_words" / "vww_96_int8.tflite", _vww),
    Case("person_detect", SHARED / "tflm" / "person_detect.tflite", _person),
)}  # fmt: skip


def digits_tflite(out: Path, quant: str = "int8") -> bytes:
    """The digits example exported to ``quant`` TFLite (the model the tflm artifact embeds)."""
    from edgekit.pipeline import ExportOptions, export

    res = export(ExportOptions(model=EXAMPLE / "digits.keras", out=out, target=("tflite",), quant=quant,
                               calib=str(EXAMPLE / "calib.npz")))  # fmt: skip
    return res.artifacts[0].primary.read_bytes()


def model_bytes(case: Case, work: Path) -> bytes:
    """The case's model; the digits export is made once per ``work`` folder and scheme (several configs use it)."""
    if case.source is not None:
        return Path(case.source).read_bytes()
    kept = work / f"digits-{case.quant}.tflite"
    if not kept.is_file():
        kept.write_bytes(digits_tflite(work / f"digits-export-{case.quant}", case.quant))
    return kept.read_bytes()


def built_project(data: bytes, name: str, board: str, kernels: str, project: Path):
    """(the FirmwareProject, its build's sizes, a QemuRunner loaded with it) of ``data``
    written into ``project`` and built."""
    from targets.tflm.firmware import project_for
    from targets.tflm.fwbuild import build
    from targets.tflm.qemu_runner import QemuRunner

    fw = project_for(data, name=name, model_name=f"{name}.tflite", board=board, kernels=kernels)
    project.mkdir(parents=True, exist_ok=True)
    for fname, text in fw.files.items():
        (project / fname).write_text(text)
    sizes = build(project)
    qemu = QemuRunner()
    qemu.load_project(project)
    return fw, sizes, qemu


def run_case(case: Case, data: bytes, board: str, kernels: str, work: Path, n: int, measure: bool = False) -> dict:
    """Build ``case`` for (board, kernels) in ``work``, run ``n`` samples under QEMU and in the TFLM
    interpreter; sizes per component, instructions, times and the differences in quanta per output
    tensor. ``measure``: also the stack high-water mark and the exact 32-bit arena (bisected)."""
    from targets.tflm.fwsize import group_totals
    from targets.tflm.runner import TFLMRunner

    project = work / f"{case.name}-{board}-{kernels}"
    inputs, what = case.inputs(n)
    # The project as `edgekit firmware` writes it: its arena (the reference-kernel measurement plus
    # CMSIS-NN's scratch for the core) must be enough, so no retry with a bigger one.
    fw, sizes, qemu = built_project(data, case.name, board, kernels, project)
    start = time.perf_counter()
    got = qemu.run(inputs)
    qemu_seconds = time.perf_counter() - start
    host = TFLMRunner()
    host.load_bytes(data, fw.record["arena_size"])
    try:
        want = host.run(inputs)
    finally:
        host.close()
    measured = {}
    if measure:
        from targets.tflm.fwmeasure import bisect_arena, measure_run

        ram = measure_run(project)["ram"]
        measured = {"stack_high_water": ram["stack_high_water"], "heap": ram["heap"], "static_other": ram["static_other"],
                    "arena_32bit": bisect_arena(project)["arena_32bit"]}  # fmt: skip
    diffs = [np.abs(np.round(g / t.scale) - np.round(w / t.scale)).astype(int) for g, w, t in zip(got, want, qemu.outputs)]
    return {
        "model": case.name, "board": board, "kernels": kernels, "inputs": what, "samples": n,
        "ops": fw.record["ops"], "cmsis_nn_scratch": (fw.record.get("cmsis_nn_scratch") or {}).get("bytes", 0),
        "qemu_seconds": round(qemu_seconds, 2), "arena_used": qemu.arena_used,
        "instructions": qemu.counts.per_inference if qemu.counts else None,
        "flash_parts": group_totals(sizes["components"]["flash"]), **measured,
        "max_quanta": int(max(d.max() for d in diffs)), "values_differing": int(sum((d > 0).sum() for d in diffs)),
        "values": int(sum(d.size for d in diffs)), "distinct_outputs": int(len({g.tobytes() for g in got[0]})),
        **{k: sizes[k] for k in ("flash", "flash_without_model", "model_data", "ram_static", "arena_size",
                                 "stack_size", "build_seconds", "tflm_objects_compiled")},
    }  # fmt: skip
