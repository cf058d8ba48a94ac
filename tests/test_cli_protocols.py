"""``anomaly-metrics evaluate --protocol``: each benchmark's layout in, its official table out.

Every fixture writes a tiny synthetic set (16 x 16 images) in the benchmark's layout into
``tmp_path``; the expected numbers come from the core functions called directly on the arrays
the test wrote (saturation areas and sample ids from their definitions, written out here).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import anomaly_metrics as am
from anomaly_metrics.cli import main

S = 16


def _tiff(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, array)


def _png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _blob(rng: np.random.Generator, size: int = S) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    y, x = rng.integers(0, size - 5, 2)
    mask[y : y + rng.integers(2, 6), x : x + rng.integers(2, 6)] = True
    return mask


def _map(rng: np.random.Generator, mask: np.ndarray, dtype=np.float32) -> np.ndarray:
    return (rng.normal(size=mask.shape) + 1.5 * mask).astype(dtype)


def _run(tmp_path: Path, protocol: str, *extra: str, maps="maps", gt="gt", out="r.json"):
    args = ["evaluate", "--protocol", protocol, "--anomaly-maps", str(tmp_path / maps)]
    args += ["--ground-truth", str(tmp_path / gt), "--no-progress"]
    args += ["--output", str(tmp_path / out), *extra]
    code = main(args)
    return code, (
        json.loads((tmp_path / out).read_text()) if code == 0 and out.endswith(".json") else None
    )


def _close(got, want) -> None:
    if want is None or (isinstance(want, float) and math.isnan(want)):
        assert got is None
    else:
        assert got == want  # equal numbers, not approximately


# ------------------------------------------------------------------------------------------
# MVTec 3D-AD


def _write_mvtec(root: Path, cat: str, rng, n_good=3, n_bad=3, map_size=S, mask_size=S):
    maps, masks = [], []
    for defect, n in (("crack", n_bad), ("good", n_good)):  # sorted order of the keys
        for i in range(n):
            mask = _blob(rng, mask_size) if defect != "good" else np.zeros((mask_size,) * 2, bool)
            amap = _map(rng, np.zeros((map_size,) * 2, bool))
            if map_size == mask_size:
                amap = _map(rng, mask)
            _tiff(root / "maps" / cat / "test" / defect / f"{i:03d}.tiff", amap)
            if defect != "good":
                _png(
                    root / "gt" / cat / "ground_truth" / defect / f"{i:03d}_mask.png",
                    mask.astype(np.uint8) * 255,
                )
            maps.append(amap)
            masks.append(mask)
    return np.stack(maps), np.stack(masks)


def test_mvtec3d_equals_core(tmp_path, capsys):
    rng = np.random.default_rng(0)
    data = {c: _write_mvtec(tmp_path, c, rng) for c in ("a", "b")}
    code, doc = _run(tmp_path, "mvtec-3d")
    assert code == 0
    printed = capsys.readouterr().out
    assert "AUPRO@0.3" in printed and "AUPRO@0.01" in printed and "mean" in printed
    for c, (maps, masks) in data.items():
        row = doc["categories"][c]
        labels = masks.any(axis=(1, 2))
        _close(row["image_auroc"], am.auroc(maps.max(axis=(1, 2)), labels))
        _close(row["aupro_0.3"], am.aupro(maps, masks, fpr_limit=0.3))
        _close(row["aupro_0.01"], am.aupro(maps, masks, fpr_limit=0.01))
    assert doc["settings"]["protocol"] == "mvtec-3d"
    mean = doc["mean"]["aupro_0.01"]
    assert mean == (doc["categories"]["a"]["aupro_0.01"] + doc["categories"]["b"]["aupro_0.01"]) / 2


# ------------------------------------------------------------------------------------------
# MVTec LOCO AD

CONFIG = [
    {"defect_name": "missing", "pixel_value": 255, "saturation_threshold": 0.5,
     "relative_saturation": True},
    {"defect_name": "extra", "pixel_value": 200, "saturation_threshold": 3,
     "relative_saturation": False},
    {"defect_name": "speck", "pixel_value": 100, "saturation_threshold": 0.1,
     "relative_saturation": True},
]  # fmt: skip
_RULE = {e["pixel_value"]: e for e in CONFIG}


def _saturation(area: int, pixel_value: int) -> float:
    """The official rule, written out: floored fraction when relative, else capped at the area."""
    e = _RULE[pixel_value]
    s = e["saturation_threshold"]
    return float(int(s * area)) if e["relative_saturation"] else float(min(s, area))


@pytest.fixture
def loco(tmp_path):
    """One object: 3 good images, 2 logical and 2 structural ones; overlapping channels, a
    channel of two blobs, absolute, relative and floored-to-zero relative saturation."""
    rng = np.random.default_rng(3)
    obj = tmp_path / "gt" / "box"
    obj.mkdir(parents=True)
    (obj / "defects_config.json").write_text(json.dumps(CONFIG))
    images = []  # (subset, map, channels, ids)
    for i in range(3):
        amap = _map(rng, np.zeros((S, S), bool))
        _tiff(tmp_path / "maps" / "box" / "test" / "good" / f"{i:03d}.tiff", amap)
        images.append(("good", amap, None, []))
    for subset in ("logical_anomalies", "structural_anomalies"):
        for i in range(2):
            a = np.zeros((S, S), bool)
            a[2:8, 2:8] = True
            a[12:14, 12:15] = True  # a second blob of the same channel
            b = np.zeros((S, S), bool)
            b[5:10, 5:10] = True  # overlaps channel a
            c = np.zeros((S, S), bool)
            c[0, 10 + i : 13] = True  # 0.1 * 3 or 2 pixels floors to 0
            chans = [a, b, c][: 2 + i]
            ids = [255, 200, 100][: 2 + i]
            folder = obj / "ground_truth" / subset / f"{i:03d}"
            for k, (ch, pv) in enumerate(zip(chans, ids)):
                _png(folder / f"{k:03d}.png", (ch * pv).astype(np.uint8))
            union = np.any(chans, axis=0)
            amap = _map(rng, union)
            _tiff(tmp_path / "maps" / "box" / "test" / subset / f"{i:03d}.tiff", amap)
            images.append((subset, amap, np.stack(chans), ids))
    return tmp_path, images


def _loco_expected(images):
    out = {}
    for subset in ("logical_anomalies", "structural_anomalies"):
        keep = [im for im in images if im[0] in ("good", subset)]
        maps = [im[1] for im in keep]
        chans = [im[2] for im in keep]
        sat = [
            [] if im[2] is None else [_saturation(int(c.sum()), pv) for c, pv in zip(im[2], im[3])]
            for im in keep
        ]
        labels = [im[0] != "good" for im in keep]
        limits = am.auspro(maps, chans, saturation_areas=sat, fpr_limit=(0.01, 0.05, 0.1, 0.3, 1.0))
        row = {"image_auroc": am.auroc([m.max() for m in maps], labels)}
        row.update({f"auspro_{t:g}": v for t, v in zip((0.01, 0.05, 0.1, 0.3, 1.0), limits)})
        out[subset] = row
    out["mean"] = {
        k: 0.5 * (out["logical_anomalies"][k] + out["structural_anomalies"][k])
        for k in out["logical_anomalies"]
    }
    return out


def test_loco_equals_core(loco, capsys):
    root, images = loco
    code, doc = _run(root, "mvtec-loco")
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "box logical" in printed and "box structural" in printed and "box mean" in printed
    assert "AU-sPRO@0.05" in printed
    want = _loco_expected(images)
    got = doc["categories"]["box"]
    for subset, row in want.items():
        for k, v in row.items():
            _close(got[subset][k], v)
    assert got["logical_anomalies"]["num_images"] == 5
    assert got["mean"]["num_images"] == 7
    # the saturation areas are not simply the channel areas: the value differs without them
    unsaturated = am.auspro(
        [im[1] for im in images if im[0] != "structural_anomalies"],
        [im[2] for im in images if im[0] != "structural_anomalies"],
        fpr_limit=0.05,
    )
    assert unsaturated != got["logical_anomalies"]["auspro_0.05"]


def test_loco_csv_has_a_row_per_subset(loco):
    root, images = loco
    code, _ = _run(root, "mvtec-loco", out="r.csv")
    assert code == 0
    rows = list(csv.DictReader((root / "r.csv").read_text().splitlines()))
    assert [(r["category"], r["subset"]) for r in rows] == [
        ("box", "logical"),
        ("box", "structural"),
        ("box", "mean"),
        ("mean", "logical"),
        ("mean", "structural"),
        ("mean", "mean"),
    ]
    want = _loco_expected(images)
    assert float(rows[0]["auspro_0.05"]) == want["logical_anomalies"]["auspro_0.05"]


def test_loco_missing_defects_config(loco, capsys):
    root, _ = loco
    (root / "gt" / "box" / "defects_config.json").unlink()
    code, _ = _run(root, "mvtec-loco")
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "defects_config.json not found" in err[0]
    assert str(root / "gt" / "box" / "defects_config.json") in err[0]


def test_loco_defect_id_not_in_config(loco, capsys):
    root, _ = loco
    path = root / "gt" / "box" / "ground_truth" / "logical_anomalies" / "000" / "000.png"
    ch = np.asarray(Image.open(path)) > 0
    _png(path, (ch * 7).astype(np.uint8))
    code, _ = _run(root, "mvtec-loco")
    assert code == 1
    assert "is not a pixel_value of `defects_config`" in capsys.readouterr().err


def test_loco_channel_with_two_defect_ids(loco, capsys):
    root, _ = loco
    path = root / "gt" / "box" / "ground_truth" / "structural_anomalies" / "001" / "000.png"
    arr = np.asarray(Image.open(path)).copy()
    arr[0, 0] = 200
    _png(path, arr)
    code, _ = _run(root, "mvtec-loco")
    assert code == 1
    assert "must hold 0 and one positive defect id" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# MVTec AD 2


@pytest.fixture
def ad2(tmp_path):
    """float16 TIFF maps with heavy ties, 0/255 binarisations, normal validation maps."""
    rng = np.random.default_rng(4)
    maps, masks, pngs, val = [], [], [], []
    root = tmp_path / "maps" / "can"
    for folder, n in (("bad", 3), ("good", 3)):
        for i in range(n):
            mask = _blob(rng) if folder == "bad" else np.zeros((S, S), bool)
            amap = (np.round(_map(rng, mask) * 4) / 4).astype(np.float16)  # many ties
            _tiff(root / "test_public" / folder / f"{i:03d}_regular.tiff", amap)
            pred = (amap >= np.float16(1.0)).astype(np.uint8) * 255
            _png(tmp_path / "bin" / "can" / "test_public" / folder / f"{i:03d}_regular.png", pred)
            if folder == "bad":
                _png(
                    tmp_path / "gt" / "can" / "test_public" / "ground_truth" / "bad"
                    / f"{i:03d}_regular_mask.png",
                    mask.astype(np.uint8) * 255,
                )  # fmt: skip
            maps.append(amap)
            masks.append(mask)
            pngs.append(pred > 0)
    for i in range(4):
        amap = (np.round(_map(rng, np.zeros((S, S), bool)) * 4) / 4).astype(np.float16)
        _tiff(tmp_path / "val" / "can" / "validation" / "good" / f"{i:03d}_regular.tiff", amap)
        val.append(amap)
    return tmp_path, np.stack(maps), np.stack(masks), np.stack(pngs), np.stack(val)


@pytest.mark.parametrize(
    ("rule", "param", "expected"),
    [
        ("mean-std", None, lambda v: am.threshold_mean_std(v)),
        ("mean-std", "2", lambda v: am.threshold_mean_std(v, k=2)),
        ("percentile", "95", lambda v: am.threshold_percentile(v, q=95)),
        ("max-fpr", "0.05", lambda v: am.threshold_max_fpr(v, max_fpr=0.05)),
    ],
)
def test_ad2_threshold_rules_equal_core(ad2, capsys, rule, param, expected):
    root, maps, masks, _, val = ad2
    extra = ["--validation", str(root / "val"), "--threshold-rule", rule]
    extra += ["--threshold-param", param] if param else []
    code, doc = _run(root, "mvtec-ad2", *extra)
    assert code == 0, capsys.readouterr().err
    choice = expected(val)
    row = doc["categories"]["can"]
    assert row["segf1_threshold"] == choice.threshold
    _close(row["seg_f1"], am.seg_f1(maps, masks, choice.threshold))
    _close(row["aupro_0.05"], am.aupro(maps, masks, fpr_limit=0.05))
    _close(row["image_auroc"], am.auroc(maps.max(axis=(1, 2)), masks.any(axis=(1, 2))))
    assert choice.rule in row["segf1_source"]
    printed = capsys.readouterr().out
    assert f"SegF1 can: threshold {choice.threshold:.6g}, {choice.rule}" in printed
    assert doc["settings"]["threshold_rule"] == rule


def test_ad2_binarized_pngs_and_per_image_average(ad2, capsys):
    root, _, masks, pngs, _ = ad2
    code, doc = _run(
        root, "mvtec-ad2", "--binarized-maps", str(root / "bin"), "--segf1-average", "per_image"
    )
    assert code == 0, capsys.readouterr().err
    _close(doc["categories"]["can"]["seg_f1"], am.seg_f1(pngs, masks, average="per_image"))
    assert "binarised maps" in doc["settings"]["segf1"]
    code, doc = _run(root, "mvtec-ad2", "--binarized-maps", str(root / "bin"))
    _close(doc["categories"]["can"]["seg_f1"], am.seg_f1(pngs, masks))


def test_ad2_f1_max_rule_on_labelled_validation(ad2, capsys):
    root, maps, masks, _, val = ad2
    rng = np.random.default_rng(9)
    mask = _blob(rng)
    bad = (_map(rng, mask)).astype(np.float16)
    _tiff(root / "val" / "can" / "validation" / "bad" / "000_regular.tiff", bad)
    _png(
        root / "gt" / "can" / "validation" / "ground_truth" / "bad" / "000_regular_mask.png",
        mask.astype(np.uint8) * 255,
    )
    code, doc = _run(
        root, "mvtec-ad2", "--validation", str(root / "val"), "--threshold-rule", "f1-max"
    )
    assert code == 0, capsys.readouterr().err
    vmaps = np.concatenate([bad[None], val])  # "bad" sorts before "good"
    vmasks = np.concatenate([mask[None], np.zeros_like(val, bool)])
    choice = am.threshold_f1_max(vmaps, vmasks)
    assert doc["categories"]["can"]["segf1_threshold"] == choice.threshold
    _close(doc["categories"]["can"]["seg_f1"], am.seg_f1(maps, masks, choice.threshold))


def test_ad2_without_segf1_source_leaves_it_out(ad2, capsys):
    root = ad2[0]
    code, doc = _run(root, "mvtec-ad2")
    assert code == 0
    assert "seg_f1" not in doc["categories"]["can"]
    assert "SegF1 not computed" in capsys.readouterr().out


def test_ad2_float16_is_read_exactly(ad2):
    root, maps, _, _, _ = ad2
    back = tifffile.imread(root / "maps" / "can" / "test_public" / "bad" / "000_regular.tiff")
    assert back.dtype == np.float16 and np.array_equal(back, maps[0])


# ------------------------------------------------------------------------------------------
# VisA


@pytest.fixture
def visa(tmp_path):
    """VisA's split CSV; masks with one value per defect (1, 2), a train row to skip."""
    rng = np.random.default_rng(5)
    rows = ["object,split,label,image,mask"]
    maps, masks = [], []
    for label, folder, n in (("normal", "Normal", 3), ("anomaly", "Anomaly", 3)):
        for i in range(n):
            mask = np.zeros((S, S), np.uint8)
            rel = ""
            if label == "anomaly":
                mask[_blob(rng)] = 1
                mask[_blob(rng)] = 2
                rel = f"pcb/Data/Masks/Anomaly/{i:03d}.png"
                _png(tmp_path / "gt" / rel, mask)
            image = f"pcb/Data/Images/{folder}/{i:03d}.JPG"
            amap = _map(rng, mask > 0)
            _tiff(tmp_path / "maps" / Path(image).with_suffix(".tiff"), amap)
            rows.append(f"pcb,test,{label},{image},{rel}")
            maps.append(amap)
            masks.append(mask > 0)
    rows.append("pcb,train,normal,pcb/Data/Images/Normal/100.JPG,")
    (tmp_path / "gt" / "split_csv").mkdir(parents=True)
    (tmp_path / "gt" / "split_csv" / "1cls.csv").write_text("\n".join(rows) + "\n")
    return tmp_path, np.stack(maps), np.stack(masks)


