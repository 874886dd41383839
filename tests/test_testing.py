import pytest

from edgekit.errors import OptionError
from edgekit.pipeline import ExportOptions, export
from edgekit.testing import assert_artifact_accuracy
from tests.conftest import EXAMPLE


def test_assert_artifact_accuracy(tmp_path):
    out = tmp_path / "b"
    export(ExportOptions(model=EXAMPLE / "digits.keras", out=out, quant="int8", calib=str(EXAMPLE / "calib.npz")))
    result = assert_artifact_accuracy(out, EXAMPLE / "eval.npz", max_drop=0.5, min_cosine=0.99)
    assert result["artifacts"]["tflite/int8"]["top1"] > 0.98
    with pytest.raises(AssertionError) as err:
        assert_artifact_accuracy(out, EXAMPLE / "eval.npz", min_accuracy=99.9, min_cosine=0.9999999)
    text = str(err.value)
    assert "2 accuracy check(s) failed" in text and "below --min-accuracy 99.9" in text and "cosine" in text
    assert not (out / "validation.json").exists()
    with pytest.raises(ValueError, match="at least one bound"):
        assert_artifact_accuracy(out, EXAMPLE / "eval.npz")
    # The same rules as the CLI gates: a fraction given as percent, a target typo.
    with pytest.raises(OptionError, match="--min-accuracy 0.95 is in percent"):
        assert_artifact_accuracy(out, EXAMPLE / "eval.npz", min_accuracy=0.95)
    with pytest.raises(OptionError, match="unknown target 'tlfm'"):
        assert_artifact_accuracy(out, EXAMPLE / "eval.npz", min_accuracy=90, targets=("tflite", "tlfm"))
