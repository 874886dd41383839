"""RAM for tensors of the standalone C target next to TFLite Micro's, per model, on the host.

For each int8 model: the c target's planned arena (inputs and outputs in it, as in TFLM), the
lower bound (largest live set), their ratio, the input/output bytes it holds, the arena with
``--c-kernels cmsis-nn`` (its scratch: GCC builds without MVE, i.e. the host and Cortex-M0 to M33,
and MVE builds, Cortex-M55/M85), and
TFLM's exact arena (bisected with the real interpreter: tensors + persistent structures,
the persistent part resized to a 32-bit MCU, no margin). Run:
``python benchmarks/c_memory.py`` (the MLPerf Tiny and TFLM models need ../shared/models).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import EXAMPLE, INT8_MODELS, SHARED  # noqa: E402

MODELS = {**INT8_MODELS, "mobilenet_v2 (224)": SHARED / "tflm" / "mobilenet_v2_quantized_1x3x224x224.tflite"}


def _digits(tmp: Path) -> bytes:
    from edgekit.pipeline import ExportOptions, export

    res = export(ExportOptions(model=EXAMPLE / "digits.keras", out=tmp / "b", target=("c",), quant="int8",
                               calib=str(EXAMPLE / "calib.npz"), latency=False))  # fmt: skip
    return (res.artifacts[0].directory / "digits.tflite").read_bytes()


def row(name: str, data: bytes) -> dict:
    from targets.c.generate import generate
    from targets.tflm.runner import measure_arena

    m = generate(data, name="m", model_name=name)
    cm = generate(data, name="m", model_name=name, kernels="cmsis-nn")
    t = measure_arena(data, name)
    tflm32 = t.nonpersistent + t.persistent32
    c = m.plan.size
    return {"model": name, "arena": m.plan.size, "bound": m.plan.lower_bound, "ratio": m.plan.ratio, "io": m.io_bytes,
            "c": c, "tflm_tensors": t.nonpersistent, "tflm_persistent32": t.persistent32, "tflm32": tflm32,
            "vs": c / tflm32, "cmsis": cm.arena_by_build["dsp"], "cmsis_mve": cm.arena_by_build["mve"]}  # fmt: skip


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows = [row("digits", _digits(Path(tmp)))]
    rows += [row(name, path.read_bytes()) for name, path in MODELS.items() if path.is_file()]
    print("| model | c arena | lower bound | arena / bound | I/O in it | c cmsis-nn arena | c cmsis-nn MVE | TFLM tensors "
          "| TFLM persistent (32-bit) | TFLM arena (32-bit) | c / TFLM |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['arena']:,} | {r['bound']:,} | {r['ratio']:.3f} | {r['io']:,} | {r['cmsis']:,} "
              f"| {r['cmsis_mve']:,} | {r['tflm_tensors']:,} | {r['tflm_persistent32']:,} | {r['tflm32']:,} | {r['vs']:.2f} |")


if __name__ == "__main__":
    main()