def _visa_expected(maps, masks):
    return {
        "image_auroc": am.auroc(maps.max(axis=(1, 2)), masks.any(axis=(1, 2))),
        "pixel_auroc": am.auroc(maps, masks),
        "aupro_0.3": am.aupro(maps, masks),
    }


def test_visa_split_csv_equals_core(visa, capsys):
    root, maps, masks = visa
    code, doc = _run(root, "visa")
    assert code == 0, capsys.readouterr().err
    row = doc["categories"]["pcb"]
    assert row["num_images"] == 6 and row["num_anomalous"] == 3  # the train row is skipped
    for k, v in _visa_expected(maps, masks).items():  # masks with values 1, 2: non-zero
        _close(row[k], v)
    assert doc["settings"]["split_csv"].endswith("1cls.csv")


def test_visa_without_csv_reads_folders(tmp_path, capsys):
    rng = np.random.default_rng(6)
    maps, masks = _write_mvtec(tmp_path, "pcb", rng)
    code, doc = _run(tmp_path, "visa")
    assert code == 0, capsys.readouterr().err
    for k, v in _visa_expected(maps, masks).items():
        _close(doc["categories"]["pcb"][k], v)
    assert doc["settings"]["split_csv"] is None


# ------------------------------------------------------------------------------------------
# Real-IAD


