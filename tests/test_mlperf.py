"""The MLPerf Tiny reference models, end to end through edgekit's TFLite export.

Their evaluation sets are not shipped, so accuracy is measured as agreement with the float
model on 200 structured synthetic inputs (see tests/synthetic.py for how they are made),
calibrated on 100 more drawn with another seed.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.pipeline import ExportOptions, export
from edgekit.runtime.litert import LiteRTRunner
from edgekit.simulate.metrics import agreement
from edgekit.tflite_graph import TFLiteGraph
from tests import synthetic
from tests.conftest import MLPERF, needs_shared

pytestmark = [needs_shared(), pytest.mark.slow]

SCHEMES = "float32,float16,dynamic,int8,int16x8"


def _ad_features():
    raw = np.fromfile(MLPERF / "anomaly_detection" / "normal_id_01_00000000_hist_librosa.bin", "<f4")
    return raw.reshape(200, 128)


CASES = {
    "resnet": (
        MLPERF / "image_classification" / "pretrainedResnet.h5",
        MLPERF / "image_classification" / "pretrainedResnet_quant.tflite",
        lambda n, seed: synthetic.images(n, 32, 32, 3, seed, 0.0, 255.0),  # raw pixels, as trained
        (0.0, 255.0),
    ),
    "vww": (
        MLPERF / "visual_wake_words" / "vww_96.h5",
        MLPERF / "visual_wake_words" / "vww_96_int8.tflite",
        lambda n, seed: synthetic.images(n, 96, 96, 3, seed, 0.0, 1.0),
        (0.0, 1.0),
    ),
    "kws": (
        MLPERF / "keyword_spotting" / "kws_ref_model",
        MLPERF / "keyword_spotting" / "kws_ref_model.tflite",
        synthetic.mfcc,
        (-123.0, 26.0),
    ),
    "ad": (
        MLPERF / "anomaly_detection" / "ad01.h5",
        MLPERF / "anomaly_detection" / "ad01_int8.tflite",
        lambda n, seed: synthetic.logmel_windows(_ad_features(), n, seed),
        None,  # not a classifier
    ),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def built(request, tmp_path_factory):
    name = request.param
    model, reference, make, _ = CASES[name]
    tmp = tmp_path_factory.mktemp(name)
    np.savez(tmp / "calib.npz", x=make(100, 1))
    res = export(ExportOptions(model=model, out=tmp / "build", quant=SCHEMES, calib=str(tmp / "calib.npz")))
    return name, res, reference, make(200, 2)


def _run(artifact, x):
    r = LiteRTRunner()
    r.load(artifact)
    return r.run([x])[0]


def _differentiable(model):
    """The float model as a differentiable TF callable: probabilities for a batch."""
    backend = model.backend
    if model.kind == "saved_model":
        name = backend.input_names[0]
        return lambda x: backend.fn(**{name: x})[backend.output_names[0]]
    return lambda x: backend.model(x, training=False)


def test_every_scheme_runs_in_litert(built):
    name, res, _, x = built
    assert [a.scheme for a in res.artifacts] == SCHEMES.split(",")
    ref = res.model.predict(x[:16])[0]
    for a in res.artifacts:
        out = _run(a, x[:16])
        assert out.shape == ref.shape and np.isfinite(out).all(), a.scheme
        if a.scheme == "float32":
            assert np.abs(out - ref).max() <= 1e-4 * max(1.0, np.abs(ref).max()), name


def test_int8_agrees_with_float(built):
    name, res, reference, x = built
    int8 = next(a for a in res.artifacts if a.scheme == "int8")
    out, ref = _run(int8, x), res.model.predict(x)[0]
    if name == "ad":
        # An autoencoder has no top-1: compare its anomaly score (reconstruction MSE) and hold
        # edgekit's int8 to the MLPerf reference int8 run on the same inputs.
        def score(y):
            return ((y - x) ** 2).mean(axis=1)

        rel = np.abs(score(out) - score(ref)) / score(ref)
        ref_rel = np.abs(score(_run(reference, x)) - score(ref)) / score(ref)
        print(
            f"ad: anomaly score median relative error vs float: edgekit int8 {np.median(rel):.4f}, "
            f"reference int8 {np.median(ref_rel):.4f}"
        )
        assert np.median(rel) <= np.median(ref_rel)
        assert np.corrcoef(score(ref), score(out))[0, 1] > 0.9
    else:
        raw_ours, raw_theirs = agreement(out, ref), agreement(_run(reference, x), ref)
        sharp = synthetic.sharpen(_differentiable(res.model), x, *CASES[name][3])
        ref_s = res.model.predict(sharp)[0]
        agree, theirs = agreement(_run(int8, sharp), ref_s), agreement(_run(reference, sharp), ref_s)
        print(
            f"{name}: int8 top-1 agreement with float, edgekit / MLPerf reference int8: "
            f"{raw_ours:.1%} / {raw_theirs:.1%} on the structured inputs, "
            f"{agree:.1%} / {theirs:.1%} after sharpening"
        )
        assert agree >= 0.95
        assert raw_ours >= raw_theirs - 0.02


def test_int8_size_close_to_reference(built):
    name, res, reference, _ = built
    int8 = next(a for a in res.artifacts if a.scheme == "int8")
    ours, theirs = TFLiteGraph.from_file(int8.primary), TFLiteGraph.from_file(reference)
    ops = sorted(set(ours.op_histogram()) | set(theirs.op_histogram()))
    print(f"\n{name}: edgekit int8 {len(ours.data):,} B vs reference {len(theirs.data):,} B")
    print(f"  {'op':<20}{'edgekit':>8}{'reference':>10}")
    for op in ops:
        print(f"  {op:<20}{ours.op_histogram().get(op, 0):>8}{theirs.op_histogram().get(op, 0):>10}")
    assert abs(len(ours.data) - len(theirs.data)) <= 0.10 * len(theirs.data)
    assert ours.macs == theirs.macs

