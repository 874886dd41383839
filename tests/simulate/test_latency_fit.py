"""The shipped latency coefficients are what the fitting script produces from the published data."""

import pytest

from edgekit.simulate import latency_fit
from edgekit.simulate.device_latency import coefficients
from tests.conftest import SHARED, needs_shared
from tools import gen_docs


@pytest.fixture(scope="module")
def refit():
    from edgekit.simulate.icount_fit import load_counts

    published = latency_fit.load_published()
    graphs = latency_fit.model_graphs(published, SHARED)
    return latency_fit.fit(published, latency_fit.model_features(published, SHARED, graphs), load_counts(), graphs)


@needs_shared()
def test_refit_reproduces_the_shipped_file(refit):
    assert latency_fit.dumps(refit) == latency_fit.COEFFICIENTS.read_text()


def test_boards_fit_better_than_they_predict_held_out_models():
    for name, b in coefficients()["boards"].items():
        assert b["fit_median_abs_error"] <= b["loo_median_abs_error"], name
        assert set(b["results"]) == {"IC", "KWS", "VWW", "AD"}, name
        assert all(v > 0 for v in b["cycles"].values()), name


def test_core_factors_order_the_cores():
    f = {k: v["factor"] for k, v in coefficients()["core_factors"].items()}
    assert f["Cortex-M7"] < f["Cortex-M33"] < f["Cortex-M4"] == 1.0 < f["Cortex-M0+"]


def test_docs_calibration_table_is_current():
    from edgekit.simulate.icount_fit import markdown

    table = latency_fit.calibration_markdown(coefficients())
    assert gen_docs.page_block("calibration") == table, "docs/simulate.md's calibration table is stale: run `make docs`"
    assert gen_docs.page_block("instruction-model") == markdown(coefficients()), "run `make docs`"


def test_script_reports_a_missing_models_folder(tmp_path, capsys):
    assert latency_fit.main(["--models", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--models" in err and "missing" in err and "Traceback" not in err