@pytest.fixture
def realiad(tmp_path):
    """5 samples of 3 views each; a defective sample shows its defect in some views only."""
    rng = np.random.default_rng(7)
    items = []  # (key, sample, map, mask)
    for s in range(5):
        ok = s < 3
        folder = Path("OK") if ok else Path("NG") / "AK"
        sample = f"toy_{s:04d}_{'OK' if ok else 'NG_AK'}"
        for cam in (1, 2, 3):
            stem = f"{sample}_C{cam}_2023092{cam}1411{s:02d}"
            mask = np.zeros((S, S), bool)
            if not ok and cam < 3:
                mask = _blob(rng)
                _png(tmp_path / "gt" / "toy" / folder / f"S{s:04d}" / f"{stem}.png",
                     mask.astype(np.uint8) * 255)  # fmt: skip
            amap = _map(rng, mask)
            key = (folder / f"S{s:04d}" / stem).as_posix()
            _tiff(tmp_path / "maps" / "toy" / f"{key}.tiff", amap)
            items.append((key, sample, amap, mask))
    items.sort(key=lambda t: t[0])
    return tmp_path, items


def test_realiad_equals_core(realiad, capsys):
    root, items = realiad
    code, doc = _run(root, "real-iad")
    assert code == 0, capsys.readouterr().err
    maps = np.stack([t[2] for t in items])
    masks = np.stack([t[3] for t in items])
    labels = masks.any(axis=(1, 2))
    samples = [t[1] for t in items]
    scores = maps.max(axis=(1, 2))
    row = doc["categories"]["toy"]
    _close(row["sample_auroc"], am.auroc(scores, labels, groups=samples))
    _close(row["image_auroc"], am.auroc(scores, labels))
    _close(row["image_ap"], am.aupr(scores, labels))
    _close(row["pixel_auroc"], am.auroc(maps, masks))
    _close(row["pixel_ap"], am.aupr(maps, masks))
    _close(row["aupro_0.3"], am.aupro(maps, masks))
    assert row["num_samples"] == 5 and row["num_images"] == 15
    assert "samples: 5" in capsys.readouterr().out


