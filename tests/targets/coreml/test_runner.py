"""The Core ML runner: the interpreter against the Keras model, image inputs, classifiers."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import CannotSimulate
from edgekit.model import load_model
from targets.coreml.runner import CoreMLRunner
from edgekit.simulate.metrics import Comparison
from targets import runner_for
from quantize.spec import QuantSpec
from targets.coreml.exporter import CoreMLTarget
from tests.conftest import EXAMPLE


@pytest.fixture(scope="module")
def digits():
    return load_model(EXAMPLE / "digits.keras")


@pytest.fixture(scope="module")
def eval_x():
    return np.load(EXAMPLE / "eval.npz")["x"][:64]


def _compare(out, ref) -> dict:
    c = Comparison()
    c.update(out, ref)
    return c.result()


def test_float32_package_matches_keras(digits, eval_x, tmp_path):
    art = CoreMLTarget().export(digits, QuantSpec("float32"), tmp_path)
    runner = runner_for(art)
    assert isinstance(runner, CoreMLRunner) and runner.inputs[0].shape == (1, 8, 8, 1)
    m = _compare(runner.run([eval_x])[0], digits.predict(eval_x)[0])
    print(f"coreml float32 digits: cosine {m['cosine']:.8f}, max abs {m['max_abs']:.2e}")
    assert m["cosine"] >= 0.99999 and m["max_abs"] < 1e-4


def test_float16_package_within_fp16_error(digits, eval_x, tmp_path):
    art = CoreMLTarget().export(digits, QuantSpec("float16"), tmp_path)
    assert art.metadata["compute_precision"] == "float16"
    runner = runner_for(art)
    out, ref = runner.run([eval_x])[0], digits.predict(eval_x)[0]
    m = _compare(out, ref)
    print(f"coreml float16 digits: cosine {m['cosine']:.8f}, max abs {m['max_abs']:.2e}")
    # fp16 keeps 11 significant bits (unit roundoff 2^-11 ≈ 4.9e-4) and rounds after every op.
    assert m["max_abs"] < 8 * 2.0**-11 and m["max_abs"] > 0 and m["cosine"] >= 0.9999
    assert (out.argmax(1) == ref.argmax(1)).all()


def test_image_input_and_classifier(digits, eval_x, tmp_path):
    from edgekit.data import Preprocess

    labels = [f"digit_{i}" for i in range(10)]
    target = CoreMLTarget({"input": "image", "author": "me", "version": "2.0"}, labels=labels,
                          preprocess=Preprocess(scale=1 / 16))  # fmt: skip
    art = target.export(digits, QuantSpec("float32"), tmp_path)
    assert art.metadata["image_input"] == {"scale": 1 / 16, "bias": [0.0], "color_layout": "G"}
    runner = runner_for(art)
    assert runner.inputs[0].shape == (1, 8, 8, 1) and runner.outputs[0].shape == (1, 10)
    assert runner.outputs[0].name == digits.outputs[0].name  # the probabilities, named as in Keras
    # edgekit feeds preprocessed floats; the runner turns them back into pixels (x * 16).
    out = runner.run([eval_x[:8]])[0]
    assert np.abs(out - digits.predict(eval_x[:8])[0]).max() < 1e-4
    assert runner._classes == labels
    spec = runner.program.spec
    assert spec.description.metadata.author == "me" and spec.description.metadata.versionString == "2.0"
    assert spec.description.predictedFeatureName == "classLabel"


def test_unknown_op_makes_the_artifact_unsimulatable(digits, tmp_path, monkeypatch):
    art = CoreMLTarget().export(digits, QuantSpec("float32"), tmp_path)
    from targets.coreml import mil_ops

    monkeypatch.delitem(mil_ops.OPS, "max_pool")
    with pytest.raises(CannotSimulate, match="cannot simulate op max_pool"):
        runner_for(art)


def test_not_validated_and_not_timed_instead_of_failing(digits, tmp_path, monkeypatch):
    """An artifact the interpreter cannot run is reported; validation and timing go on."""
    from edgekit.data import Dataset, Preprocess
    from targets.coreml import mil_ops
    from edgekit.simulate.latency import host_latency
    from edgekit.validate import run_validation

    art = CoreMLTarget().export(digits, QuantSpec("float32"), tmp_path)
    monkeypatch.delitem(mil_ops.OPS, "softmax")
    evalset = Dataset.open(str(EXAMPLE / "eval.npz"), digits.inputs, Preprocess(), "--eval")
    report = run_validation(digits, [art], evalset)
    assert report.result["artifacts"] == {} and report.passed
    assert "cannot simulate op softmax" in report.result["not_validated"]["coreml/float32"]
    from edgekit.simulate.gates import Gates

    gated = run_validation(digits, [art], evalset, gates=Gates(min_cosine=0.99))
    assert not gated.passed and any("not validated" in g.message for g in gated.gates)  # a gate never passes unrun
    timed = host_latency(art.primary, seconds=0.05)
    assert timed["artifacts"] == {} and "softmax" in timed["not_timed"]["coreml/as given"]


def test_host_latency_of_a_package(digits, tmp_path):
    from edgekit.simulate.latency import host_latency

    art = CoreMLTarget().export(digits, QuantSpec("palettize4"), tmp_path)
    rows = host_latency(art.primary, seconds=0.05)["artifacts"]["coreml/as given"]
    assert rows[0]["variant"] in ("numpy interpreter (not core ml)", "core ml cpu") and rows[0]["runs"] >= 30


def test_fixed_batch_package_pads_the_last_chunk(tmp_path):
    model = load_model(EXAMPLE / "digits.keras", batch=4)
    art = CoreMLTarget().export(model, QuantSpec("float32"), tmp_path)
    runner = runner_for(art)
    assert runner.inputs[0].shape == (4, 8, 8, 1)
    x = np.load(EXAMPLE / "eval.npz")["x"][:6]
    out = runner.run([x])[0]
    assert out.shape == (6, 10) and np.abs(out - model.predict(x)[0]).max() < 1e-4


def test_whole_batches_equal_sample_by_sample_or_fall_back(digits, eval_x, tmp_path):
    art = CoreMLTarget().export(digits, QuantSpec("float16"), tmp_path)
    batched, single = CoreMLRunner(), CoreMLRunner()
    batched.load(art)
    single.load(art)
    single._batching = False
    out = batched.run([eval_x])[0]
    assert batched._batching is True  # the flatten's reshape [1, 1024] follows the batch
    assert np.allclose(out, single.run([eval_x])[0], rtol=1e-3, atol=1e-3)

    from tests.targets.coreml.mil_build import save_program

    mb = pytest.importorskip("coremltools.converters.mil").Builder

    def pinned(x):  # slices out sample 0: cannot be run on a larger batch
        return mb.relu(x=mb.slice_by_index(x=x, begin=[0, 0], end=[1, 4]))

    runner = CoreMLRunner(use_runtime=False)
    runner.load_path(save_program(pinned, [(1, 4)], tmp_path))
    x = np.arange(12, dtype=np.float32).reshape(3, 4) - 5
    assert np.array_equal(runner.run([x])[0], np.maximum(x, 0)) and runner._batching is False
