"""``anomaly-metrics demo``: a small synthetic MVTec AD-layout set, written and evaluated.

Two categories of 256 x 256 images. Defects are irregular blobs, thin scratches and clusters of
small spots (8-connected regions of very different sizes, as in MVTec AD); anomaly maps are a
smooth noisy texture plus a blurred, partial response to each defect of random strength, and a
few spurious bright spots on some normal and anomalous images, so that no metric is trivially 1.
Category ``widget`` writes float32 TIFF maps (the official evaluation's format), ``fabric``
16-bit PNG maps (quantised, so with many ties); masks are 0/255 PNGs; normal images have no mask,
as in MVTec AD. :func:`run_demo` writes it and runs ``evaluate`` on it.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
from numpy.typing import NDArray

from .evaluate import run_evaluate

__all__ = ["DEMO_PROTOCOLS", "run_demo", "write_demo_dataset"]

#: The protocols ``demo --protocol`` can write a set for.
DEMO_PROTOCOLS = ("mvtec-ad", "mvtec-3d", "mvtec-loco", "mvtec-ad2", "visa", "real-iad")


@dataclass(frozen=True)
class _Category:
    name: str
    defects: tuple[str, ...]
    n_good: int
    n_per_defect: int
    strength: tuple[float, float]  # range of the defect response's amplitude
    spurious: float  # probability of a false-positive spot on an image
    map_format: str  # "tiff" or "png"


CATEGORIES = (
    _Category("widget", ("blob", "scratch"), 26, 14, (2.0, 5.0), 0.2, "tiff"),
    _Category("fabric", ("spots", "blob"), 20, 14, (1.2, 4.0), 0.3, "png"),
)


def _smooth(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> NDArray[np.float64]:
    from scipy.ndimage import gaussian_filter

    field = gaussian_filter(rng.standard_normal(shape), sigma)
    return field / (field.std() + 1e-12)


def _blob_mask(rng: np.random.Generator, size: int) -> NDArray[np.bool_]:
    """An irregular blob: a thresholded smooth field inside a random ellipse."""
    yy, xx = np.mgrid[0:size, 0:size]
    cy, cx = rng.uniform(0.2, 0.8, 2) * size
    ry, rx = rng.uniform(0.03, 0.14, 2) * size
    ellipse = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
    field = _smooth(rng, (size, size), 6.0)
    return (ellipse + 0.6 * field) < 1.0


def _scratch_mask(rng: np.random.Generator, size: int) -> NDArray[np.bool_]:
    """A thin curved line 1 to 3 pixels wide."""
    mask = np.zeros((size, size), bool)
    t = np.linspace(0.0, 1.0, 4 * size)
    p0, p1, p2 = (rng.uniform(0.1, 0.9, 2) * size for _ in range(3))
    pts = ((1 - t) ** 2)[:, None] * p0 + (2 * (1 - t) * t)[:, None] * p1 + (t**2)[:, None] * p2
    width = int(rng.integers(0, 2))
    for dy in range(-width, width + 1):
        for dx in range(-width, width + 1):
            r = np.clip(pts[:, 0].round().astype(int) + dy, 0, size - 1)
            c = np.clip(pts[:, 1].round().astype(int) + dx, 0, size - 1)
            mask[r, c] = True
    return mask


def _spots_mask(rng: np.random.Generator, size: int) -> NDArray[np.bool_]:
    """A cluster of 3 to 8 small round spots."""
    yy, xx = np.mgrid[0:size, 0:size]
    mask = np.zeros((size, size), bool)
    center = rng.uniform(0.25, 0.75, 2) * size
    for _ in range(int(rng.integers(3, 9))):
        cy, cx = center + rng.normal(0, 0.08 * size, 2)
        r = rng.uniform(1.5, 5.0)
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    return mask


_SHAPES = {"blob": _blob_mask, "scratch": _scratch_mask, "spots": _spots_mask}


def _anomaly_map(
    rng: np.random.Generator, mask: NDArray[np.bool_], cat: _Category
) -> NDArray[np.float32]:
    from scipy.ndimage import gaussian_filter

    size = mask.shape[0]
    texture = 0.6 * _smooth(rng, (size, size), 2.0) + 0.4 * _smooth(rng, (size, size), 12.0)
    response = np.zeros((size, size))
    if mask.any():
        response = gaussian_filter(mask.astype(np.float64), 2.0)
        response /= response.max()
        response *= rng.uniform(*cat.strength)
        if rng.random() < 0.3:  # the detector misses part of the defect
            keep = _smooth(rng, (size, size), 8.0) > 0
            response *= keep
    if rng.random() < cat.spurious:
        spot = np.zeros((size, size))
        spot[tuple(rng.integers(10, size - 10, 2))] = 1.0
        spot = gaussian_filter(spot, rng.uniform(2.0, 5.0))
        response += spot / spot.max() * rng.uniform(1.0, 3.0)
    return (texture + response).astype(np.float32)


def _write_png(path: Path, array: NDArray[np.generic]) -> None:
    from PIL import Image

    Image.fromarray(array).save(path)


def write_demo_dataset(
    root: str | os.PathLike[str], *, size: int = 256, seed: int = 0
) -> tuple[Path, Path]:
    """Write the synthetic set under `root`; return ``(anomaly_maps_dir, ground_truth_dir)``.

    Layout: ``root/anomaly_maps/<category>/test/<defect>/<name>.(tiff|png)`` and
    ``root/ground_truth/<category>/ground_truth/<defect>/<name>_mask.png``. The content
    depends only on `size` and `seed`.
    """
    import tifffile

    root = Path(root)
    maps_root = root / "anomaly_maps"
    gt_root = root / "ground_truth"
    rng = np.random.default_rng(seed)
    for cat in CATEGORIES:
        images: list[tuple[str, str, NDArray[np.float32], NDArray[np.bool_]]] = []
        for i in range(cat.n_good):
            mask = np.zeros((size, size), bool)
            images.append(("good", f"{i:03d}", _anomaly_map(rng, mask, cat), mask))
        for defect in cat.defects:
            for i in range(cat.n_per_defect):
                mask = _SHAPES[defect](rng, size)
                images.append((defect, f"{i:03d}", _anomaly_map(rng, mask, cat), mask))
        lo = min(float(m.min()) for _, _, m, _ in images)
        hi = max(float(m.max()) for _, _, m, _ in images)
        for defect, name, amap, mask in images:
            map_dir = maps_root / cat.name / "test" / defect
            map_dir.mkdir(parents=True, exist_ok=True)
            if cat.map_format == "tiff":
                tifffile.imwrite(map_dir / f"{name}.tiff", amap)
            else:
                scaled = np.round((amap - lo) / (hi - lo) * 65535.0).astype(np.uint16)
                _write_png(map_dir / f"{name}.png", scaled)
            if defect != "good":
                gt_dir = gt_root / cat.name / "ground_truth" / defect
                gt_dir.mkdir(parents=True, exist_ok=True)
                _write_png(gt_dir / f"{name}_mask.png", mask.astype(np.uint8) * 255)
    return maps_root, gt_root


def run_demo(
    out_dir: str | os.PathLike[str] | None = None,
    *,
    progress: bool = True,
    protocol: str = "mvtec-ad",
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """The ``demo`` command: write the synthetic set, then evaluate it.

    ``protocol="mvtec-ad"`` writes the set above and runs :func:`run_evaluate` on it (table,
    ``results.json``, plots); another protocol writes a small set in that benchmark's layout
    (:mod:`.demo_protocols`) and runs ``evaluate --protocol`` on it (table, ``results.json``).
    """
    out = stdout or sys.stdout
    root = (
        Path(out_dir)
        if out_dir is not None
        else Path(tempfile.mkdtemp(prefix="anomaly-metrics-demo-"))
    )
    t0 = time.perf_counter()
    if protocol != "mvtec-ad":
        return _run_protocol_demo(root, protocol, progress, t0, stdout, stderr)
    maps_dir, gt_dir = write_demo_dataset(root)
    print(
        f"demo: synthetic MVTec AD-layout set written to {root} "
        f"({time.perf_counter() - t0:.1f} s)\n"
        f"      anomaly-metrics evaluate --anomaly-maps {maps_dir} --ground-truth {gt_dir}\n",
        file=out,
    )
    return run_evaluate(
        maps_dir,
        gt_dir,
        output=root / "results.json",
        plots=root / "plots",
        progress=progress,
        stdout=stdout,
        stderr=stderr,
    )


def _run_protocol_demo(
    root: Path,
    protocol: str,
    progress: bool,
    t0: float,
    stdout: TextIO | None,
    stderr: TextIO | None,
) -> int:
    from .demo_protocols import DEMO_WRITERS
    from .protocol_output import run_protocol
    from .protocols import ProtocolOptions

    out = stdout or sys.stdout
    demo = DEMO_WRITERS[protocol](root, np.random.default_rng(0))
    flags = f" {demo.flags}" if demo.flags else ""
    print(
        f"demo: synthetic {protocol} set written to {root} ({time.perf_counter() - t0:.1f} s)\n"
        f"      anomaly-metrics evaluate --protocol {protocol} --anomaly-maps {demo.maps} "
        f"--ground-truth {demo.ground_truth}{flags}\n",
        file=out,
    )
    options = ProtocolOptions(progress=progress, **demo.options)
    return run_protocol(
        protocol,
        demo.maps,
        demo.ground_truth,
        options,
        output=root / "results.json",
        stdout=stdout,
        stderr=stderr,
    )
