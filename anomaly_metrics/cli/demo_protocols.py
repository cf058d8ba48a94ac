"""Small synthetic sets in each benchmark's layout, for ``anomaly-metrics demo --protocol NAME``.

Every writer puts ``anomaly_maps/`` and ``ground_truth/`` (and what else its protocol reads)
under a root folder and returns a :class:`DemoSet`: the folders and the options to evaluate it
with. Defects and maps come from :mod:`.demo` (blobs, scratches, spot clusters; a noisy
texture plus a partial, blurred response), at 128 x 128 pixels, so that each set is written and
evaluated in a few seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .demo import _SHAPES, _anomaly_map, _Category, _write_png, write_demo_dataset

__all__ = ["DEMO_WRITERS", "DemoSet"]

SIZE = 128
_CAT = _Category("demo", ("blob", "scratch", "spots"), 0, 0, (1.5, 4.0), 0.3, "tiff")


@dataclass
class DemoSet:
    """Where a demo set lies and the ``evaluate`` options that go with it."""

    maps: Path
    ground_truth: Path
    options: dict[str, Any] = field(default_factory=dict)  # ProtocolOptions fields
    flags: str = ""  # the same options on the command line


def _tiff(path: Path, array: NDArray[Any]) -> None:
    import tifffile

    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, array)


def _png(path: Path, array: NDArray[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_png(path, array)


def _defect(rng: np.random.Generator, k: int) -> NDArray[np.bool_]:
    return _SHAPES[_CAT.defects[k % len(_CAT.defects)]](rng, SIZE)


def write_mvtec3d(root: Path, rng: np.random.Generator) -> DemoSet:
    maps, gt = write_demo_dataset(root, size=SIZE, seed=int(rng.integers(1 << 31)))
    return DemoSet(maps, gt)


def write_loco(root: Path, rng: np.random.Generator) -> DemoSet:
    """Two objects; a defect channel may hold several blobs, channels overlap; both absolute
    and relative saturation thresholds."""
    maps, gt = root / "anomaly_maps", root / "ground_truth"
    config = [
        {"defect_name": "missing_part", "pixel_value": 255, "saturation_threshold": 0.5,
         "relative_saturation": True},
        {"defect_name": "extra_part", "pixel_value": 254, "saturation_threshold": 150,
         "relative_saturation": False},
        {"defect_name": "contamination", "pixel_value": 253, "saturation_threshold": 1.0,
         "relative_saturation": True},
    ]  # fmt: skip
    for obj in ("box", "bottle"):
        (gt / obj).mkdir(parents=True, exist_ok=True)
        (gt / obj / "defects_config.json").write_text(json.dumps(config, indent=1))
        for i in range(12):
            _tiff(maps / obj / "test" / "good" / f"{i:03d}.tiff", _anomaly_map(
                rng, np.zeros((SIZE, SIZE), bool), _CAT))  # fmt: skip
        for subset in ("logical_anomalies", "structural_anomalies"):
            for i in range(8):
                n_channels = 1 + i % 3
                union = np.zeros((SIZE, SIZE), bool)
                for c in range(n_channels):
                    mask = _defect(rng, i + c)
                    if c == 1:  # a channel of two blobs
                        mask |= _defect(rng, i + c + 1)
                    union |= mask
                    pixel_value = (255, 254, 253)[(i + c) % 3]
                    png = gt / obj / "ground_truth" / subset / f"{i:03d}" / f"{c:03d}.png"
                    _png(png, (mask * pixel_value).astype(np.uint8))
                _tiff(maps / obj / "test" / subset / f"{i:03d}.tiff", _anomaly_map(
                    rng, union, _CAT))  # fmt: skip
    return DemoSet(maps, gt)


def write_ad2(root: Path, rng: np.random.Generator) -> DemoSet:
    """float16 TIFF maps (MVTec AD 2's format), test_public and validation/good."""
    maps, gt = root / "anomaly_images", root / "ground_truth"
    for obj in ("can", "fabric"):
        for i in range(10):
            for split in ("test_public", "validation"):
                amap = _anomaly_map(rng, np.zeros((SIZE, SIZE), bool), _CAT)
                _tiff(
                    maps / obj / split / "good" / f"{i:03d}_regular.tiff", amap.astype(np.float16)
                )
        for i in range(10):
            mask = _defect(rng, i)
            amap = _anomaly_map(rng, mask, _CAT).astype(np.float16)
            _tiff(maps / obj / "test_public" / "bad" / f"{i:03d}_regular.tiff", amap)
            _png(
                gt / obj / "test_public" / "ground_truth" / "bad" / f"{i:03d}_regular_mask.png",
                mask.astype(np.uint8) * 255,
            )
    options = {"threshold_rule": "mean-std", "validation": maps}
    return DemoSet(maps, gt, options, f"--validation {maps} --threshold-rule mean-std")


def write_visa(root: Path, rng: np.random.Generator) -> DemoSet:
    """VisA's split CSV and raw folders; masks hold one value per defect (as VisA's)."""
    maps, gt = root / "anomaly_maps", root / "ground_truth"
    rows = ["object,split,label,image,mask"]
    for obj in ("candle", "pcb1"):
        for label, folder, n in (("normal", "Normal", 12), ("anomaly", "Anomaly", 8)):
            for i in range(n):
                image = f"{obj}/Data/Images/{folder}/{i:03d}.JPG"
                mask = np.zeros((SIZE, SIZE), np.uint8)
                mask_rel = ""
                if label == "anomaly":
                    for k in range(1 + i % 2):
                        mask[_defect(rng, i + k)] = k + 1
                    mask_rel = f"{obj}/Data/Masks/Anomaly/{i:03d}.png"
                    _png(gt / mask_rel, mask)
                _tiff(maps / Path(image).with_suffix(".tiff"), _anomaly_map(rng, mask > 0, _CAT))
                rows.append(f"{obj},test,{label},{image},{mask_rel}")
            rows.append(f"{obj},train,normal,{obj}/Data/Images/Normal/999.JPG,")
    (gt / "split_csv").mkdir(parents=True, exist_ok=True)
    (gt / "split_csv" / "1cls.csv").write_text("\n".join(rows) + "\n")
    return DemoSet(maps, gt)


def write_realiad(root: Path, rng: np.random.Generator) -> DemoSet:
    """5 views per sample; maps at half the mask size (evaluated with --resize-maps bilinear);
    a defective sample shows its defect in some views only."""
    maps, gt = root / "anomaly_maps", root / "ground_truth"
    for cat in ("audiojack", "toy"):
        for s in range(16):
            ok = s < 9
            folder = Path("OK") if ok else Path("NG") / "AK"
            sample = f"{cat}_{s:04d}_{'OK' if ok else 'NG_AK'}"
            for cam in range(1, 6):
                stem = f"{sample}_C{cam}_2023100{cam}1200{s:02d}"
                mask = np.zeros((SIZE, SIZE), bool)
                if not ok and cam <= 2 + s % 3:
                    mask = _defect(rng, s + cam)
                    _png(
                        gt / cat / folder / f"S{s:04d}" / f"{stem}.png", mask.astype(np.uint8) * 255
                    )
                amap = _anomaly_map(rng, mask, _CAT)[::2, ::2]
                _tiff(maps / cat / folder / f"S{s:04d}" / f"{stem}.tiff", amap)
    return DemoSet(maps, gt, {"resize": "bilinear"}, "--resize-maps bilinear")


#: ``demo --protocol`` -> the writer of its set (``mvtec-ad``: :func:`.demo.write_demo_dataset`).
DEMO_WRITERS = {
    "mvtec-3d": write_mvtec3d,
    "mvtec-loco": write_loco,
    "mvtec-ad2": write_ad2,
    "visa": write_visa,
    "real-iad": write_realiad,
}
