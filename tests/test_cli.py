"""The command line, end to end: real TIFF/PNG/NPY files in, JSON/CSV/table/plots out.

The CLI runs in-process (``main([...])``); the expected values come from the core functions
applied to arrays that the tests read themselves (tifffile / Pillow / NumPy directly).
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

import anomaly_metrics as am
from anomaly_metrics.cli import main

ALL = [
    "image_auroc",
    "image_aupr",
    "image_f1max",
    "pixel_auroc",
    "pixel_aupr",
    "pixel_f1max",
    "aupro",
    "aupimo",
    "pgn",
    "pbn",
]


# ------------------------------------------------------------------------------------------
# writing and reading a tiny MVTec AD-layout set


def _write_map(path: Path, amap: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".npy":
        np.save(path, amap)
    elif path.suffix in (".tif", ".tiff"):
        tifffile.imwrite(path, amap)
    else:  # 16-bit PNG
        Image.fromarray(amap.astype(np.uint16)).save(path)


def _write_mask(path: Path, mask: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(mask.astype(np.uint8) * 255).save(path)


def _make_category(root, name, *, n_good, defects, size, ext, seed):
    """Write one category; return its images in sorted order: (key, map, mask)."""
    rng = np.random.default_rng(seed)
    images = []
    for defect, count in (("good", n_good), *defects):
        for i in range(count):
            mask = np.zeros(size, bool)
            if defect != "good":
                y, x = rng.integers(0, size[0] - 6), rng.integers(0, size[1] - 6)
                mask[y : y + rng.integers(2, 7), x : x + rng.integers(2, 7)] = True
                if i % 2:
                    mask[0, 0] = True  # a second, one-pixel region
            amap = rng.normal(size=size) + 2.0 * mask
            if ext == ".png":
                amap = np.clip(np.round(amap * 1000 + 20000), 0, 65535)
            amap = amap.astype(np.float32)
            stem = f"{i:03d}"
            _write_map(root / "maps" / name / "test" / defect / f"{stem}{ext}", amap)
            if defect != "good":
                _write_mask(root / "gt" / name / "ground_truth" / defect / f"{stem}_mask.png", mask)
            images.append((f"{name}/test/{defect}/{stem}", amap, mask))
    return sorted(images, key=lambda t: t[0])


@pytest.fixture
def dataset(tmp_path):
    """Two categories: 'alpha' (float32 TIFF, big enough for AUPIMO) and 'beta' (16-bit PNG)."""
    alpha = _make_category(
        tmp_path,
        "alpha",
        n_good=8,
        defects=(("crack", 3), ("hole", 2)),
        size=(128, 128),
        ext=".tiff",
        seed=1,
    )
    beta = _make_category(
        tmp_path, "beta", n_good=3, defects=(("scratch", 4),), size=(20, 24), ext=".png", seed=2
    )
    return tmp_path, {"alpha": alpha, "beta": beta}


def _read_stack(root: Path, images):
    """Read the category back with the readers directly (independent of the CLI's loader)."""
    maps, masks = [], []
    for key, _, _ in images:
        cat, _, defect, stem = key.split("/")
        folder = root / "maps" / cat / "test" / defect
        (path,) = list(folder.glob(f"{stem}.*"))
        if path.suffix == ".tiff":
            maps.append(tifffile.imread(path))
        else:
            maps.append(np.asarray(Image.open(path)).astype(np.float32))
        gt = root / "gt" / cat / "ground_truth" / defect / f"{stem}_mask.png"
        masks.append(
            np.asarray(Image.open(gt)) > 0 if gt.exists() else np.zeros(maps[-1].shape, bool)
        )
    return np.stack(maps), np.stack(masks)


def _core(maps, masks, image_scores=None, fpr_limit=0.3):
    """Each metric from its own core function (nan where undefined or not computable)."""
    labels = masks.any(axis=(1, 2))
    scores = maps.max(axis=(1, 2)) if image_scores is None else image_scores
    table = {
        "image_auroc": lambda: am.auroc(scores, labels),
        "image_aupr": lambda: am.aupr(scores, labels),
        "image_f1max": lambda: am.f1_max(scores, labels),
        "pixel_auroc": lambda: am.auroc(maps, masks),
        "pixel_aupr": lambda: am.aupr(maps, masks),
        "pixel_f1max": lambda: am.f1_max(maps, masks),
        "aupro": lambda: am.aupro(maps, masks, fpr_limit=fpr_limit),
        "aupimo": lambda: am.aupimo(maps, masks).mean,
        "pgn": lambda: am.pgn(scores, labels),
        "pbn": lambda: am.pbn(scores, labels),
    }
    out = {}
    for name, fn in table.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out[name] = fn()
            except ValueError:
                out[name] = float("nan")
    return out


def _args(root: Path, *extra: str) -> list[str]:
    return [
        "evaluate",
        "--anomaly-maps",
        str(root / "maps"),
        "--ground-truth",
        str(root / "gt"),
        "--no-progress",
        *extra,
    ]


def _assert_matches(row: dict, want: dict, names=ALL) -> None:
    for name in names:
        got = row[name]
        if math.isnan(want[name]):
            assert got is None or (isinstance(got, float) and math.isnan(got)), name
        else:
            assert got == pytest.approx(want[name], rel=1e-12, abs=1e-12), name


# ------------------------------------------------------------------------------------------
# results


def test_mvtec_layout_json_equals_core_functions(dataset, capsys):
    root, cats = dataset
    out = root / "results.json"
    assert main(_args(root, "--output", str(out))) == 0
    doc = json.loads(out.read_text())
    assert list(doc["categories"]) == ["alpha", "beta"]
    for name, images in cats.items():
        maps, masks = _read_stack(root, images)
        row = doc["categories"][name]
        assert row["num_images"] == len(images)
        assert row["num_anomalous"] == int(masks.any(axis=(1, 2)).sum())
        _assert_matches(row, _core(maps, masks))
    assert doc["categories"]["alpha"]["aupimo"] is not None  # computable on 'alpha'
    assert doc["categories"]["beta"]["aupimo"] is None  # too few normal pixels: nan -> null
    for name in ALL:
        values = [doc["categories"][c][name] for c in cats]
        if None in values:
            assert doc["mean"][name] is None
        else:
            assert doc["mean"][name] == pytest.approx(sum(values) / 2, rel=1e-12)
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split()[:4] == ["category", "images", "anomalous", "I-AUROC"]
    assert [ln.split()[0] for ln in lines[2:4]] == ["alpha", "beta"]
    assert any(ln.startswith("mean") for ln in lines)
    widths = {len(ln) for ln in lines[:2]}
    assert len(widths) == 1  # header and rule aligned
    assert "warning: beta: aupimo:" in captured.err  # the nan is explained
    assert "Traceback" not in captured.err


def test_csv_output_matches_json(dataset):
    root, _ = dataset
    j, c = root / "r.json", root / "r.csv"
    assert main(_args(root, "--output", str(j), "--metrics", "image_auroc", "aupro")) == 0
    assert main(_args(root, "--output", str(c), "--metrics", "image_auroc", "aupro")) == 0
    doc = json.loads(j.read_text())
    rows = list(csv.DictReader(c.read_text().splitlines()))
    assert [r["category"] for r in rows] == ["alpha", "beta", "mean"]
    assert list(rows[0]) == ["category", "num_images", "num_anomalous", "image_auroc", "aupro"]
    for r in rows[:2]:
        for m in ("image_auroc", "aupro"):
            assert float(r[m]) == doc["categories"][r["category"]][m]
    assert float(rows[2]["aupro"]) == doc["mean"]["aupro"]
    assert set(doc["categories"]["alpha"]) == {
        "num_images",
        "num_anomalous",
        "image_auroc",
        "aupro",
    }


def test_fpr_limit_and_categories(dataset):
    root, cats = dataset
    out = root / "r.json"
    args = _args(root, "--categories", "alpha", "--fpr-limit", "0.1", "--output", str(out))
    assert main(args) == 0
    doc = json.loads(out.read_text())
    assert list(doc["categories"]) == ["alpha"]
    maps, masks = _read_stack(root, cats["alpha"])
    assert doc["categories"]["alpha"]["aupro"] == pytest.approx(
        am.aupro(maps, masks, fpr_limit=0.1), rel=1e-12
    )
    assert doc["settings"]["fpr_limit"] == 0.1


def test_single_category_folder(dataset):
    root, cats = dataset
    out = root / "r.json"
    args = [
        "evaluate",
        "--anomaly-maps",
        str(root / "maps" / "beta"),
        "--ground-truth",
        str(root / "gt" / "beta"),
        "--output",
        str(out),
        "--no-progress",
    ]
    assert main(args) == 0
    doc = json.loads(out.read_text())
    maps, masks = _read_stack(root, cats["beta"])
    _assert_matches(doc["categories"]["beta"], _core(maps, masks))


def test_flat_layout_matched_by_stem(tmp_path):
    rng = np.random.default_rng(7)
    maps, masks = [], []
    for i in range(6):
        mask = np.zeros((16, 16), bool)
        if i >= 2:
            mask[3:9, 4 + i : 8 + i] = True
        amap = (rng.normal(size=(16, 16)) + 1.5 * mask).astype(np.float64)
        ext = [".npy", ".tiff", ".tif"][i % 3]
        _write_map(tmp_path / "maps" / f"img{i}{ext}", amap)
        suffix = "_mask" if i % 2 else ""
        _write_mask(tmp_path / "gt" / f"img{i}{suffix}.png", mask)
        maps.append(amap)
        masks.append(mask)
    maps_arr, masks_arr = np.stack(maps), np.stack(masks)
    out = tmp_path / "r.json"
    assert main(_args(tmp_path, "--output", str(out))) == 0
    doc = json.loads(out.read_text())
    (row,) = doc["categories"].values()
    _assert_matches(row, _core(maps_arr, masks_arr))


def test_image_scores_csv(dataset):
    root, cats = dataset
    rng = np.random.default_rng(3)
    rows = ["name,score"]
    scores = {}
    for name, images in cats.items():
        for key, _, mask in images:
            scores[key] = float(rng.normal() + mask.any())
            shown = key + (".tiff" if name == "alpha" else "")  # extension optional
            rows.append(f"{shown},{scores[key]!r}")
    csv_path = root / "scores.csv"
    csv_path.write_text("\n".join(rows) + "\n")
    out = root / "r.json"
    assert main(_args(root, "--image-scores", str(csv_path), "--output", str(out))) == 0
    doc = json.loads(out.read_text())
    for name, images in cats.items():
        maps, masks = _read_stack(root, images)
        s = np.array([scores[k] for k, _, _ in images])
        _assert_matches(doc["categories"][name], _core(maps, masks, image_scores=s))


def test_plots_are_written_as_png(dataset, capsys):
    root, _ = dataset
    plots = root / "plots"
    assert main(_args(root, "--categories", "alpha", "--plots", str(plots))) == 0
    files = sorted(p.name for p in plots.iterdir())
    kinds = ["image_pr", "image_roc", "pimo", "pixel_pr", "pixel_roc", "pro", "score_histogram"]
    assert files == [f"alpha_{k}.png" for k in kinds]
    for f in plots.iterdir():
        with Image.open(f) as img:
            assert img.format == "PNG" and img.size[0] > 100
            pixels = np.asarray(img.convert("L"))
        assert pixels.min() < 100 < pixels.max()  # something is drawn
    assert "plots: 7 PNG files" in capsys.readouterr().out


def test_python_dash_m_runs_the_cli(dataset):
    root, _ = dataset
    out = root / "r.json"
    cmd = [sys.executable, "-m", "anomaly_metrics", *_args(root, "--metrics", "pixel_auroc")]
    proc = subprocess.run([*cmd, "--output", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "P-AUROC" in proc.stdout
    assert set(json.loads(out.read_text())["categories"]) == {"alpha", "beta"}


def test_demo_runs_end_to_end(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "mean" in out and "AUPIMO" in out
    doc = json.loads((tmp_path / "results.json").read_text())
    assert len(doc["categories"]) == 2
    for row in doc["categories"].values():
        assert all(isinstance(row[m], float) and 0 <= row[m] <= 1 for m in ALL), row
    assert len(list((tmp_path / "plots").glob("*.png"))) == 14
    assert (tmp_path / "anomaly_maps").is_dir() and (tmp_path / "ground_truth").is_dir()


# ------------------------------------------------------------------------------------------
# bad input: exit status 1, one line per problem naming the file, no traceback


@pytest.fixture
def small(tmp_path):
    """One small category: 2 good images, 2 defective ones (16 x 16, TIFF maps)."""
    _make_category(
        tmp_path, "cat", n_good=2, defects=(("cut", 2),), size=(16, 16), ext=".tiff", seed=5
    )
    return tmp_path


def _fails_with(root: Path, capsys, *fragments: str, extra=(), code=1) -> str:
    assert main(_args(root, *extra)) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    return err


def _test_dir(root: Path, defect: str) -> Path:
    return root / "maps" / "cat" / "test" / defect


def _gt_dir(root: Path) -> Path:
    return root / "gt" / "cat" / "ground_truth" / "cut"


def test_map_without_ground_truth(small, capsys):
    (_gt_dir(small) / "001_mask.png").unlink()
    err = _fails_with(small, capsys, "001.tiff: no ground-truth mask", "nothing was evaluated")
    assert err.count("error:") == 2  # the problem, then the summary


def test_ground_truth_without_map(small, capsys):
    (_test_dir(small, "cut") / "000.tiff").unlink()
    _fails_with(small, capsys, "000_mask.png: ground-truth mask without an anomaly map")


def test_shape_mismatch_between_map_and_mask(small, capsys):
    tifffile.imwrite(_test_dir(small, "cut") / "001.tiff", np.zeros((16, 17), np.float32))
    _fails_with(small, capsys, "001.tiff: shape (16, 17) differs from its mask's (16, 16)")


def test_shape_mismatch_within_category(small, capsys):
    tifffile.imwrite(_test_dir(small, "good") / "001.tiff", np.zeros((8, 8), np.float32))
    _fails_with(small, capsys, "good/001.tiff: shape (8, 8) differs from the category's other maps")


def test_unreadable_file(small, capsys):
    (_test_dir(small, "good") / "000.tiff").write_bytes(b"this is not a tiff")
    _fails_with(small, capsys, "000.tiff: cannot read the TIFF file")


def test_corrupt_png_mask(small, capsys):
    (_gt_dir(small) / "000_mask.png").write_bytes(b"\x89PNG garbage")
    _fails_with(small, capsys, "000_mask.png: cannot read the PNG file")


def test_non_image_file(small, capsys):
    (_test_dir(small, "cut") / "notes.txt").write_text("hello")
    _fails_with(
        small, capsys, "notes.txt: not an anomaly map (expected a .tiff/.tif/.png/.npy file)"
    )


@pytest.mark.parametrize(
    ("value", "fragment"), [(np.nan, "1 NaN and 0 infinite"), (np.inf, "0 NaN and 1 infinite")]
)
def test_non_finite_map(small, capsys, value, fragment):
    amap = np.zeros((16, 16), np.float32)
    amap[3, 4] = value
    tifffile.imwrite(_test_dir(small, "cut") / "000.tiff", amap)
    _fails_with(small, capsys, f"000.tiff: the map holds {fragment} value(s)")


def test_mask_values_not_binary(small, capsys):
    mask = np.zeros((16, 16), np.uint8)
    mask[2:4, 2:4] = 128
    mask[5, 5] = 255
    Image.fromarray(mask).save(_gt_dir(small) / "001_mask.png")
    _fails_with(
        small, capsys, "001_mask.png: mask values must be 0/255 or 0/1, got values [0, 128, 255]"
    )


def test_mask_with_0_1_values_is_fine(small):
    mask = np.zeros((16, 16), np.uint8)
    mask[2:4, 2:4] = 1
    Image.fromarray(mask).save(_gt_dir(small) / "001_mask.png")
    assert main(_args(small, "--metrics", "pixel_auroc")) == 0


def test_empty_category(small, capsys):
    (small / "maps" / "void" / "test" / "good").mkdir(parents=True)
    _fails_with(small, capsys, "void: empty category: no anomaly maps found")


def test_unknown_category(small, capsys):
    _fails_with(small, capsys, "nope: category not found", extra=("--categories", "nope"))


def test_missing_folders(tmp_path, capsys):
    (tmp_path / "gt").mkdir()
    _fails_with(tmp_path, capsys, "maps: anomaly-maps folder not found")
    (tmp_path / "maps").mkdir()
    _fails_with(tmp_path, capsys, "maps: no anomaly maps found")


def test_every_problem_is_reported_in_one_run(small, capsys):
    (_gt_dir(small) / "001_mask.png").unlink()
    (_test_dir(small, "good") / "000.tiff").write_bytes(b"junk")
    err = _fails_with(small, capsys, "001.tiff: no ground-truth mask", "000.tiff: cannot read")
    assert "2 problem(s)" in err


def test_bad_image_scores_file(small, capsys):
    path = small / "scores.csv"
    path.write_text("name,score\ncat/test/good/000,0.5\ncat/test/good/001,abc\n")
    _fails_with(
        small,
        capsys,
        "scores.csv:3: score 'abc' is not a number",
        extra=("--image-scores", str(path)),
    )


def test_image_score_missing_for_a_map(small, capsys):
    path = small / "scores.csv"
    path.write_text("cat/test/good/000,0.5\n")
    _fails_with(
        small,
        capsys,
        "001.tiff: no image score for 'cat/test/good/001'",
        extra=("--image-scores", str(path)),
    )


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (("--fpr-limit", "0"), "--fpr-limit: must be in (0, 1]"),
        (("--fpr-limit", "x"), "--fpr-limit: must be a number"),
        (("--output", "r.txt"), "--output: must end in .json or .csv"),
        (("--metrics", "auroc"), "invalid choice: 'auroc'"),
        (("--workers", "0"), "--workers: must be a positive integer"),
    ],
)
def test_usage_errors_exit_2(small, capsys, extra, fragment):
    _fails_with(small, capsys, fragment, extra=extra, code=2)


def test_unwritable_output(small, capsys):
    target = small / "file"
    target.write_text("")
    _fails_with(
        small, capsys, "cannot write the results", extra=("--output", str(target / "r.json"))
    )


def test_skip_invalid_reports_and_evaluates_the_rest(small, capsys):
    amap = np.zeros((16, 16), np.float32)
    amap[0, 0] = np.nan
    tifffile.imwrite(_test_dir(small, "good") / "001.tiff", amap)
    (_gt_dir(small) / "001_mask.png").unlink()
    out = small / "r.json"
    assert main(_args(small, "--skip-invalid", "--output", str(out), "--metrics", *ALL[:7])) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "good/001.tiff: the map holds 1 NaN" in err and "(skipped)" in err
    assert "cut/001.tiff: no ground-truth mask" in err
    doc = json.loads(out.read_text())
    assert len(doc["problems"]) == 2
    # the remaining images: good/000 and cut/000
    keep = [("good", "000"), ("cut", "000")]
    maps = np.stack([tifffile.imread(_test_dir(small, d) / f"{s}.tiff") for d, s in keep])
    masks = np.stack(
        [np.zeros((16, 16), bool), np.asarray(Image.open(_gt_dir(small) / "000_mask.png")) > 0]
    )
    # sorted by key: cut/000 before good/000
    maps, masks = maps[::-1], masks[::-1]
    row = doc["categories"]["cat"]
    assert row["num_images"] == 2
    _assert_matches(row, _core(maps, masks), names=ALL[:7])


def test_skip_invalid_with_nothing_left(small, capsys):
    for f in _test_dir(small, "good").iterdir():
        f.write_bytes(b"junk")
    for f in _test_dir(small, "cut").iterdir():
        f.write_bytes(b"junk")
    _fails_with(
        small, capsys, "(skipped)", "no category could be evaluated", extra=("--skip-invalid",)
    )


def test_per_image_output_feeds_compare(dataset, capsys):
    root, cats = dataset
    out_a, out_b = root / "model_a.json", root / "model_b.json"
    assert main(_args(root, "--categories", "alpha", "--per-image", "--output", str(out_a))) == 0
    doc = json.loads(out_a.read_text())
    per_image = doc["categories"]["alpha"]["per_image"]["aupimo"]
    maps, masks = _read_stack(root, cats["alpha"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = am.aupimo(maps, masks).per_image
    assert len(per_image) == len(want)
    got = [math.nan if v is None else v for v in per_image.values()]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)  # nan (normal images) where nan
    # a second "model": the same results file, so the paired test finds no difference
    out_b.write_text(out_a.read_text())
    capsys.readouterr()
    assert main(["compare", str(out_a), str(out_b), "--names", "a", "b"]) == 0
    assert "Groups that cannot be told apart" in capsys.readouterr().out


def test_per_image_needs_json_output(dataset, capsys):
    root, _ = dataset
    assert main(_args(root, "--per-image", "--output", str(root / "r.csv"))) == 2
    assert "--per-image needs a JSON --output" in capsys.readouterr().err
