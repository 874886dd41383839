"""The standalone C on the emulated Cortex-M4 (and M55 for CMSIS-NN's MVE code): cross-built
with arm-none-eabi-gcc, run under QEMU by `edgekit validate --on qemu-m4`, outputs bit-exact
with the TFLM interpreter."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.errors import CannotSimulate, ToolchainError
from tests.conftest import EXAMPLE, INT8_MODELS, needs_shared, run_cli
from targets.c.generate import generate
from tests.targets.c.conftest import needs_cross


@pytest.fixture(scope="module")
def digits_c(tmp_path_factory):
    """The digits example exported to c and tflm int8 (build dir, {target: artifact})."""
    from edgekit.pipeline import ExportOptions, export

    result = export(ExportOptions(model=EXAMPLE / "digits.keras", out=tmp_path_factory.mktemp("cq") / "b",
                                  target=("c", "tflm"), quant="int8", calib=str(EXAMPLE / "calib.npz")))  # fmt: skip
    return result.out, {a.target: a for a in result.artifacts}


@pytest.fixture(scope="module")
def tiny_c(tiny_int8, tmp_path_factory):
    """The tiny model's c artifact (no conversion beyond the shared tiny int8 TFLite)."""
    from targets.c.exporter import write_c

    return write_c(tiny_int8, tmp_path_factory.mktemp("cq-tiny"), name="tiny", model_name="tiny.keras")


