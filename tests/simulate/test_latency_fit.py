"""The shipped latency coefficients are what the fitting script produces from the published data."""

import pytest

from edgekit.simulate import latency_fit
from edgekit.simulate.device_latency import coefficients
from tests.conftest import SHARED, needs_shared
from tools import gen_docs


@pytest.fixture(scope="module")
def refit():
    published = latency_fit.load_published()
    return latency_fit.fit(published, latency_fit.model_features(published, SHARED))


@needs_shared()
def test_refit_reproduces_the_shipped_file(refit):
    assert latency_fit.dumps(refit) == latency_fit.COEFFICIENTS.read_text()


def test_reference_board_meets_the_leave_one_model_out_target():
    board = coefficients()["boards"]["NUCLEO-L4R5ZI"]
    assert board["library"] == "reference" and board["loo_median_abs_error"] <= 0.25
    assert board["fit_median_abs_error"] <= board["loo_median_abs_error"]
    for name, b in coefficients()["boards"].items():
        assert set(b["results"]) == {"IC", "KWS", "VWW", "AD"}, name
        assert all(v > 0 for v in b["cycles"].values()), name


def test_core_factors_order_the_cores():
    f = {k: v["factor"] for k, v in coefficients()["core_factors"].items()}
    assert f["Cortex-M7"] < f["Cortex-M33"] < f["Cortex-M4"] == 1.0 < f["Cortex-M0+"]


def test_docs_calibration_table_is_current():
    table = latency_fit.calibration_markdown(coefficients())
    assert gen_docs.page_block("calibration") == table, "docs/simulate.md's calibration table is stale: run `make docs`"


def test_script_reports_a_missing_models_folder(tmp_path, capsys):
    assert latency_fit.main(["--models", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--models" in err and "missing" in err and "Traceback" not in err
