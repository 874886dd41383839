"""Accuracy metrics with the definitions users know, computed in one streaming pass.

Comparisons of an artifact's output ``a`` with the float model's ``r`` (per output tensor,
over all elements of all samples):

- cosine similarity      sum(a*r) / sqrt(sum(a*a) * sum(r*r))
- L2 relative error      ||a - r|| / ||r||
- RMSE, MAE, max |a - r|
- NSE (Nash-Sutcliffe)   1 - sum((a - r)^2) / sum((r - mean r)^2)
- SNR (dB)               10 log10(sum(r^2) / sum((a - r)^2))
- PSNR (dB)              10 log10(peak^2 / MSE), peak = max(r) - min(r) over the set
                         (the reference's dynamic range; infinite when a == r)

Classification views (first output, shape (batch, classes)): top-1 and top-k accuracy
against labels (class ids or one-hot), top-1 agreement between artifact and float model.
Anomaly task: ROC AUC of a per-sample score against 0/1 labels.
"""

from __future__ import annotations

import math

import numpy as np
from edgekit.data import label_ids  # noqa: F401  (part of the metrics API)


def _flat(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, np.float64).reshape(len(a), -1)


def top1(scores: np.ndarray) -> np.ndarray:
    """Predicted class per sample."""
    return _flat(scores).argmax(axis=1)


def top1_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples whose highest score is the label (labels as ids or one-hot)."""
    return float(np.mean(top1(scores) == label_ids(labels)))


def agreement(out: np.ndarray, ref: np.ndarray) -> float:
    """Fraction of samples where the artifact's top-1 equals the float model's top-1."""
    return float(np.mean(top1(out) == top1(ref)))


def cosine(out: np.ndarray, ref: np.ndarray) -> float:
    """Cosine similarity of the whole output tensors (flattened over all samples)."""
    s = Comparison()
    s.update(np.asarray(out).reshape(1, -1), np.asarray(ref).reshape(1, -1))
    return s.result()["cosine"]


class Comparison:
    """Running sums for comparing an output tensor with its reference, batch by batch."""

    def __init__(self):
        self.n = 0
        self.ar = self.aa = self.rr = self.dd = self.ad = self.r = 0.0
        self.max_abs = 0.0
        self.r_min, self.r_max = math.inf, -math.inf

    def update(self, out: np.ndarray, ref: np.ndarray) -> None:
        a = np.asarray(out, np.float64).ravel()
        r = np.asarray(ref, np.float64).ravel()
        if a.shape != r.shape:
            raise ValueError(f"output has {a.size} values, reference {r.size}")
        d = a - r
        self.n += r.size
        self.ar += float(a @ r)
        self.aa += float(a @ a)
        self.rr += float(r @ r)
        self.dd += float(d @ d)
        self.ad += float(np.abs(d).sum())
        self.r += float(r.sum())
        if r.size:
            self.max_abs = max(self.max_abs, float(np.abs(d).max()))
            self.r_min, self.r_max = min(self.r_min, float(r.min())), max(self.r_max, float(r.max()))

    def result(self) -> dict:
        n = max(self.n, 1)
        denom = math.sqrt(self.aa * self.rr)
        cos = self.ar / denom if denom else (1.0 if self.dd == 0 else 0.0)
        mse = self.dd / n
        var = self.rr - self.r * self.r / n
        peak = self.r_max - self.r_min if self.n else 0.0
        return {
            "cosine": min(cos, 1.0),
            "l2_rel": math.sqrt(self.dd) / math.sqrt(self.rr) if self.rr else (0.0 if self.dd == 0 else math.inf),
            "rmse": math.sqrt(mse),
            "mae": self.ad / n,
            "max_abs": self.max_abs,
            "nse": 1.0 - self.dd / var if var > 0 else (1.0 if self.dd == 0 else -math.inf),
            "snr_db": _db(self.rr, self.dd),
            "psnr_db": _db(peak * peak, mse),
        }


def _db(signal: float, noise: float) -> float:
    if noise == 0:
        return math.inf
    if signal == 0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


class Classification:
    """Top-1/top-k against labels and top-1 agreement with a reference, batch by batch."""

    def __init__(self, k: int = 5):
        self.k = k
        self.n = self.n_labeled = self.correct1 = self.correctk = self.agree = 0

    def update(self, scores: np.ndarray, labels: np.ndarray | None = None, ref: np.ndarray | None = None) -> None:
        s = _flat(scores)
        self.n += len(s)
        pred = s.argmax(axis=1)
        if ref is not None:
            self.agree += int((pred == top1(ref)).sum())
        if labels is not None:
            y = label_ids(labels)
            k = min(self.k, s.shape[1])
            topk = np.argpartition(-s, k - 1, axis=1)[:, :k]
            self.n_labeled += len(y)
            self.correct1 += int((pred == y).sum())
            self.correctk += int((topk == y[:, None]).any(axis=1).sum())

    def result(self) -> dict:
        out = {}
        if self.n_labeled:
            out["top1"] = self.correct1 / self.n_labeled
            out[f"top{self.k}"] = self.correctk / self.n_labeled
        return out

    def agreement(self) -> float:
        return self.agree / max(self.n, 1)


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for 0/1 ``labels`` (Mann-Whitney, ties halved)."""
    scores, labels = np.asarray(scores, np.float64).ravel(), np.asarray(labels).ravel().astype(bool)
    pos, neg = labels.sum(), (~labels).sum()
    if pos == 0 or neg == 0:
        return math.nan
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks over ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))
