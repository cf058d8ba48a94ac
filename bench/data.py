"""Deterministic synthetic MVTec-like evaluation sets.

A set is ``N`` anomaly maps of ``H x W`` float32 scores, the ground-truth masks (bool), one score
per image and the image labels. About 40 % of the images are normal (empty mask); every other image
has 1 to 4 defect regions -- ellipses, thin scratches and irregular "star" blobs -- whose areas are
log-uniform between a few pixels and ~15 % of the image. The maps are smooth background noise plus a
blurred bump of random strength on every defect, plus a few defect-free bright spots ("nuisances")
that cause false positives, so the classes overlap like a real model's output (100 x 256 x 256:
about 2 % defect pixels, pixel AUROC 0.967, AU-PRO 0.864, image AUROC 0.90, AUPIMO 0.32). Image
scores are the map maximum plus noise.

Value layouts (:data:`LAYOUTS`): the same set with its values changed the way other models and
file formats change them, ranks kept where the layout allows (:func:`apply_layout`):

- ``mvtec``: the set as generated (float32, roughly -4 to 12, almost every score distinct);
- ``heavy-tail``: ``exp(20 * (u - 0.5))`` of the scores min-max scaled to ``u`` in [0, 1]: values
  from 4.5e-5 to 2.2e4, what likelihood-based models produce (float32);
- ``float16``: the maps rounded to float16 (about 30k distinct values, massive ties; MVTec AD 2
  asks for float16 TIFFs);
- ``uint8``: 256 levels (the min-max scaled maps times 255, rounded; dtype uint8);
- ``half-defect``: 50 % defect pixels (the masks of the anomalous images grown over their
  highest-scoring pixels; the maps unchanged);
- ``outliers``: a few scores (one pixel in 100k, at least 4) set to 1e30 (float32);
- ``signed-wide``: the scores min-max scaled to [-500, 500] (float32).

The set depends only on ``(n, h, w, seed, layout)`` and :data:`GENERATOR_VERSION`; it is cached on
disk as ``.npy`` files so that every benchmark subprocess loads the same arrays in a fraction of a
second.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "GENERATOR_VERSION",
    "LAYOUTS",
    "Dataset",
    "apply_layout",
    "generate",
    "load",
    "parse_size",
    "prepare",
]

# Bump when the generated values change, so that stale caches are not reused.
GENERATOR_VERSION = 1

_NORMAL_FRACTION = 0.4
_MAX_AREA_FRACTION = 0.15
_MIN_AREA = 4.0
_BACKGROUND_SIGMA = 2.0  # smoothing of the background noise, in pixels
_EDGE_SIGMA = 1.5  # blur of a defect's signal (it bleeds a little outside the mask)


@dataclass(frozen=True)
class Dataset:
    """One synthetic evaluation set (arrays in memory)."""

    anomaly_maps: np.ndarray  # (N, H, W) float32 (float16 or uint8 in those layouts)
    masks: np.ndarray  # (N, H, W) bool
    image_scores: np.ndarray  # (N,) same dtype as the maps
    image_labels: np.ndarray  # (N,) bool

    @property
    def shape(self) -> tuple[int, int, int]:
        n, h, w = self.anomaly_maps.shape
        return int(n), int(h), int(w)


def parse_size(text: str) -> tuple[int, int, int]:
    """``"100x256x256"`` -> ``(100, 256, 256)``."""
    parts = text.lower().replace("*", "x").split("x")
    if len(parts) != 3 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise ValueError(f"size must look like NxHxW (e.g. 100x256x256), got {text!r}.")
    n, h, w = (int(p) for p in parts)
    if h < 8 or w < 8:
        raise ValueError(f"size must have H, W >= 8, got {text!r}.")
    return n, h, w


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, round(3.0 * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).astype(np.float32)


def _smooth(a: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur over the last two axes (reflecting borders)."""
    from scipy.ndimage import convolve1d

    k = _gaussian_kernel(sigma)
    out = convolve1d(a, k, axis=-1, mode="reflect")
    return convolve1d(out, k, axis=-2, mode="reflect")