def test_realiad_custom_group_pattern(realiad, capsys):
    root, items = realiad
    # group by camera instead: 3 "samples" of 5 views (a pattern of the user's choice)
    code, doc = _run(root, "real-iad", "--group-pattern", r"_(C\d+)_")
    assert code == 0, capsys.readouterr().err
    maps = np.stack([t[2] for t in items])
    labels = np.stack([t[3] for t in items]).any(axis=(1, 2))
    cams = [t[0].split("_")[-2] for t in items]
    _close(
        doc["categories"]["toy"]["sample_auroc"],
        am.auroc(maps.max(axis=(1, 2)), labels, groups=cams),
    )
    assert doc["categories"]["toy"]["num_samples"] == 3


def test_realiad_unmatched_group_pattern(realiad, capsys):
    root, _ = realiad
    code, _ = _run(root, "real-iad", "--group-pattern", r"_(X\d+)_")
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "15 map(s) do not match --group-pattern" in err[0]


@pytest.mark.parametrize(
    ("pattern", "fragment"), [("(", "not a valid regular expression"), ("C1", "needs a group")]
)
def test_realiad_bad_group_pattern(realiad, capsys, pattern, fragment):
    root, _ = realiad
    code, _ = _run(root, "real-iad", "--group-pattern", pattern)
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0]


