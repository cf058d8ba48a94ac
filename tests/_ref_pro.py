"""Slow float64 references for connected components, PRO and AU-PRO, written from the definition.

The AU-PRO reference follows the official MVTec AD evaluation recipe step by step: label every
image with ``scipy.ndimage.label`` (3x3 structure), give each background pixel an FPR increment of
1 and each region pixel a PRO increment of 1 / region size, sort all pixels by descending score
(argsort), take cumulative sums, keep the last point of each run of equal scores, prepend (0, 0)
and integrate up to the limit with linear interpolation. No code is shared with the library.

Also: a deterministic synthetic data generator (realistic blob masks, smooth maps) for the tests
and the speed measurement, and a hypothesis strategy of mask batches (blobs, lines,
checkerboards, single pixels, full / empty and 1-pixel-wide images, serpentines).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from scipy import ndimage as ndi

STRUCTURES = {8: np.ones((3, 3), bool), 4: ndi.generate_binary_structure(2, 1)}


def ref_labels(masks, connectivity=8):
    """scipy.ndimage.label per image with a running offset; masks (N, H, W)."""
    masks = np.asarray(masks, bool)
    out = np.zeros(masks.shape, np.int32)
    offset = 0
    for i in range(masks.shape[0]):
        lab, k = ndi.label(masks[i], structure=STRUCTURES[connectivity])
        out[i] = np.where(lab > 0, lab + offset, 0)
        offset += k
    return out


def _as_batch(maps, masks):
    maps = np.asarray(maps, np.float64)
    masks = np.asarray(masks) != 0
    if maps.ndim == 2:
        maps, masks = maps[None], masks[None]
    elif maps.ndim == 4:
        maps, masks = maps[:, 0], masks[:, 0]
    return maps, masks


def ref_pro_curve_full(maps, masks):
    """Full PRO curve (fpr, pro, thresholds) with one point per distinct score, from (0, 0)."""
    maps, masks = _as_batch(maps, masks)
    labels = ref_labels(masks)
    n_regions = int(labels.max())
    sizes = np.bincount(labels.ravel(), minlength=n_regions + 1).astype(np.float64)
    fp_change = (labels == 0).astype(np.float64).ravel()
    pro_change = np.where(labels > 0, 1.0 / sizes[labels], 0.0).ravel()
    n_bg = fp_change.sum()
    scores = maps.ravel()
    order = np.argsort(scores, kind="stable")[::-1]
    scores = scores[order]
    fpr = np.cumsum(fp_change[order]) / n_bg
    pro = np.cumsum(pro_change[order]) / n_regions
    keep = np.append(scores[:-1] != scores[1:], True)  # last element of each tie run
    return (
        np.concatenate(([0.0], fpr[keep])),
        np.concatenate(([0.0], pro[keep])),
        np.concatenate(([np.inf], scores[keep])),
    )


def ref_trapezoid(x, y, x_max):
    """MVTec's ``trapezoid(x, y, x_max)``: keep x <= x_max, interpolate the crossing segment."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    correction = 0.0
    if x_max not in x:
        ins = int(np.searchsorted(x, x_max, side="right"))
        if 0 < ins < len(x):
            y_cut = y[ins - 1] + (y[ins] - y[ins - 1]) * (x_max - x[ins - 1]) / (
                x[ins] - x[ins - 1]
            )
            correction = 0.5 * (y_cut + y[ins - 1]) * (x_max - x[ins - 1])
    keep = x <= x_max
    xs, ys = x[keep], y[keep]
    return float(np.sum(0.5 * (ys[1:] + ys[:-1]) * (xs[1:] - xs[:-1])) + correction)


def ref_aupro(maps, masks, fpr_limit=0.3):
    fpr, pro, _ = ref_pro_curve_full(maps, masks)
    return ref_trapezoid(fpr, pro, fpr_limit) / fpr_limit


def ref_pro(maps, masks, threshold):
    """Mean over regions of the fraction of region pixels with score >= threshold (loops)."""
    maps, masks = _as_batch(maps, masks)
    labels = ref_labels(masks)
    fractions = []
    for k in range(1, int(labels.max()) + 1):
        region = maps[labels == k]
        fractions.append(np.count_nonzero(region >= threshold) / region.size)
    return float(np.mean(fractions))


