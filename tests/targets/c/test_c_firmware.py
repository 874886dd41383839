"""The issue's models as standalone C on the emulated Cortex-M4 (portable kernels), outputs
against the Python TFLM interpreter: the four MLPerf Tiny int8 models and person_detect, on the
real inputs of tests/firmware_matrix.py. Marker firmware: `make test-firmware` (the digits
example runs in `make test`: tests/targets/c/test_qemu_runner.py)."""

from __future__ import annotations

import pytest

from tests.c_firmware import CASES, model_bytes, run_model
from tests.conftest import needs_shared
from tests.targets.c.conftest import needs_cross

SAMPLES = 10


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("cfw")


@pytest.mark.slow
@pytest.mark.firmware
@needs_shared()
@needs_cross
@pytest.mark.parametrize("kernels", ["portable"])  # cmsis-nn: test_qemu_runner.py (slow, M4 and M55)
@pytest.mark.parametrize("name", [n for n in CASES if n != "digits"])
def test_the_c_firmware_matches_the_tflm_interpreter(name, kernels, work):
    case = CASES[name]
    rec = run_model(case, model_bytes(case, work), work, SAMPLES, configs=(("c", kernels),))
    print(rec)
    c = rec["configs"][f"c {kernels}"]
    assert "error" not in c and c["values"] > 0 and c["values_differing"] == 0, c  # bit-exact on every sample
    assert c["arena"] <= 1.05 * c["lower_bound"] and 0 < c["stack"] < 16384 and c["instructions"] > 0


@pytest.mark.slow
@pytest.mark.firmware
@needs_shared()
@needs_cross
def test_the_portable_c_of_resnet8_executes_no_more_instructions_than_tflm():
    """Issue 17 on ResNet-8, the one model where the C took more (+6,560 of 824 M): its ADDs,
    where GCC inlined AddFunc into the shim's Add and the loop took 2 instructions more per
    element; ek_add_s8 now calls Add as TFLM's Eval does (ek_kernels.cc)."""
    import tempfile
    from pathlib import Path

    case = CASES["ic"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rec = run_model(case, model_bytes(case, work), work, 1, configs=(("tflm", "reference"), ("c", "portable")),
                        bisect=False)  # fmt: skip
    tflm, c = rec["configs"]["tflm reference"], rec["configs"]["c portable"]
    assert c["values_differing"] == 0 and c["instructions"] <= tflm["instructions"], (c["instructions"], tflm["instructions"])
    adds = [sum(n for op, n in r["ops"] if op == "ADD") for r in (c, tflm)]
    assert 0 < adds[0] <= adds[1], adds
