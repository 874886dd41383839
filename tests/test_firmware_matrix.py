"""The firmware matrix (tests/firmware_matrix.py): the digits example, the four MLPerf Tiny int8
models and person_detect on the Cortex-M4 (reference and CMSIS-NN) and the Cortex-M55
(CMSIS-NN), under QEMU, against the Python TFLM interpreter.

KWS on the M4 with CMSIS-NN runs in `make test` (marker slow; with tests/test_firmware.py's
digits builds each (board, kernel library) is built once there); the whole matrix is
`make test-firmware` (marker firmware), which .ci/run runs after `make test`.
"""

from __future__ import annotations

import pytest

from tests.conftest import needs_shared
from tests.firmware_matrix import CASES, CONFIGS, model_bytes, run_case

SAMPLES = 10
# In `make test`: KWS (depthwise and average pooling) on the one (board, kernels) pair that
# tests/test_firmware.py's digits builds do not cover; so `make test` builds each of the three
# configurations once. AD (640 rich outputs) and the rest run in `make test-firmware`.
IN_MAKE_TEST = {("kws", "mps2-an386", "cmsis-nn")}
# CMSIS-NN results that are not bit-exact with the reference kernels: (model, board) -> at most this many quanta.
CMSIS_NN_DIFFERS: dict[tuple[str, str], int] = {}


def _params():
    for name in CASES:
        for board, kernels in CONFIGS:
            marks = [pytest.mark.slow] + ([] if (name, board, kernels) in IN_MAKE_TEST else [pytest.mark.firmware])
            yield pytest.param(name, board, kernels, marks=marks, id=f"{name}-{board}-{kernels}")


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("fwmatrix")


@needs_shared()
@pytest.mark.parametrize("name,board,kernels", list(_params()))
def test_firmware_matches_the_tflm_interpreter(name, board, kernels, work, firmware_objects):
    case = CASES[name]
    rec = run_case(case, model_bytes(case, work), board, kernels, work, SAMPLES)
    print(rec)
    assert rec["values"] > 0 and rec["distinct_outputs"] > 1  # the inputs reach the outputs
    assert rec["flash"] > rec["model_data"] > 0 and rec["arena_used"] <= rec["arena_size"]
    assert rec["flash_parts"]["model"] >= rec["model_data"] and rec["flash_parts"]["kernels"] > 0
    assert sum(rec["flash_parts"].values()) == rec["flash"]  # every byte charged to a component
    assert rec["instructions"] > 1000  # counted by the emulated clock (-icount shift=0)
    if kernels == "reference":
        assert rec["values_differing"] == 0, rec  # bit-exact
    else:
        assert rec["max_quanta"] <= CMSIS_NN_DIFFERS.get((name, board), 0), rec
