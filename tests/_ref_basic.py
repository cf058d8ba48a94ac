"""Slow, obviously-correct references written straight from the definitions (issue 2 metrics).

Plain Python loops over thresholds and pairs; only for small inputs.
"""

from __future__ import annotations

import math

import numpy as np


def _as_lists(scores, labels):
    s = [float(v) for v in np.asarray(scores, dtype=np.float64).ravel()]
    y = [bool(v) for v in np.asarray(labels).ravel()]
    return s, y


def ref_confusion(scores, labels, threshold):
    """(tp, fp, fn, tn) of the prediction ``score >= threshold``."""
    s, y = _as_lists(scores, labels)
    tp = sum(1 for v, p in zip(s, y) if p and v >= threshold)
    fp = sum(1 for v, p in zip(s, y) if not p and v >= threshold)
    fn = sum(1 for v, p in zip(s, y) if p and v < threshold)
    tn = sum(1 for v, p in zip(s, y) if not p and v < threshold)
    return tp, fp, fn, tn


def ref_f1(scores, labels, threshold):
    tp, fp, fn, _ = ref_confusion(scores, labels, threshold)
    return 2 * tp / (2 * tp + fp + fn)


def ref_f1_max_and_threshold(scores, labels):
    """Best F1 over every distinct score as threshold; the lowest threshold among the best."""
    s, _ = _as_lists(scores, labels)
    best, best_t = -1.0, None
    for t in sorted(set(s), reverse=True):
        f = ref_f1(scores, labels, t)
        if f >= best:  # descending thresholds: later ties are lower thresholds
            best, best_t = f, t
    return best, best_t


def ref_auroc_pairs(scores, labels):
    """Probability that a random positive outscores a random negative, ties count 1/2."""
    s, y = _as_lists(scores, labels)
    pos = [v for v, p in zip(s, y) if p]
    neg = [v for v, p in zip(s, y) if not p]
    total = 0.0
    for a in pos:
        for b in neg:
            total += 1.0 if a > b else 0.5 if a == b else 0.0
    return total / (len(pos) * len(neg))


def ref_average_precision(scores, labels):
    """sum over distinct thresholds (descending) of (recall gain) * precision."""
    s, y = _as_lists(scores, labels)
    n_pos = sum(y)
    ap, prev_recall = 0.0, 0.0
    for t in sorted(set(s), reverse=True):
        tp, fp, _, _ = ref_confusion(scores, labels, t)
        recall = tp / n_pos
        ap += (recall - prev_recall) * (tp / (tp + fp))
        prev_recall = recall
    return ap


def ref_quantile_linear(values, q):
    """Linear-interpolation quantile: position (n - 1) q in the sorted values."""
    v = sorted(float(x) for x in values)
    pos = (len(v) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def ref_pgn(scores, labels, fnr):
    s, y = _as_lists(scores, labels)
    thr = ref_quantile_linear([v for v, p in zip(s, y) if p], fnr)
    neg = [v for v, p in zip(s, y) if not p]
    return sum(1 for v in neg if v < thr) / len(neg)


def ref_pbn(scores, labels, fpr):
    s, y = _as_lists(scores, labels)
    thr = ref_quantile_linear([v for v, p in zip(s, y) if not p], 1.0 - fpr)
    pos = [v for v, p in zip(s, y) if p]
    return sum(1 for v in pos if v > thr) / len(pos)


def ref_normalize(values, threshold, lo, hi):
    out = []
    for v in np.asarray(values, dtype=np.float64).ravel():
        if hi == lo:
            out.append(1.0 if v > threshold else 0.0 if v < threshold else 0.5)
        else:
            with np.errstate(over="ignore"):
                z = (v - threshold) / (hi - lo)
            out.append(min(1.0, max(0.0, z + 0.5)))
    return np.array(out).reshape(np.shape(values))
