"""The instruction-count feature of the latency model, on the measured counts
(edgekit/simulate/cost_model/instruction_counts.json, QEMU -icount) and the published MLPerf
Tiny latencies: which kernel library each board ran, cycles per instruction, held-out error."""

from edgekit.device import get_device
from edgekit.simulate import icount_fit
from edgekit.simulate.device_latency import coefficients
from edgekit.simulate.latency_fit import load_published


def _model() -> dict:
    return icount_fit.instruction_model(load_published(), icount_fit.load_counts(), coefficients()["boards"])


def test_counts_are_the_measured_ones_with_provenance():
    counts = icount_fit.load_counts()
    m4 = counts["counts"]["IC"]["Cortex-M4"]
    # ResNet-8 on the emulated M4, as issue 15 measured them while making ../shared/tflm.
    assert m4["reference"]["instructions"] == 824_060_720 and m4["cmsis-nn"]["instructions"] == 29_865_200
    assert {"how", "qemu", "compiler", "tflm", "date"} <= set(counts["provenance"])
    for model, cores in counts["counts"].items():
        for core, libs in cores.items():
            for lib, rec in libs.items():
                assert 0 < rec["ops_total"] <= rec["instructions"], (model, core, lib)


def test_the_published_kernel_library_of_each_board_is_what_its_counts_show():
    """NUCLEO-L4R5ZI's v0.5 "reference" result cannot be TFLM's reference kernels: 824M
    instructions in 704 ms at 120 MHz would be 0.1 cycles per instruction."""
    model = _model()
    l4 = model["NUCLEO-L4R5ZI"]
    assert l4["library_shown"] == "cmsis-nn" and not l4["fits"]["reference"]["plausible"]
    assert 2.0 < l4["fits"]["cmsis-nn"]["cpi"] < 3.5
    for name, b in model.items():
        assert icount_fit.LIBRARY_GROUP[b["library_shown"]] == b["published_library"], name


def test_the_cortex_m4_profile_uses_the_library_its_board_ran():
    dev = get_device("cortex-m4")
    assert "NUCLEO-L4R5ZI" in dev.board and dev.kernels == _model()["NUCLEO-L4R5ZI"]["library_shown"]


def test_leave_one_model_out_error_with_and_without_instruction_counts():
    """Measured instructions x CPI predict a held-out model better than the op-feature cycles."""
    for name, b in coefficients()["instruction_model"].items():
        assert b["loo_median_abs_error"] < b["cost_model_loo_median_abs_error"], name
    l4 = coefficients()["instruction_model"]["NUCLEO-L4R5ZI"]
    assert l4["loo_median_abs_error"] <= 0.15 and l4["features_loo_median_abs_error"] <= 0.25


def test_op_features_predict_the_reference_kernels_instructions():
    ref = coefficients()["instructions_per_feature"]["Cortex-M4"]["reference"]
    assert set(ref["results"]) == {"IC", "KWS", "VWW", "AD"}
    assert all(abs(r["loo_error"]) < 0.15 for r in ref["results"].values())
    assert all(v >= 0 for v in ref["instructions"].values())


def test_markdown_tables_name_every_board_and_model():
    assert "NUCLEO-L4R5ZI" in icount_fit.markdown(coefficients())
    table = icount_fit.counts_markdown(icount_fit.load_counts())
    assert all(f"| {m} |" in table for m in ("IC", "KWS", "VWW", "AD")) and "27.6x" in table
