"""Slow references for the benchmark protocols, written from the definitions with per-threshold
loops (no code shared with the library): sPRO / AU-sPRO, SegF1, thresholded IoU / Acc / F1,
IoU max, sample grouping and the threshold rules.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st


def _sat_spro(tp, sat):
    if sat == 0:
        return 1.0 if tp > 0 else 0.0
    return min(tp / sat, 1.0)


def ref_spro(maps, channels, sats, t):
    vals = []
    for m, ch, sa in zip(maps, channels, sats):
        m = np.asarray(m, np.float64)
        for c, s in zip(ch, sa):
            vals.append(_sat_spro(int(((m >= t) & c).sum()), s))
    return float(np.mean(vals)) if vals else float("nan")


def ref_spro_curve(maps, channels, sats):
    """(fpr, spro, thresholds): (0, 0) at inf, then one point per distinct score, descending."""
    maps = [np.asarray(m, np.float64) for m in maps]
    bg = [
        ~np.asarray(ch, bool).any(axis=0) if len(ch) else np.ones(m.shape, bool)
        for m, ch in zip(maps, channels)
    ]
    n_bg = sum(int(b.sum()) for b in bg)
    values = np.unique(np.concatenate([m.ravel() for m in maps]))[::-1]
    n_channels = sum(len(ch) for ch in channels)
    fpr = [0.0 if n_bg else np.nan]
    spro = [0.0 if n_channels else np.nan]
    ths = [np.inf]
    for t in values:
        fp = sum(int(((m >= t) & b).sum()) for m, b in zip(maps, bg))
        fpr.append(fp / n_bg if n_bg else np.nan)
        spro.append(ref_spro(maps, channels, sats, t))
        ths.append(t)
    return np.array(fpr), np.array(spro), np.array(ths)


def ref_area(x, y, limit):
    """Trapezoids of the points with x <= limit, plus the segment crossing it cut at the limit."""
    area = 0.0
    for k in range(1, len(x)):
        x0, x1, y0, y1 = x[k - 1], x[k], y[k - 1], y[k]
        if x1 <= limit:
            area += (x1 - x0) * (y0 + y1) / 2
        else:
            if x0 < limit:
                y_cut = y0 + (y1 - y0) * (limit - x0) / (x1 - x0)
                area += (limit - x0) * (y0 + y_cut) / 2
            break
    return area / limit


def ref_counts(maps, masks, t, binary=False):
    maps = np.asarray(maps, np.float64)
    masks = np.asarray(masks, bool)
    pred = maps != 0 if binary else maps >= t
    tp = int((pred & masks).sum())
    fp = int((pred & ~masks).sum())
    fn = int((~pred & masks).sum())
    return tp, fp, fn


def ref_seg_f1_per_image(maps, masks, t):
    vals = []
    for m, g in zip(maps, masks):
        tp, fp, fn = ref_counts(m, g, t)
        vals.append(1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(vals))


def ref_iou_max(maps, masks):
    best = -1.0
    for t in np.unique(np.asarray(maps, np.float64)):
        tp, fp, fn = ref_counts(maps, masks, t)
        best = max(best, tp / (tp + fp + fn))
    return best


def ref_group(scores, groups, labels, reduce="max"):
    out: dict = {}
    for s, g, y in zip(scores, groups, labels):
        out.setdefault(g, []).append((float(s), bool(y)))
    keys = list(out)
    red = max if reduce == "max" else (lambda v: math.fsum(v) / len(v))
    return (
        keys,
        [red([s for s, _ in out[k]]) for k in keys],
        [any(y for _, y in out[k]) for k in keys],
    )


def ref_max_fpr_threshold(scores, max_fpr):
    s = np.asarray(scores, np.float64).ravel()
    cands = sorted(set(s.tolist()) | {float(np.nextafter(s.max(), np.inf))})
    for t in cands:
        if (s >= t).sum() <= math.floor(max_fpr * s.size):
            return t
    raise AssertionError


@st.composite
def loco_problems(draw, max_images=3, max_side=6):
    """(maps list, channels list, saturation list or None, dtype): ties, overlaps, blobs."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(1, max_images))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(2, max_side))
    levels = draw(st.integers(1, 12))
    dtype = draw(st.sampled_from((np.float16, np.float32, np.float64)))
    maps = [(rng.integers(0, levels, (h, w)) / levels + 0.1).astype(dtype) for _ in range(n)]
    channels = []
    for _ in range(n):
        c = draw(st.integers(0, 3))
        ch = rng.random((c, h, w)) < draw(st.sampled_from((0.1, 0.3, 0.6)))
        for k in range(c):  # never empty
            ch[k, rng.integers(h), rng.integers(w)] = True
        channels.append(ch)
    mode = draw(st.sampled_from(("none", "absolute", "relative")))
    if mode == "none":
        sats = None
    elif mode == "absolute":
        sats = [
            rng.integers(0, ch.reshape(len(ch), -1).sum(1) + 3) if len(ch) else np.zeros(0)
            for ch in channels
        ]
        sats = [np.asarray(s, np.float64) for s in sats]
    else:
        rel = draw(st.sampled_from((0.0, 0.3, 0.5, 1.0, 1.5)))
        sats = [np.array([float(int(rel * c.sum())) for c in ch]) for ch in channels]
    return maps, channels, sats
