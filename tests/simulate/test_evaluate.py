import numpy as np

from edgekit.data import Dataset
from edgekit.model import load_model
from edgekit.simulate.evaluate import evaluate, is_classifier


class _Shifted:
    """A runner that returns the float model's outputs with the classes rolled by one."""

    def __init__(self, model):
        self.model = model

    def run(self, inputs):
        return [np.roll(self.model.predict(inputs)[0], 1, axis=1)]


def test_scores_float_and_artifacts(tiny_keras, tiny_data):
    m = load_model(tiny_keras)
    ds = Dataset.open(tiny_data, m.inputs)

    class Same:
        def run(self, inputs):
            return m.predict(inputs)

    res = evaluate(m, {"same": Same(), "shifted": _Shifted(m)}, ds, batch_size=7)
    assert res["samples"] == 40
    assert res["artifacts"]["same"]["agreement"] == 1.0
    assert res["artifacts"]["same"]["top1"] == res["float"]["top1"]
    assert res["artifacts"]["shifted"]["agreement"] == 0.0
    assert res["artifacts"]["same"]["cosine"] > 0.999999


def test_is_classifier():
    assert is_classifier((1, 10)) and not is_classifier((1, 1)) and not is_classifier((1, 640, 2))


def test_an_artifact_whose_inputs_do_not_fit_is_a_clear_error(tiny_keras, tiny_data):
    """A runtime fed the source's samples would fail with its own message (LiteRT: 'Cannot set
    tensor: Dimension mismatch'); a corrupt or foreign artifact is named first."""
    import pytest

    from edgekit.errors import ModelFileError
    from edgekit.runtime.litert import LiteRTRunner
    from tests.conftest import SHARED

    m = load_model(tiny_keras)
    foreign = LiteRTRunner()
    foreign.load((SHARED / "tflm" / "hello_world_float.tflite").read_bytes(), "hello_world_float.tflite")
    with pytest.raises(ModelFileError, match=r"tflite/x: the artifact's inputs \[\(1, 1\)\] do not fit the source model's \[\(1, 6, 6, 1\)\]"):
        evaluate(m, {"tflite/x": foreign}, Dataset.open(tiny_data, m.inputs), batch_size=7)