def synthetic_batch(n=500, h=256, w=256, *, seed=0, normal_fraction=0.4, dtype=np.float32):
    """Deterministic anomaly maps and masks: irregular blobs on ~60% of images, smooth maps.

    Masks: 1-4 ellipses per anomalous image with a noisy boundary (a few hundred to a few
    thousand pixels each). Maps: smooth noise, plus a blurred bump over each defect, plus a
    little pixel noise (so almost every score is distinct, as with real models).
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    masks = np.zeros((n, h, w), bool)
    anomalous = np.flatnonzero(rng.random(n) >= normal_fraction)
    wobble = ndi.zoom(rng.normal(size=(8, 9, 9)).astype(np.float32), (1, h / 9, w / 9), order=1)
    for i in anomalous:
        r2 = np.full((h, w), np.inf, np.float32)
        for _ in range(int(rng.integers(1, 5))):
            cy, cx = rng.uniform(0, h), rng.uniform(0, w)
            ay, ax = rng.uniform(2, h / 10), rng.uniform(2, w / 10)
            th = rng.uniform(0, np.pi)
            dy, dx = yy - cy, xx - cx
            u = (dy * np.cos(th) + dx * np.sin(th)) / ay
            v = (-dy * np.sin(th) + dx * np.cos(th)) / ax
            r2 = np.minimum(r2, u * u + v * v)
        masks[i] = r2 + 0.4 * wobble[i % 8] < 1.0
    low = rng.normal(size=(n, h // 16, w // 16)).astype(np.float32)
    maps = np.repeat(np.repeat(low, 16, axis=1), 16, axis=2)
    maps = ndi.uniform_filter(maps, size=(1, 16, 16))
    maps += 2.0 * ndi.gaussian_filter(masks.astype(np.float32), sigma=(0, 3, 3))
    maps += 0.2 * rng.standard_normal(size=maps.shape, dtype=np.float32)
    return maps.astype(dtype, copy=False), masks


KINDS = ("random", "blobs", "lines", "checkerboard", "single", "full", "empty", "snake")


def _image(rng, kind, h, w):
    if kind == "random":
        return rng.random((h, w)) < rng.choice([0.1, 0.3, 0.5, 0.7, 0.9])
    if kind == "full":
        return np.ones((h, w), bool)
    if kind == "empty":
        return np.zeros((h, w), bool)
    if kind == "checkerboard":
        yy, xx = np.mgrid[0:h, 0:w]
        period = int(rng.integers(1, 3))
        return ((yy // period + xx // period) % 2 == rng.integers(0, 2)).astype(bool)
    if kind == "single":
        m = np.zeros(h * w, bool)
        m[rng.choice(h * w, size=min(h * w, int(rng.integers(1, 5))), replace=False)] = True
        return m.reshape(h, w)
    m = np.zeros((h, w), bool)
    if kind == "lines":
        for _ in range(int(rng.integers(1, 4))):
            r, c = int(rng.integers(0, h)), int(rng.integers(0, w))
            direction = rng.integers(0, 4)
            for t in range(max(h, w)):
                y, x = [(r, t), (t, c), (t, t + c - r), (t, r + c - t)][direction]
                if 0 <= y < h and 0 <= x < w:
                    m[y, x] = True
        return m
    if kind == "blobs":
        yy, xx = np.mgrid[0:h, 0:w]
        for _ in range(int(rng.integers(1, 4))):
            cy, cx = rng.uniform(0, h), rng.uniform(0, w)
            ry, rx = rng.uniform(0.5, h / 2 + 1), rng.uniform(0.5, w / 2 + 1)
            m |= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
        return m
    # snake: a serpentine path; one long component whose arms join late in the scan
    for y in range(0, h, 2):
        m[y] = True
        if y + 1 < h:
            m[y + 1, w - 1 if (y // 2) % 2 == 0 else 0] = True
    return m


@st.composite
def mask_batches(draw, max_n=4, max_side=20):
    n = draw(st.integers(1, max_n))
    h = draw(st.one_of(st.just(1), st.integers(1, max_side)))
    w = draw(st.one_of(st.just(1), st.integers(1, max_side)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=n, max_size=n))
    return np.stack([_image(rng, k, h, w) for k in kinds])
