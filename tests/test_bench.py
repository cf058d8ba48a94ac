"""The benchmark suite on a tiny set, so that it cannot rot.

Every entry that can run here is measured in this process (one cold call, one sample) and its value
is checked against our core function within the tolerance the peer is documented to have; then the
command line runs a few entries the real way (fresh subprocesses), writes JSON and markdown, and the
README section is regenerated between its markers.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # bench/ is a folder of the repository, not an installed package
    sys.path.insert(0, str(ROOT))

from bench import builders, data, entries, readme, report, runner, sort_merge  # noqa: E402
from bench.entries import ENTRIES, METRICS, by_id  # noqa: E402
from bench.worker import measure, warmup_subset  # noqa: E402

TINY = (12, 160, 160)  # 5 normal images: 128k normal pixels, enough for the 1e-5 AUPIMO bound

# Largest |peer - ours| each implementation may show on the tiny set, and why.
TOLERANCE = {
    "sklearn": 1e-12,  # exact, float64
    "numpy": 1e-12,  # exact definitions (np.quantile)
    "scipy": 1e-12,  # exact labelling / PRO
    "numpy-ref": 1e-12,  # same definition of AUPIMO
    "ours-torch": 1e-12,  # calls the core
    "ours-torch-ab": 1e-12,  # the same class, timed against the core in one process
    "ours-separate": 1e-12,  # the same functions one by one
    "sort-merge": 1e-12,  # exact: integer counts, float64 areas
    "mvtec-ref": 1e-6,  # float32 FPR in the official algorithm
    "torchmetrics": 1e-6,  # sigmoid applied in float32
    "anomalib": 1e-4,  # sigmoid, float32 accumulation, '>' instead of '>='
    "opencv": 0.0,
    "adeval": 0.05,  # binned (1000 strips); its AUPR is a trapezoid
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return data.prepare(*TINY, seed=0, cache_dir=tmp_path_factory.mktemp("bench-data"))


def test_generator_is_deterministic_and_mvtec_like() -> None:
    a = data.generate(*TINY, seed=3)
    b = data.generate(*TINY, seed=3)
    c = data.generate(*TINY, seed=4)
    assert np.array_equal(a.anomaly_maps, b.anomaly_maps) and np.array_equal(a.masks, b.masks)
    assert not np.array_equal(a.anomaly_maps, c.anomaly_maps)
    assert a.anomaly_maps.dtype == np.float32 and a.masks.dtype == np.bool_
    assert a.anomaly_maps.shape == a.masks.shape == TINY
    assert a.image_scores.shape == a.image_labels.shape == (TINY[0],)
    assert int((~a.image_labels).sum()) == round(0.4 * TINY[0])
    assert np.array_equal(a.image_labels, a.masks.reshape(TINY[0], -1).any(axis=1))


def test_generator_overlap_is_realistic() -> None:
    """Pixel AUROC and AU-PRO of the default set are in the ranges of real models."""
    import anomaly_metrics as am

    ds = data.generate(40, 256, 256, seed=0)
    assert 0.93 <= am.auroc(ds.anomaly_maps, ds.masks) <= 0.98
    if hasattr(am, "aupro"):
        assert 0.78 <= am.aupro(ds.anomaly_maps, ds.masks) <= 0.92
    assert 0.005 <= ds.masks.mean() <= 0.05
    assert 0.8 <= am.auroc(ds.image_scores, ds.image_labels) <= 1.0


@pytest.mark.parametrize("text", ["100x256", "0x4x4", "axbxc", "10x4x4"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="size must"):
        data.parse_size(text)


def test_registry_is_consistent() -> None:
    ids = [e.id for e in ENTRIES]
    assert len(ids) == len(set(ids))
    for metric in METRICS:
        kinds = [e.kind for e in ENTRIES if e.metric == metric]
        assert kinds.count("ours") == (0 if metric == "floor" else 1), metric
    assert by_id("floor:np.sort").kind == "floor"
    with pytest.raises(KeyError):
        by_id("nope:nothing")
    # one paired overhead entry for every metric with both a core function and a torch class
    both = {
        m for m in METRICS if {"ours", "ours-torch"} <= {e.kind for e in ENTRIES if e.metric == m}
    }
    overhead = [e for e in ENTRIES if e.kind == "overhead"]
    assert sorted(e.metric for e in overhead) == sorted(both)
    assert {e.impl for e in overhead} == {"ours-torch-ab"}
    assert set(report.PIXEL_TORCH_METRICS) <= both
    for e in overhead:  # it needs what the core entry and the torch entry need
        needs = set(by_id(f"{e.metric}:ours").needs) | set(by_id(f"{e.metric}:ours-torch").needs)
        assert set(e.needs) == needs, e.id


def test_paired_entry_alternates_order_and_records_ratio() -> None:
    """Core first on even calls, class first on odd; ratio = compute / core of the same call."""
    log: list[str] = []

    class FakeMetric:
        def update(self, batch: object) -> None:
            log.append("update")

        def compute(self) -> float:
            log.append("compute")
            return 0.25

    def core_build(ds: object):
        return lambda: log.append("core") or 0.5

    def torch_build(ds: object) -> None:  # only its .setup is used
        raise AssertionError

    torch_build.setup = lambda ds: (FakeMetric, [object(), object()])  # type: ignore[attr-defined]
    fn = builders.paired(core_build, torch_build)(None)
    orders = []
    for _ in range(4):
        log.clear()
        assert fn() == 0.25  # the class's value, not the core's
        orders.append(log.copy())
        ph = fn.phases
        assert set(ph) == {"core", "update", "compute", "ratio"}
        assert all(ph[k] > 0 for k in ("core", "update", "compute"))
        assert ph["ratio"] == ph["compute"] / ph["core"]
    core_first = ["core", "update", "update", "compute"]
    class_first = ["update", "update", "compute", "core"]
    assert orders == [core_first, class_first, core_first, class_first]


def _overhead_results(paired: tuple[str, ...]) -> dict:
    """A synthetic results file: pixel AUROC and AU-PRO with torch rows, an image A/B row."""
    ratios = {"pixel_auroc": 1.1, "aupro": 1.15, "image_auroc": 5.0}

    def run(entry: str, median_s: float, **kw: object) -> dict:
        return {"entry": entry, "status": "ok", "median_s": median_s, "value": 0.9, **kw}

    runs = [run("floor:np.sort", 1.0, value=None)]
    for m, r in ratios.items():
        runs += [
            run(f"{m}:ours", 0.5),
            # cross-process compute / ours: 1.8 for every metric (the noisy number)
            run(f"{m}:ours-torch", 1.0, phases_s={"update": 0.1, "compute": 0.9}),
        ]
        if m in paired or m.startswith("image"):
            ph = {"core": 0.5, "update": 0.1, "compute": 0.5 * r, "ratio": r}
            runs.append(run(f"{m}:ours-torch-ab", 1.1 + 0.5 * r, phases_s=ph, phases_n=6))
    return {
        "metrics": {k: {"level": v[0], "label": v[1]} for k, v in METRICS.items()},
        "entries": {
            e.id: {"metric": e.metric, "impl": e.impl, "kind": e.kind, "note": e.note}
            for e in ENTRIES
        },
        "sizes": [
            {
                "size": [10, 8, 8],
                "pixels": 640,
                "maps_bytes": 2560,
                "defect_fraction": 0.1,
                "normal_images": 4,
                "runs": runs,
            }
        ],
    }


def _torch_target(res: dict) -> list[str]:
    rows = report.compare(res["sizes"][0], res["entries"])
    return next(t for t in report._targets(rows) if t[0].startswith("torch class `compute`"))


def test_report_overhead_rows_table_and_target() -> None:
    res = _overhead_results(("pixel_auroc", "aupro"))
    rows = {r["entry"]: r for r in report.compare(res["sizes"][0], res["entries"])}
    ab = rows["pixel_auroc:ours-torch-ab"]
    assert ab["compute_x_core"] == 1.1 and ab["diff"] == 0.0
    assert "x_sort" not in ab and "x_ours" not in ab and "compute_x_ours" not in ab
    assert rows["pixel_auroc:ours-torch"]["compute_x_ours"] == pytest.approx(1.8)

    # the target takes the paired ratios (worst pixel metric), never the image-level one (5.0)
    what, measured, met = _torch_target(res)
    assert "aupro:ours-torch-ab" in what and "in-process paired" in what
    assert (measured, met) == ("1.15x", "yes")

    md = report.render(res)
    main, _, rest = md.partition("Torch adapter overhead (in-process, paired):")
    assert rest, md
    assert "| pixel AUROC | ours-torch |" in main
    assert "| ours-torch-ab |" not in main  # not in the speed table, no ratio to np.sort
    table = rest.split("Targets")[0]
    assert "| compute / core (paired) |" in table
    assert "| pixel AUROC | 500 | 550 | 1.10 | 100 | 6 | 0 | target <= 1.2 |" in table
    assert "| image AUROC |" in table and "not a target" in table

    # without paired rows the cross-process number is used, and the row says so
    what, measured, met = _torch_target(_overhead_results(()))
    assert "pixel_auroc:ours-torch" in what and "cross-process" in what
    assert (measured, met) == ("1.80x", "**no**")
    # mixed: per metric, paired where measured
    what, measured, _ = _torch_target(_overhead_results(("pixel_auroc",)))
    assert "1 paired in-process, 1 cross-process" in what and measured == "1.80x"
    # the README table lists the torch class, not the A/B entry
    section = readme.render_readme(res)
    assert "ours-torch 2.00x" in section and "ours-torch-ab" not in section


def test_every_available_entry_runs_and_agrees(tiny: Path) -> None:
    results = {}
    for e in ENTRIES:
        if runner.available(e) is not None:
            continue
        res = measure(e.id, tiny, repeats=0)  # the cold call only: the timing loop is tested below
        assert res["status"] == "ok", (e.id, res.get("reason"))
        assert res["cold_s"] > 0 and res["first_peak_bytes"] >= 0
        results[e.id] = res
    # the floors and the plain references always run
    for must in ("floor:np.sort", "floor:np.partition", "floor:np.max", "aupimo:numpy-ref"):
        assert must in results
    checked = 0
    for entry_id, res in results.items():
        e = by_id(entry_id)
        ours = results.get(f"{e.metric}:ours")
        if e.kind in ("ours", "floor") or ours is None:
            continue
        diff, where = report.value_diff(res["value"], ours["value"])
        assert diff is not None, entry_id
        assert diff <= TOLERANCE[e.impl], (entry_id, where, res["value"], ours["value"])
        checked += 1
    assert checked >= 10


def test_command_line_fresh_processes_json_markdown_readme(tiny: Path, tmp_path: Path) -> None:
    out, md = tmp_path / "r.json", tmp_path / "r.md"
    cmd = [
        sys.executable, "-m", "bench", "--size", "x".join(map(str, TINY)),
        "--data-dir", str(tiny.parent), "--metrics", "pixel_auroc,aupro,floor",
        "--impls", "ours,np.sort", "--repeats", "2",
        "--budget", "0.5", "--no-compile", "--out", str(out), "--markdown", str(md),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(out.read_text())
    runs = {r["entry"]: r for r in res["sizes"][0]["runs"]}
    assert set(runs) == {"pixel_auroc:ours", "aupro:ours", "floor:np.sort"}
    assert len({r["pid"] for r in runs.values()}) == len(runs)  # one fresh process each
    for r in runs.values():
        assert r["status"] == "ok", r
    assert runs["pixel_auroc:ours"]["median_s"] > 0 and runs["floor:np.sort"]["median_s"] > 0
    text = md.read_text()
    assert "| metric | implementation | median ms" in text and "x np.sort" in text
    assert proc.stdout == text

    path = tmp_path / "README.md"
    path.write_text(f"# title\n\nbefore\n{readme.README_START}\nold\n{readme.README_END}\nafter\n")
    rc = subprocess.run(
        [sys.executable, "-m", "bench", "--update-readme", str(out), "--readme", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rc.returncode == 0, rc.stderr
    new = path.read_text()
    assert new.startswith("# title\n\nbefore\n" + readme.README_START + "\n")
    assert new.endswith(readme.README_END + "\nafter\n") and "old" not in new
    assert "pixel AUROC" in new and "AU-PRO" in new and "x np.sort" in new
    assert "`np.sort` kernel:" in new and "get_num_threads()" in new
    path.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        readme.update_readme(res, path)


def test_quick_command_line_runs_overhead_entries(tiny: Path, tmp_path: Path) -> None:
    """``--quick`` (one shared process) with paired overhead entries, pixel- and image-level."""
    out, md = tmp_path / "q.json", tmp_path / "q.md"
    cmd = [
        sys.executable, "-m", "bench", "--quick", "--size", "x".join(map(str, TINY)),
        "--data-dir", str(tiny.parent), "--metrics", "pixel_auroc,image_auroc,floor",
        "--kinds", "ours,overhead,floor", "--budget", "0.5", "--out", str(out),
        "--markdown", str(md),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(out.read_text())
    assert res["options"]["shared_process"]
    runs = {r["entry"]: r for r in res["sizes"][0]["runs"]}
    assert set(runs) - {"floor:np.partition", "floor:np.max"} == {
        "pixel_auroc:ours",
        "pixel_auroc:ours-torch-ab",
        "image_auroc:ours",
        "image_auroc:ours-torch-ab",
        "floor:np.sort",
    }
    assert len({r["pid"] for r in runs.values()}) == 1
    for entry_id in ("pixel_auroc:ours-torch-ab", "image_auroc:ours-torch-ab"):
        r = runs[entry_id]
        assert r["status"] == "ok", r
        ph = r["phases_s"]
        assert set(ph) == {"core", "update", "compute", "ratio"}
        assert all(ph[k] > 0 for k in ph)
        assert r["phases_n"] >= len(r["times_s"]) * r["number"] >= 1
        ours = runs[entry_id.replace("ours-torch-ab", "ours")]
        assert r["value"] == pytest.approx(ours["value"], abs=1e-12)
    text = md.read_text()
    assert "Torch adapter overhead (in-process, paired):" in text
    assert "| pixel AUROC |" in text.split("Torch adapter overhead")[1]
    target = next(line for line in text.splitlines() if "torch class `compute`" in line)
    assert "pixel_auroc:ours-torch-ab" in target and "in-process paired" in target


def test_scaling_fits_an_exponent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "SCALING_METRICS", ["floor:np.max", "floor:np.sort"])
    sc = runner.run_scaling(
        sizes=[(2, 64, 64), (8, 64, 64)], repeats=1, budget=0.2, data_dir=tmp_path
    )
    assert {r["entry"] for r in sc["rows"]} == {"floor:np.max", "floor:np.sort"}
    assert set(sc["exponents"]) == {"floor:np.max", "floor:np.sort"}
    assert all(math.isfinite(k) for k in sc["exponents"].values())
    md = report.render({"sizes": [], "scaling": sc})
    assert "## Scaling" in md and "exponent" in md


def test_table_rows_become_the_entries() -> None:
    """One entry per row (image and pixel rows expanded), plus one paired entry per torch row."""
    rows = [entries.Row(*r) for r in entries.LEVEL_TABLE]
    ids = [r.metric.format(lv=lv) + ":" + r.impl for lv in ("image", "pixel") for r in rows]
    ids += [entries.Row(*r).metric + ":" + entries.Row(*r).impl for r in entries.TABLE]
    torch_rows = [i for i in ids if i.endswith(":ours-torch")]
    derived = [i.replace(":ours-torch", ":ours-torch-ab") for i in torch_rows]
    assert sorted(e.id for e in ENTRIES) == sorted(ids + derived)
    for row in entries.TABLE:
        r = entries.Row(*row)
        e = by_id(f"{r.metric}:{r.impl}")
        assert (e.kind, e.note, e.memory) == (r.kind, r.note, r.memory)
        assert set(r.requires) <= set(e.needs)
        if r.source.startswith("am:"):
            assert f"anomaly_metrics:{r.source[3:]}" in e.needs
    for m in report.SORT_MERGE_METRICS:
        assert by_id(f"{m}:sort-merge").kind == "peer"
    with pytest.raises(ValueError, match="unknown source"):
        entries._entry(entries.Row("aupro", "x", "peer", "nothing:here"))


def test_bench_sources_name_targets_not_issue_numbers() -> None:
    import re

    for path in sorted((ROOT / "bench").glob("*.py")):
        text = path.read_text()
        assert not re.search(r"(?i)\bissues? *#?\d", text), path.name
        assert len(text.splitlines()) < 600, path.name


def test_report_header_has_cpu_simd_and_thread_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.machine import machine_info

    monkeypatch.setenv("ANOMALY_METRICS_NUM_THREADS", "3")
    monkeypatch.setenv("ANOMALY_METRICS_SORT", "radix")
    m = machine_info()
    assert list(m)[:6] == ["cpu", "numpy", "threads", "sorts", "cpu_count", "loadavg"]
    assert m["sorts"] == {"float32": "radix", "packed": "radix", "env": "radix"}
    assert m["threads"] == {"library": 3, "env": "3"}
    assert m["numpy"]["version"] == np.__version__
    assert isinstance(m["numpy"]["sort_avx512"], bool) and m["numpy"]["found"] is not None
    lines = report.render({"machine": m, "sizes": []}).splitlines()
    assert lines[0].startswith("# anomaly-metrics benchmark")
    cpu, simd, threads, sorts, load = lines[2:7]
    assert cpu.startswith("- CPU: ") and f"`os.cpu_count()` {m['cpu_count']}" in cpu
    assert simd.startswith(f"- NumPy {np.__version__} SIMD: baseline ")
    assert " found " in simd and "not found" in simd and "AVX-512 sort dispatched: " in simd
    assert threads == (
        "- Threads: `anomaly_metrics.get_num_threads()` 3 (`ANOMALY_METRICS_NUM_THREADS` =3)"
    )
    assert sorts == (
        "- Sorts chosen by the library (timed in the report's process): float32 radix, "
        "packed radix (`ANOMALY_METRICS_SORT` =radix)"
    )
    assert load.startswith("- Load average at start: ")


@pytest.mark.parametrize("layout", data.LAYOUTS)
def test_sort_merge_equals_ours_on_every_layout(layout: str) -> None:
    import anomaly_metrics as am

    ds = data.generate(8, 32, 32, seed=1, layout=layout)
    maps, masks = ds.anomaly_maps, ds.masks
    for name in ("auroc", "aupr", "f1_max", "aupro"):
        ours, peer = getattr(am, name)(maps, masks), getattr(sort_merge, name)(maps, masks)
        assert abs(ours - peer) <= 1e-12, (name, ours, peer)
    assert sort_merge.f1_adaptive_threshold(maps, masks) == am.f1_adaptive_threshold(maps, masks)
    pos, neg = sort_merge.sorted_classes(maps, masks)
    assert np.array_equal(pos, np.sort(maps[masks])) and np.array_equal(neg, np.sort(maps[~masks]))


def test_sort_merge_sorts_large_float16_with_negatives() -> None:
    # NumPy 2.4's AVX-512 float16 sort mis-orders arrays of more than ~2M values with negatives
    # (seen on an AMD EPYC): the peer sorts float16 as float32, which is exact, and agrees with us
    import anomaly_metrics as am

    rng = np.random.default_rng(0)
    scores = (rng.standard_normal(5_000_000) * 3).astype(np.float16)  # halves over 2M
    labels = rng.random(scores.size) < 0.02
    scores[labels] += np.float16(2.0)
    pos, neg = sort_merge.sorted_classes(scores, labels)
    assert np.all(pos[1:] >= pos[:-1]) and np.all(neg[1:] >= neg[:-1])
    assert sort_merge.auroc(scores, labels) == am.auroc(scores, labels)


def test_layouts_change_values_as_documented() -> None:
    base = data.generate(10, 40, 40, seed=2)
    order = np.argsort(base.anomaly_maps, axis=None, kind="stable")
    for layout in data.LAYOUTS:
        ds = data.generate(10, 40, 40, seed=2, layout=layout)
        assert ds.anomaly_maps.shape == ds.masks.shape == base.anomaly_maps.shape
        assert np.array_equal(ds.image_labels, ds.masks.reshape(10, -1).any(axis=1))
        flat = ds.anomaly_maps.reshape(-1)[order].astype(np.float64)
        if layout != "outliers":  # ranks kept (up to the ties that rounding creates)
            assert np.all(np.diff(flat) >= 0), layout
        if layout != "half-defect":
            assert np.array_equal(ds.masks, base.masks), layout
    layouts = {name: data.generate(10, 40, 40, seed=2, layout=name) for name in data.LAYOUTS}
    assert layouts["float16"].anomaly_maps.dtype == np.float16
    assert layouts["uint8"].anomaly_maps.dtype == np.uint8
    assert np.unique(layouts["uint8"].anomaly_maps).size <= 256
    assert 0.49 <= layouts["half-defect"].masks.mean() <= 0.51
    assert np.count_nonzero(layouts["outliers"].anomaly_maps == np.float32(1e30)) >= 4
    wide = layouts["signed-wide"]
    assert min(wide.anomaly_maps.min(), wide.image_scores.min()) == -500.0
    assert max(wide.anomaly_maps.max(), wide.image_scores.max()) == 500.0
    heavy = layouts["heavy-tail"].anomaly_maps
    assert heavy.min() > 0 and heavy.max() / heavy.min() > 1e8
    with pytest.raises(ValueError, match="layout must be one of"):
        data.generate(4, 16, 16, layout="png")


def test_warmup_subset_is_a_tenth_with_both_classes() -> None:
    ds = data.generate(30, 16, 16, seed=0)
    sub = warmup_subset(ds, 0.1)
    assert sub.anomaly_maps.shape == (3, 16, 16)
    assert sub.image_labels.any() and not sub.image_labels.all()
    assert warmup_subset(ds, 0.01).anomaly_maps.shape[0] == 1


def test_layouts_command_line(tmp_path: Path) -> None:
    out, md = tmp_path / "l.json", tmp_path / "l.md"
    cmd = [
        sys.executable, "-m", "bench", "--layouts", "float16,outliers", "--quick",
        "--size", "6x32x32", "--data-dir", str(tmp_path / "data"), "--repeats", "1",
        "--budget", "0.2", "--out", str(out), "--markdown", str(md),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(out.read_text())
    assert next(iter(res)) == "machine"
    assert [x["layout"] for x in res["layouts"]] == ["float16", "outliers"]
    assert res["layouts"][0]["dtype"] == "float16"
    for info in res["layouts"]:
        runs = {r["entry"]: r for r in info["runs"]}
        assert list(runs) == runner.LAYOUT_ENTRIES
        assert all(r["status"] == "ok" for r in runs.values()), runs
        for m in ("pixel_auroc", "aupro"):
            assert runs[f"{m}:sort-merge"]["value"] == pytest.approx(
                runs[f"{m}:ours"]["value"], abs=1e-12
            )
    text = md.read_text()
    assert "## Value layouts (6 x 32 x 32)" in text and "### float16: float16" in text
    assert "| pixel_auroc:sort-merge |" in text.split("### outliers")[1]


def test_loco_channels_of_the_bench_masks_partition_each_mask() -> None:
    from bench import builders

    masks = np.zeros((3, 12, 12), bool)
    masks[1, 1:3, 1:3] = masks[1, 6:8, 6:8] = masks[1, 10:, :2] = True  # three regions
    masks[2, 4:9, 4:9] = True  # one region
    channels = builders.loco_channels_of(masks)
    assert channels[0] is None
    assert [len(c) for c in channels[1:]] == [2, 1]
    for c, m in zip(channels[1:], masks[1:]):
        assert np.array_equal(c.any(axis=0), m)  # together the channels are the mask
        assert c.sum(axis=0).max() == 1  # and they do not overlap