# ------------------------------------------------------------------------------------------
# --resize-maps


def _bilinear(a: np.ndarray, H: int, W: int) -> np.ndarray:
    """Half-pixel-centre bilinear upsampling with clamped edges, written from the definition."""
    h, w = a.shape
    y = np.clip((np.arange(H) + 0.5) * h / H - 0.5, 0, h - 1)
    x = np.clip((np.arange(W) + 0.5) * w / W - 0.5, 0, w - 1)
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (y - y0)[:, None], (x - x0)[None]
    a = a.astype(np.float64)
    top = a[np.ix_(y0, x0)] * (1 - fx) + a[np.ix_(y0, x1)] * fx
    bottom = a[np.ix_(y1, x0)] * (1 - fx) + a[np.ix_(y1, x1)] * fx
    return top * (1 - fy) + bottom * fy


def _nearest(a: np.ndarray, H: int, W: int) -> np.ndarray:
    h, w = a.shape
    yi = [math.floor((i + 0.5) * h / H) for i in range(H)]
    xi = [math.floor((j + 0.5) * w / W) for j in range(W)]
    return a[np.ix_(yi, xi)]


@pytest.mark.parametrize(("h", "w", "H", "W"), [(8, 8, 16, 16), (5, 7, 13, 21), (3, 16, 16, 16)])
def test_resize_map_against_formulas_and_zoom(h, w, H, W):
    from scipy.ndimage import zoom

    from anomaly_metrics.cli.resize import resize_map

    a = np.random.default_rng(h * w).random((h, w)).astype(np.float32)
    bil = resize_map(a, (H, W), "bilinear")
    assert bil.dtype == np.float32 and bil.shape == (H, W)
    np.testing.assert_allclose(bil, _bilinear(a, H, W), rtol=0, atol=1e-6)
    near = resize_map(a, (H, W), "nearest")
    assert np.array_equal(near, _nearest(a, H, W))
    if (H % h, W % w) == (0, 0):  # integer factors: no rounding tie in zoom's nearest
        z = zoom(a, (H / h, W / w), order=0, mode="nearest", grid_mode=True)
        assert np.array_equal(near, z)


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    dh=st.integers(0, 12),
    dw=st.integers(0, 12),
    seed=st.integers(0, 2**16),
)
def test_resize_map_property(h, w, dh, dw, seed):
    """Any upsampling: bilinear is the half-pixel formula and stays within the input's range;
    nearest copies input values only."""
    from anomaly_metrics.cli.resize import resize_map

    a = np.random.default_rng(seed).normal(size=(h, w))
    bil = resize_map(a, (h + dh, w + dw), "bilinear")
    np.testing.assert_allclose(bil, _bilinear(a, h + dh, w + dw), rtol=0, atol=1e-12)
    assert a.min() - 1e-12 <= bil.min() and bil.max() <= a.max() + 1e-12
    near = resize_map(a, (h + dh, w + dw), "nearest")
    assert np.array_equal(near, _nearest(a, h + dh, w + dw))