@pytest.mark.slow
@needs_cross
def test_validate_on_qemu_m4_is_bit_exact_with_the_tflm_interpreter(digits_c, tmp_path):
    from targets.c.qemu_runner import CQemuRunner
    from targets.tflm.runner import TFLMRunner

    build_dir, arts = digits_c
    with np.load(EXAMPLE / "eval.npz") as z:
        x, y = z["x"][:20].astype(np.float32), z["y"][:20]  # reference kernels under QEMU: 72M instructions each
    np.savez(tmp_path / "eval20.npz", x=x, y=y)
    done = run_cli("validate", str(build_dir), "--eval", str(tmp_path / "eval20.npz"), "--on", "qemu-m4",
                   "--targets", "c,tflm", "--json", timeout=3600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["artifacts"]
    host, fw = rows["tflm/int8"], rows["c/int8@qemu-m4"]
    assert fw["top1"] == host["top1"] and fw["cosine"] == host["cosine"]
    device = fw["device"]  # measured on the emulated core
    assert device["board"] == "mps2-an386" and device["kernels"] == "portable"
    kept = json.loads((arts["c"].directory / "firmware" / "mps2-an386-reference.json").read_text())  # for simulate
    assert kept["run"]["instructions"] == device["instructions_per_inference"]
    assert 0 < device["instructions_per_inference"] and 0 < device["stack_high_water"] < 16384
    # Bit-exact, value by value (dequantized from the int8 outputs: equal floats = equal integers).
    qemu, tflm = CQemuRunner(), TFLMRunner()
    qemu.load(arts["c"])
    tflm.load(arts["tflm"])
    try:
        got, want = qemu.run([x]), tflm.run([x])
        assert np.array_equal(got[0], want[0]) and len({r.tobytes() for r in got[0]}) > 1
        assert qemu.sizes["flash"] > qemu.sizes["components"]["flash"]["model"]["model (weights, parameters, invoke)"]
    finally:
        qemu.close()
        tflm.close()


def _on_qemu_and_in_tflm(artifact, data: bytes, n: int, seed: int, **device):
    """(float outputs of the artifact under QEMU, of the TFLM interpreter, the runner) on ``n``
    random stored-type inputs (``device``: CQemuRunner's board and kernels)."""
    from edgekit.runtime.io import from_runtime
    from targets.c.qemu_runner import CQemuRunner
    from targets.tflm.runner import TFLMRunner

    rng = np.random.default_rng(seed)
    qemu, tflm = CQemuRunner(**device), TFLMRunner()
    qemu.load(artifact)
    tflm.load_bytes(data)
    try:
        xs = [from_runtime(rng.integers(-128, 128, (n, *t.shape[1:]), dtype=np.int8), t) if t.dtype == "int8"
              else rng.normal(size=(n, *t.shape[1:])).astype(np.float32) for t in qemu.inputs]  # fmt: skip
        return qemu.run(xs), tflm.run(xs), qemu
    finally:
        qemu.close()
        tflm.close()


@needs_cross
def test_the_tiny_model_on_the_m4_is_bit_exact(tiny_c, tiny_int8):
    """A cross-build and QEMU run small enough for every test run (one conv, one depthwise,
    two fully connected, softmax)."""
    got, want, qemu = _on_qemu_and_in_tflm(tiny_c, tiny_int8, 20, 3)
    assert np.array_equal(got[0], want[0]) and len({r.tobytes() for r in got[0]}) > 1
    rec = qemu.sizes
    assert rec["board"] == "mps2-an386" and rec["components"]["ram"]["arena"]["tensor arena"] == 256
    assert set(rec["components"]["flash"]["kernels"]) == {"ek_kernels", "common", "micro_log", "debug_log"}  # no interpreter
    summary = qemu.device_summary()
    assert summary["instructions_min"] > 0 and 0 < summary["stack_high_water"] < rec["stack_size"]


@needs_cross
def test_the_c_firmware_counts_the_instructions_of_each_op(tiny_c, tiny_int8):
    """The measurement build brackets every op call with the instruction counter: the first
    sample's per-op counts in the measurement record, shaped as the TFLM firmware's (event,
    depth, op, instructions), named by opcode, together no more than that sample's total."""
    from edgekit.tflite_graph import TFLiteGraph
    from targets.c.ops import ALIASES

    _, _, qemu = _on_qemu_and_in_tflm(tiny_c, tiny_int8, 3, 6)
    ops = qemu.measurement()["run"]["instructions_per_op"]
    want = [op.opcode for op in TFLiteGraph(tiny_int8, "tiny").main.ops if op.opcode not in ALIASES]
    assert [o["op"] for o in ops] == want and [o["event"] for o in ops] == list(range(len(want)))
    assert all(o["depth"] == 0 and o["instructions"] > 0 for o in ops)
    assert sum(o["instructions"] for o in ops) <= qemu.counts.per_sample[0]
    assert qemu.device_summary()["costliest_ops"][0]["op"] in want


@needs_cross
def test_the_shipped_model_file_is_the_measured_one_without_the_counter(tiny_int8, tmp_path):
    """The per-op counter is only in the measurement build: the shipped NAME.c has none, and
    the measured file compiled without -DEDGEKIT_OP_TICKS is the same object."""
    from targets.c.crossbuild import cross_toolchain
    from targets.c.hostbuild import compile_model
    from targets.c.kernels import kernel_set
    from targets.tflm.boards import get_board

    model = generate(tiny_int8, name="tiny", model_name="tiny.keras")
    shipped = model.files["tiny.c"]
    assert "EK_OP_TICK" not in shipped and "EK_OP_TICK(" in model.measured_c
    objects = []
    for kind, text in (("shipped", shipped), ("measured", model.measured_c)):
        (tmp_path / kind).mkdir()
        (tmp_path / kind / "tiny.c").write_text(text)
        (tmp_path / kind / "tiny.h").write_text(model.files["tiny.h"])
        tc = cross_toolchain(get_board("mps2-an386"))
        objects.append(compile_model(tmp_path / kind / "tiny.c", tmp_path / kind, kernel_set("portable"), tc).read_bytes())
    assert objects[0] == objects[1]


@needs_cross
def test_a_measured_c_build_replaces_the_estimates_of_simulate(tiny_c, tiny_int8):
    """What `validate --on qemu-m4` measured of a c artifact (flash, RAM with the stack, the
    instruction count) is kept beside it; the fit check and the device latency then use it
    for a device of that core and library (the portable C runs TFLM's reference kernels)."""
    import dataclasses

    from edgekit.device import get_device
    from edgekit.simulate.device_latency import estimate_artifact
    from edgekit.simulate.memory import memory_fit
    from targets import format_of

    m4 = dataclasses.replace(get_device("cortex-m4"), kernels="reference")
    assert memory_fit(tiny_c, m4)["basis"] == "estimated"
    _, _, qemu = _on_qemu_and_in_tflm(tiny_c, tiny_int8, 4, 5)
    record = qemu.measurement()
    assert record["kernels"] == "reference" and record["ram"]["total"] == record["ram_static"] + record["run"]["stack_used"]
    path = format_of(tiny_c).call("keep_measurement", tiny_c, record)
    assert path.name == "mps2-an386-reference.json"
    fit = memory_fit(tiny_c, m4)
    assert fit["basis"] == "measured" and fit["flash_bytes"] == record["flash"] and fit["ram_bytes"] == record["ram"]["total"]
    latency = estimate_artifact(tiny_c, m4)
    assert latency["basis_kind"] == "measured instructions" and f"{record['run']['instructions']:,} instructions" in latency["basis"]
    assert memory_fit(tiny_c, get_device("cortex-m4"))["basis"] == "estimated"  # CMSIS-NN: another firmware


@needs_cross
def test_many_ops_with_float_io_on_the_m4_are_bit_exact(many_ops_int8, tmp_path):
    """PAD, HARD_SWISH, LOGISTIC, MUL, CONCATENATION, MEAN (arena scratch), QUANTIZE and
    DEQUANTIZE (float32 inputs and outputs through main.c) on the Cortex-M4."""
    from targets.c.exporter import write_c

    art = write_c(many_ops_int8, tmp_path / "c", name="many_ops", model_name="many_ops.keras")
    got, want, _ = _on_qemu_and_in_tflm(art, many_ops_int8, 12, 4)
    assert got[0].dtype == np.float32 and np.array_equal(got[0], want[0])


@needs_cross
@pytest.mark.parametrize("board", ["mps2-an386", "mps3-an547"])
def test_the_tiny_model_with_cmsis_nn_on_the_m4_and_m55_is_bit_exact(tiny_int8, tmp_path, board):
    """CMSIS-NN's DSP code (M4) and MVE code (M55: the depthwise and fully-connected scratch
    placed for MVE builds only, around the plan) give TFLM's outputs."""
    from targets.c.exporter import write_c

    art = write_c(tiny_int8, tmp_path / "c", name="tiny", model_name="tiny.keras", kernels="cmsis-nn")
    got, want, qemu = _on_qemu_and_in_tflm(art, tiny_int8, 20, 3, board=board, kernels="cmsis-nn")
    assert np.array_equal(got[0], want[0]) and len({r.tobytes() for r in got[0]}) > 1
    arena = qemu.sizes["components"]["ram"]["arena"]["tensor arena"]
    assert arena == art.metadata["arena_by_build"]["mve" if board == "mps3-an547" else "dsp"]


def _cmsis_nn_cases():
    # `make test` runs KWS on the M55 (Helium's own scratch arena); the other nine are `make test-firmware`.
    for model in sorted(INT8_MODELS):
        for board in ("mps2-an386", "mps3-an547"):
            marks = [] if (model, board) == ("kws_ref_model", "mps3-an547") else [pytest.mark.firmware]
            yield pytest.param(model, board, marks=marks, id=f"{model}-{board}")


@pytest.mark.slow
@needs_cross
@needs_shared()
@pytest.mark.parametrize("model,board", list(_cmsis_nn_cases()))
def test_mlperf_tiny_and_person_detect_with_cmsis_nn_on_the_m4_and_m55_are_bit_exact(model, board, tmp_path):
    from targets.c.exporter import write_c

    data = INT8_MODELS[model].read_bytes()
    art = write_c(data, tmp_path / "c", name="m", model_name=model, kernels="cmsis-nn")
    got, want, qemu = _on_qemu_and_in_tflm(art, data, 8, 1, board=board, kernels="cmsis-nn")
    assert all(np.array_equal(g, w) for g, w in zip(got, want))
    assert qemu.sizes["components"]["ram"]["arena"]["tensor arena"] == art.metadata["arena_by_build"][
        "mve" if board == "mps3-an547" else "dsp"]  # fmt: skip


@needs_cross
def test_another_back_end_s_device_is_refused(tiny_c):
    from targets.c.qemu_runner import CQemuRunner

    with pytest.raises(CannotSimulate, match="calls the portable kernels; this device runs cmsis-nn"):
        CQemuRunner(kernels="cmsis-nn").load(tiny_c)


def test_the_c_devices_are_the_tflm_names():
    from targets import get_format

    fmt = get_format("c")
    assert fmt.device_runner("qemu-m4").kernels == "portable"
    assert fmt.device_runner("qemu-m55-cmsis-nn").kernels == "cmsis-nn"
    assert fmt.device_runner("qemu-m4").board == "mps2-an386"


def test_no_cross_compiler_is_one_line_naming_the_packages(monkeypatch, tmp_path):
    """Hostile: PATH without the Arm toolchain."""
    from targets.c.crossbuild import build

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainError) as e:
        build(None, None, tmp_path / "fw")
    msg = str(e.value)
    assert "\n" not in msg and "arm-none-eabi-gcc" in msg and "gcc-arm-none-eabi libnewlib-arm-none-eabi" in msg
    assert "make toolchain" in msg


def test_no_qemu_is_one_line(monkeypatch, tmp_path, tiny_c):
    """Hostile: no emulator: refused before any build."""
    from targets.c.qemu_runner import CQemuRunner

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainError, match="^qemu-system-arm not found: run `make toolchain` or install the Debian "
                                             "packages qemu-system-arm$"):  # fmt: skip
        CQemuRunner().load(tiny_c)
