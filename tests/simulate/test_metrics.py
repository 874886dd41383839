import math

import numpy as np
import pytest

from edgekit.simulate import metrics


def test_classification_metrics():
    ref = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    out = np.array([[0.8, 0.2], [0.7, 0.3], [0.6, 0.4]])
    assert metrics.top1_accuracy(ref, np.array([0, 1, 1])) == 2 / 3
    assert metrics.top1_accuracy(ref, np.eye(2)[[0, 1, 1]]) == 2 / 3  # one-hot labels
    assert metrics.agreement(out, ref) == 2 / 3


def test_streaming_classification_with_top_k():
    rng = np.random.default_rng(0)
    scores, labels = rng.random((100, 10)), rng.integers(0, 10, 100)
    c = metrics.Classification(k=3)
    for s in range(0, 100, 7):
        c.update(scores[s : s + 7], labels[s : s + 7], scores[s : s + 7])
    top3 = np.mean([labels[i] in np.argsort(-scores[i])[:3] for i in range(100)])
    assert c.result() == {"top1": metrics.top1_accuracy(scores, labels), "top3": pytest.approx(top3)}
    assert c.agreement() == 1.0


def test_comparison_matches_the_definitions_and_streams():
    rng = np.random.default_rng(1)
    r = rng.normal(size=(50, 6))
    a = r + rng.normal(scale=0.05, size=r.shape)
    c = metrics.Comparison()
    for s in range(0, 50, 8):
        c.update(a[s : s + 8], r[s : s + 8])
    m = c.result()
    d = a - r
    assert m["cosine"] == pytest.approx((a * r).sum() / np.sqrt((a * a).sum() * (r * r).sum()))
    assert m["l2_rel"] == pytest.approx(np.linalg.norm(d) / np.linalg.norm(r))
    assert m["rmse"] == pytest.approx(np.sqrt((d**2).mean()))
    assert m["mae"] == pytest.approx(np.abs(d).mean())
    assert m["max_abs"] == pytest.approx(np.abs(d).max())
    assert m["nse"] == pytest.approx(1 - (d**2).sum() / ((r - r.mean()) ** 2).sum())
    assert m["snr_db"] == pytest.approx(10 * np.log10((r**2).sum() / (d**2).sum()))
    assert m["psnr_db"] == pytest.approx(10 * np.log10(np.ptp(r) ** 2 / (d**2).mean()))


def test_identical_outputs():
    r = np.array([[1.0, 0.0], [0.0, 1.0]])
    m = metrics.Comparison()
    m.update(r, r)
    res = m.result()
    assert res["cosine"] == 1.0 and res["l2_rel"] == 0.0 and res["snr_db"] == math.inf and res["nse"] == 1.0
    assert abs(metrics.cosine(-r, r) + 1.0) < 1e-12
    shifted = metrics.Comparison()
    shifted.update(r + 0.25, r)
    assert shifted.result()["max_abs"] == 0.25


def test_roc_auc_matches_sklearn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 300)
    scores = np.round(labels + rng.normal(size=300), 1)  # with ties
    assert metrics.roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    assert math.isnan(metrics.roc_auc(scores, np.zeros(300)))