def test_resize_map_only_upsamples():
    from anomaly_metrics.cli.resize import resize_map

    with pytest.raises(ValueError, match="only upsamples"):
        resize_map(np.zeros((8, 8)), (4, 16), "bilinear")
    with pytest.raises(ValueError, match="`method` must be one of"):
        resize_map(np.zeros((8, 8)), (16, 16), "cubic")


@pytest.mark.parametrize("method", ["nearest", "bilinear"])
def test_resize_maps_mvtec_ad(tmp_path, capsys, method):
    rng = np.random.default_rng(8)
    maps, masks = _write_mvtec(tmp_path, "cat", rng, map_size=8, mask_size=S)
    args = ["evaluate", "--anomaly-maps", str(tmp_path / "maps"), "--ground-truth"]
    args += [str(tmp_path / "gt"), "--no-progress", "--output", str(tmp_path / "r.json")]
    args += ["--metrics", "image_auroc", "pixel_auroc", "aupro"]
    assert main(args) == 1  # without --resize-maps: the size mismatch is an error
    err = capsys.readouterr().err
    assert "differs from its mask's (16, 16)" in err and "--resize-maps" in err
    assert main([*args, "--resize-maps", method]) == 0
    assert f"maps resized: {method}" in capsys.readouterr().out
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["settings"]["resize_maps"] == method
    if method == "bilinear":  # scipy's zoom (float32, as the CLI), itself checked above
        from scipy.ndimage import zoom

        big = np.stack([zoom(m, 2, order=1, mode="nearest", grid_mode=True) for m in maps])
        np.testing.assert_allclose(big, np.stack([_bilinear(m, S, S) for m in maps]), atol=1e-6)
    else:
        big = np.stack([_nearest(m, S, S) for m in maps])
    want = am.evaluate(big, masks, metrics=["image_auroc", "pixel_auroc", "aupro"])
    for k, v in want.items():
        _close(doc["categories"]["cat"][k], v)