def _blob(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, int, int]:
    """One defect shape as a small bool patch and its top-left corner in the image."""
    area = float(np.exp(rng.uniform(np.log(_MIN_AREA), np.log(_MAX_AREA_FRACTION * h * w))))
    kind = rng.choice(3, p=[0.55, 0.2, 0.25])
    theta = rng.uniform(0.0, np.pi)
    if kind == 1:  # scratch: a thin rotated bar
        width = rng.uniform(1.0, 3.0)
        half_len = min(area / width, 0.9 * float(np.hypot(h, w))) / 2.0
        half_w = width / 2.0
        r = int(np.ceil(half_len)) + 2
    else:  # ellipse, or an ellipse with a wavy outline
        ratio = rng.uniform(1.0, 3.5)
        b = np.sqrt(area / (np.pi * ratio))
        a = ratio * b
        r = int(np.ceil(a * 1.4)) + 2
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float64)
    u = xx * np.cos(theta) + yy * np.sin(theta)
    v = -xx * np.sin(theta) + yy * np.cos(theta)
    if kind == 1:
        patch = (np.abs(u) <= half_len) & (np.abs(v) <= half_w)
    elif kind == 0:
        patch = (u / a) ** 2 + (v / b) ** 2 <= 1.0
    else:
        phi = np.arctan2(v / b, u / a)
        wobble = np.ones_like(phi)
        for k in range(2, 6):
            wobble += rng.uniform(0.0, 0.18) * np.cos(k * phi + rng.uniform(0, 2 * np.pi))
        patch = np.sqrt((u / a) ** 2 + (v / b) ** 2) <= wobble
    if not patch.any():
        patch[r, r] = True
    cy = int(rng.integers(0, h))
    cx = int(rng.integers(0, w))
    return patch, cy - r, cx - r


def _paste(dst: np.ndarray, patch: np.ndarray, top: int, left: int) -> tuple[slice, slice]:
    """Paste ``patch`` (bool or float, added with OR / +) at (top, left), clipped to ``dst``."""
    h, w = dst.shape
    ph, pw = patch.shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + ph, h), min(left + pw, w)
    if y0 >= y1 or x0 >= x1:
        return slice(0, 0), slice(0, 0)
    src = patch[y0 - top : y1 - top, x0 - left : x1 - left]
    if dst.dtype == np.bool_:
        dst[y0:y1, x0:x1] |= src
    else:
        dst[y0:y1, x0:x1] += src
    return slice(y0, y1), slice(x0, x1)


def _bump(patch: np.ndarray, amplitude: float) -> np.ndarray:
    """A defect's signal: its mask, blurred, times ``amplitude`` (float32, padded by the blur)."""
    pad = int(np.ceil(3 * _EDGE_SIGMA))
    p = _smooth(np.pad(patch.astype(np.float32), pad), _EDGE_SIGMA)
    # normalise the peak: small defects are as strong as large ones at their centre
    return (p * np.float32(amplitude / max(float(p.max()), 1e-6))).astype(np.float32)


def generate(n: int, h: int, w: int, seed: int = 0, layout: str = "mvtec") -> Dataset:
    """Generate the set (deterministic in ``(n, h, w, seed, layout)``)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}.")
    rng = np.random.default_rng([seed, n, h, w, GENERATOR_VERSION])
    n_normal = round(_NORMAL_FRACTION * n)
    if n >= 2:
        n_normal = min(max(n_normal, 1), n - 1)
    is_anomalous = np.ones(n, dtype=bool)
    is_anomalous[rng.permutation(n)[:n_normal]] = False

    maps = np.empty((n, h, w), dtype=np.float32)
    masks = np.zeros((n, h, w), dtype=bool)
    chunk = max(1, (1 << 22) // (h * w))  # smooth ~4M pixels at a time
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        noise = rng.standard_normal((stop - start, h, w), dtype=np.float32)
        smooth = _smooth(noise, _BACKGROUND_SIGMA)
        smooth *= np.float32(1.0 / max(float(smooth.std()), 1e-12))
        maps[start:stop] = smooth
    for i in range(n):
        m = maps[i]
        if is_anomalous[i]:
            for _ in range(int(rng.integers(1, 5))):
                patch, top, left = _blob(rng, h, w)
                pad = int(np.ceil(3 * _EDGE_SIGMA))
                _paste(masks[i], patch, top, left)
                amplitude = float(rng.lognormal(np.log(3.6), 0.5))
                _paste(m, _bump(patch, amplitude), top - pad, left - pad)
        # defect-free bright spots: false positives of the model
        for _ in range(int(rng.poisson(0.4))):
            patch, top, left = _blob(rng, h, w)
            if patch.sum() > 0.01 * h * w:
                continue
            pad = int(np.ceil(3 * _EDGE_SIGMA))
            _paste(m, _bump(patch, float(rng.uniform(1.0, 3.0))), top - pad, left - pad)
        if is_anomalous[i] and not masks[i].any():  # a blob entirely cut off: keep the label true
            masks[i, h // 2, w // 2] = True
    image_scores = maps.reshape(n, -1).max(axis=1) + rng.normal(0.0, 0.25, n).astype(np.float32)
    ds = Dataset(maps, masks, image_scores.astype(np.float32), masks.reshape(n, -1).any(axis=1))
    return apply_layout(ds, layout, seed)


LAYOUTS = ("mvtec", "heavy-tail", "float16", "uint8", "half-defect", "outliers", "signed-wide")
_DEFECT_FRACTION = 0.5  # of the half-defect layout
_OUTLIER = 1e30


def _unit(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Maps and image scores min-max scaled (over both) to [0, 1], in float64."""
    lo = min(float(ds.anomaly_maps.min()), float(ds.image_scores.min()))
    hi = max(float(ds.anomaly_maps.max()), float(ds.image_scores.max()))
    span = hi - lo if hi > lo else 1.0
    return (ds.anomaly_maps - lo) / span, (ds.image_scores.astype(np.float64) - lo) / span


