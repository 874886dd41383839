import numpy as np

from edgekit.simulate import metrics


def test_classification_metrics():
    ref = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    out = np.array([[0.8, 0.2], [0.7, 0.3], [0.6, 0.4]])
    assert metrics.top1_accuracy(ref, np.array([0, 1, 1])) == 2 / 3
    assert metrics.top1_accuracy(ref, np.eye(2)[[0, 1, 1]]) == 2 / 3  # one-hot labels
    assert metrics.agreement(out, ref) == 2 / 3


def test_regression_metrics():
    r = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert abs(metrics.cosine(r, r) - 1.0) < 1e-12
    assert abs(metrics.cosine(-r, r) + 1.0) < 1e-12
    assert metrics.cosine(np.zeros(2), np.zeros(2)) == 1.0
    assert metrics.max_abs_error(r + 0.25, r) == 0.25