def test_resize_maps_in_a_protocol(tmp_path, capsys):
    rng = np.random.default_rng(10)
    maps, masks = _write_mvtec(tmp_path, "cat", rng, map_size=8, mask_size=S)
    code, _ = _run(tmp_path, "mvtec-3d")
    assert code == 1
    code, doc = _run(tmp_path, "mvtec-3d", "--resize-maps", "nearest")
    assert code == 0
    big = np.stack([_nearest(m, S, S) for m in maps])
    _close(doc["categories"]["cat"]["aupro_0.01"], am.aupro(big, masks, fpr_limit=0.01))
    assert doc["settings"]["resize_maps"] == "nearest"
    assert "align_corners=False" in doc["settings"]["resize_maps_detail"]


# ------------------------------------------------------------------------------------------
# errors and usage


def test_unknown_protocol_is_one_line(tmp_path, capsys):
    code, _ = _run(tmp_path, "mvtec-4d")
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "unknown protocol 'mvtec-4d'" in err[0] and "mvtec-loco" in err[0]


@pytest.mark.parametrize(
    ("protocol", "extra", "fragment"),
    [
        ("visa", ("--threshold-rule", "mean-std"), "--threshold-rule applies to --protocol mvtec-ad2"),
        ("mvtec-3d", ("--fpr-limit", "0.1"), "--fpr-limit applies to --protocol mvtec-ad only"),
        ("mvtec-ad2", ("--threshold-rule", "mean-std"), "go together"),
        ("mvtec-ad2", ("--validation", "v", "--threshold-rule", "f1-max", "--threshold-param", "1"),
         "does not apply"),
        ("mvtec-ad2", ("--binarized-maps", "b", "--validation", "v", "--threshold-rule",
                       "mean-std"), "not both"),
        ("mvtec-ad", ("--group-pattern", "(x)"), "applies to --protocol real-iad"),
    ],
)  # fmt: skip
def test_options_that_do_not_go_with_the_protocol(tmp_path, capsys, protocol, extra, fragment):
    code, _ = _run(tmp_path, protocol, *extra)
    assert code == 2
    assert fragment in capsys.readouterr().err