def apply_layout(ds: Dataset, layout: str, seed: int = 0) -> Dataset:
    """The set with its values in another layout (see the module docstring); ranks kept where
    the layout allows (float16 and uint8 merge close scores into ties, outliers move a few)."""
    if layout == "mvtec":
        return ds
    maps, scores, masks = ds.anomaly_maps, ds.image_scores, ds.masks
    if layout in ("heavy-tail", "uint8", "signed-wide"):
        u_maps, u_scores = _unit(ds)
        if layout == "heavy-tail":
            f = lambda u: np.exp(20.0 * (u - 0.5)).astype(np.float32)  # noqa: E731
        elif layout == "uint8":
            f = lambda u: np.round(255.0 * u).astype(np.uint8)  # noqa: E731
        else:
            f = lambda u: (1000.0 * u - 500.0).astype(np.float32)  # noqa: E731
        maps, scores = f(u_maps), f(u_scores)
    elif layout == "float16":
        maps, scores = maps.astype(np.float16), scores.astype(np.float16)
    elif layout == "outliers":
        rng = np.random.default_rng([seed, *maps.shape, 7])
        maps = maps.copy()
        k = min(maps.size, max(4, maps.size // 100_000))
        maps.reshape(-1)[rng.choice(maps.size, size=k, replace=False)] = _OUTLIER
        scores = np.maximum(scores, maps.reshape(len(maps), -1).max(axis=1))
    elif layout == "half-defect":
        anomalous = masks.reshape(len(masks), -1).any(axis=1)
        need = int(_DEFECT_FRACTION * masks.size) - int(masks.sum())
        if need > 0 and anomalous.any():
            # the highest-scoring pixels of the anomalous images become defect pixels
            pixels = maps[anomalous]
            free = pixels[~masks[anomalous]]
            k = min(need, free.size)
            t = np.partition(free, free.size - k)[free.size - k]
            masks = masks.copy()
            masks[anomalous] |= pixels >= t
    else:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}.")
    labels = masks.reshape(len(masks), -1).any(axis=1)
    return Dataset(np.ascontiguousarray(maps), masks, np.ascontiguousarray(scores), labels)


def default_cache_dir() -> Path:
    """Where generated sets are cached (``$ANOMALY_METRICS_BENCH_DATA`` or the temp dir)."""
    env = os.environ.get("ANOMALY_METRICS_BENCH_DATA")
    return Path(env) if env else Path(tempfile.gettempdir()) / "anomaly-metrics-bench"


_FILES = ("anomaly_maps", "masks", "image_scores", "image_labels")


def prepare(
    n: int,
    h: int,
    w: int,
    seed: int = 0,
    cache_dir: Path | None = None,
    layout: str = "mvtec",
) -> Path:
    """Generate the set once and cache it; return its folder."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    tag = "" if layout == "mvtec" else f"-{layout}"
    folder = root / f"v{GENERATOR_VERSION}-{n}x{h}x{w}-seed{seed}{tag}"
    if all((folder / f"{name}.npy").exists() for name in _FILES):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    ds = generate(n, h, w, seed, layout)
    for name in _FILES:
        tmp = folder / f"{name}.tmp.npy"
        np.save(tmp, getattr(ds, name))
        tmp.replace(folder / f"{name}.npy")
    return folder


def load(folder: Path) -> Dataset:
    """Load a cached set fully into memory."""
    folder = Path(folder)
    arrays = {name: np.load(folder / f"{name}.npy") for name in _FILES}
    return Dataset(**arrays)