def test_missing_folder(tmp_path, capsys):
    code, _ = _run(tmp_path, "visa")
    assert code == 1
    assert "anomaly-maps folder not found" in capsys.readouterr().err


@pytest.mark.parametrize("protocol", ["mvtec-3d", "mvtec-loco", "mvtec-ad2", "visa", "real-iad"])
def test_demo_per_protocol(tmp_path, capsys, protocol):
    assert main(["demo", "--protocol", protocol, "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"evaluate --protocol {protocol}" in out and "mean" in out
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["settings"]["protocol"] == protocol
    assert len(doc["categories"]) == 2 and not doc["problems"]


def test_ad2_f1_max_without_anomalous_validation_maps(ad2, capsys):
    root = ad2[0]
    code, _ = _run(
        root, "mvtec-ad2", "--validation", str(root / "val"), "--threshold-rule", "f1-max"
    )
    assert code == 1
    assert "needs normal and anomalous validation maps" in capsys.readouterr().err


def test_loco_resize_maps(loco, capsys):
    """Half-size LOCO maps, upsampled to the channels' size (good images too)."""
    root, images = loco
    small = []
    for subset, amap, chans, ids in images:
        folder = "good" if subset == "good" else subset
        i = sum(1 for s in small if s[0] == subset)
        low = amap[::2, ::2].copy()
        _tiff(root / "maps" / "box" / "test" / folder / f"{i:03d}.tiff", low)
        small.append((subset, low, chans, ids))
    code, _ = _run(root, "mvtec-loco")
    assert code == 1
    assert "--resize-maps" in capsys.readouterr().err
    code, doc = _run(root, "mvtec-loco", "--resize-maps", "nearest")
    assert code == 0, capsys.readouterr().err
    big = [(s, _nearest(m, S, S), c, i) for s, m, c, i in small]
    want = _loco_expected(big)
    for subset, row in want.items():
        for k, v in row.items():
            _close(doc["categories"]["box"][subset][k], v)


def test_skip_invalid_evaluates_the_rest(visa, capsys):
    root, maps, masks = visa
    bad = root / "maps" / "pcb" / "Data" / "Images" / "Normal" / "000.tiff"
    tifffile.imwrite(bad, np.full((S, S), np.nan, np.float32))
    code, _ = _run(root, "visa")
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "000.tiff: the map holds" in err[0] and "--skip-invalid" in err[0]
    code, doc = _run(root, "visa", "--skip-invalid")
    assert code == 0
    assert doc["problems"] and doc["categories"]["pcb"]["num_images"] == 5
    for k, v in _visa_expected(maps[1:], masks[1:]).items():
        _close(doc["categories"]["pcb"][k], v)
