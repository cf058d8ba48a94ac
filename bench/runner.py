"""Run the suite: every available entry, each in a fresh subprocess, on each size.

Also the Numba compile measurement (the cold call of every ``ours`` entry with an empty Numba
cache, once, on the first size), the scaling runs (time against the number of pixels, with the
fitted growth exponent) and the value-layout runs (ours and the sort-merge peer against ``np.sort``
on each layout of :data:`bench.data.LAYOUTS`).
"""

from __future__ import annotations

import datetime as _dt
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from . import data as _data
from .entries import ENTRIES, METRICS, Entry
from .machine import machine_info

__all__ = [
    "LAYOUT_ENTRIES",
    "SCALING_METRICS",
    "SCALING_SIZES",
    "available",
    "machine_info",
    "run_layouts",
    "run_suite",
]

_ROOT = Path(__file__).resolve().parent.parent  # the folder that holds the bench package

# ~1e6, 5e6, 2.3e7 and 1e8 pixels of 256 x 256 images
SCALING_SIZES = [(16, 256, 256), (76, 256, 256), (350, 256, 256), (1526, 256, 256)]
SCALING_METRICS = ["pixel_auroc:ours", "aupro:ours", "aupimo:ours", "floor:np.sort"]
# timed on every value layout
LAYOUT_ENTRIES = [
    "pixel_auroc:ours",
    "pixel_auroc:sort-merge",
    "aupro:ours",
    "aupro:sort-merge",
    "floor:np.sort",
]

_avail_cache: dict[str, str | None] = {}


def _check_need(need: str) -> str | None:
    """None when ``need`` (``"mod"`` or ``"mod:Name"``) is importable, else the reason."""
    if need in _avail_cache:
        return _avail_cache[need]
    module, _, name = need.partition(":")
    reason: str | None = None
    try:
        if importlib.util.find_spec(module.split(".")[0]) is None:
            reason = f"{module.split('.')[0]} is not installed"
        elif name:
            mod = importlib.import_module(module)
            if not hasattr(mod, name):
                reason = f"{module}.{name} does not exist (yet)"
    except Exception as exc:  # an installed but broken package
        reason = f"import of {module} failed: {type(exc).__name__}: {exc}"
    _avail_cache[need] = reason
    return reason


def available(entry: Entry) -> str | None:
    """None when the entry can run here, else why not."""
    for need in entry.needs:
        reason = _check_need(need)
        if reason:
            return reason
    return None


def _spawn(
    entries: list[Entry],
    folder: Path,
    *,
    repeats: int,
    budget: float,
    timeout: float,
    env_extra: dict[str, str] | None = None,
    warmup_fraction: float = 0.1,
) -> list[dict[str, Any]]:
    """Measure ``entries`` in one fresh worker process; one result per entry."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    env.setdefault("MALLOC_MMAP_THRESHOLD_", str(1 << 20))
    env.update(env_extra or {})
    with tempfile.TemporaryDirectory(prefix="am-bench-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "bench.worker", "--data", str(folder), "--out", str(out)]
        cmd += ["--repeats", str(repeats), "--budget", str(budget)]
        cmd += ["--warmup-fraction", str(warmup_fraction)]
        for e in entries:
            cmd += ["--entry", e.id]
        t0 = time.perf_counter()
        failure: str | None = None
        try:
            proc = subprocess.run(
                cmd,
                env=env,
                cwd=str(_ROOT),
                capture_output=True,
                text=True,
                timeout=timeout * len(entries),
            )
            if proc.returncode != 0:
                tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-3:]
                killed = proc.returncode < 0 or proc.returncode == 137
                failure = ("killed (out of memory?) " if killed else "") + (
                    f"exit {proc.returncode}: " + " | ".join(tail)[-400:]
                )
        except subprocess.TimeoutExpired:
            failure = f"timeout: over {timeout:.0f} s"
        wall = time.perf_counter() - t0
        done = json.loads(out.read_text()) if out.exists() else []
    results = []
    for i, e in enumerate(entries):
        if i < len(done):
            res = done[i]
        else:
            status = "timeout" if failure and failure.startswith("timeout") else "error"
            res = {"entry": e.id, "status": status, "reason": failure or "no result"}
        res["wall_s"] = wall / len(entries)
        results.append(res)
    return results


def _select(
    metrics: Iterable[str] | None, impls: Iterable[str] | None, kinds: Iterable[str] | None
) -> list[Entry]:
    ms = set(metrics) if metrics else None
    im = set(impls) if impls else None
    ks = set(kinds) if kinds else None
    if ms:
        unknown = ms - set(METRICS)
        if unknown:
            raise ValueError(f"unknown metrics {sorted(unknown)}; known: {', '.join(METRICS)}")
    out = []
    for e in ENTRIES:
        if e.id == "floor:np.sort":  # every ratio needs it
            out.append(e)
            continue
        if ms and e.metric not in ms:
            continue
        if im and e.impl not in im:
            continue
        if ks and e.kind not in ks:
            continue
        out.append(e)
    return out


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _describe(res: dict[str, Any]) -> str:
    if res.get("status") != "ok":
        return f"{res.get('status')}: {res.get('reason', '')}"[:120]
    if "median_s" in res:
        return f"{1e3 * res['median_s']:.3g} ms (cold {1e3 * res['cold_s']:.3g} ms)"
    return f"cold {1e3 * res['cold_s']:.3g} ms"


def run_suite(
    sizes: list[tuple[int, int, int]],
    *,
    metrics: Iterable[str] | None = None,
    impls: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    repeats: int = 5,
    budget: float = 20.0,
    timeout: float = 900.0,
    max_mem_gb: float = 8.0,
    compile_check: bool = True,
    scaling: bool = False,
    seed: int = 0,
    data_dir: Path | None = None,
    shared_process: bool = False,
    layout: str = "mvtec",
) -> dict[str, Any]:
    """Run the selected entries on every size; return the results (see :mod:`bench.report`).

    With ``shared_process`` (``--quick``) all entries of a size run one after the other in a single
    worker process, which saves the imports of every process but makes cold calls and memory
    peaks less meaningful.
    """
    entries = _select(metrics, impls, kinds)
    started = _dt.datetime.now().astimezone()
    results: dict[str, Any] = {
        "machine": machine_info(),  # first: what every timing depends on
        "schema": 2,
        "created": started.isoformat(timespec="seconds"),
        "options": {
            "sizes": [list(s) for s in sizes],
            "repeats": repeats,
            "budget_s": budget,
            "timeout_s": timeout,
            "max_mem_gb": max_mem_gb,
            "seed": seed,
            "generator_version": _data.GENERATOR_VERSION,
            "shared_process": shared_process,
            "layout": layout,
        },
        "metrics": {k: {"level": v[0], "label": v[1]} for k, v in METRICS.items()},
        "entries": {
            e.id: {"metric": e.metric, "impl": e.impl, "kind": e.kind, "note": e.note}
            for e in ENTRIES
        },
        "sizes": [],
    }
    for si, size in enumerate(sizes):
        n, h, w = size
        t0 = time.perf_counter()
        folder = _data.prepare(n, h, w, seed, data_dir, layout)
        size_info = _describe_set(folder, layout, t0)
        _log(f"== {n} x {h} x {w} ({n * h * w / 1e6:.1f}M pixels), data in {folder}")
        todo: list[tuple[int, Entry]] = []
        runs: list[dict[str, Any] | None] = [None] * len(entries)
        for i, e in enumerate(entries):
            reason = available(e)
            if reason is None and e.memory is not None:
                need = e.memory(n, h, w)
                if need > max_mem_gb * 2**30:
                    reason = f"needs ~{need / 2**30:.1f} GiB > --max-mem-gb {max_mem_gb:g}"
            if reason is not None:
                runs[i] = {"entry": e.id, "status": "skipped", "reason": reason}
                _log(f"[{i + 1}/{len(entries)}] {e.id}: skipped: {reason}")
            else:
                todo.append((i, e))
        if shared_process and todo:
            batch = _spawn(
                [e for _, e in todo], folder, repeats=repeats, budget=budget, timeout=timeout
            )
            for (i, e), res in zip(todo, batch):
                runs[i] = res
                _log(f"[{i + 1}/{len(entries)}] {e.id}: {_describe(res)}")
            todo = []
        for i, e in todo:
            res = _spawn([e], folder, repeats=repeats, budget=budget, timeout=timeout)[0]
            if compile_check and si == 0 and e.kind == "ours" and res.get("status") == "ok":
                with tempfile.TemporaryDirectory(prefix="am-numba-") as cache:
                    cold = _spawn(
                        [e],
                        folder,
                        repeats=0,
                        budget=budget,
                        timeout=timeout,
                        env_extra={"NUMBA_CACHE_DIR": cache},
                        warmup_fraction=0.0,
                    )[0]
                if cold.get("status") == "ok":
                    res["cold_nocache_s"] = cold["cold_s"]
            runs[i] = res
            _log(f"[{i + 1}/{len(entries)}] {e.id}: {_describe(res)}")
        size_info["runs"] = runs
        results["sizes"].append(size_info)
    if scaling:
        results["scaling"] = run_scaling(
            repeats=max(1, min(repeats, 3)), budget=budget, timeout=timeout, seed=seed,
            data_dir=data_dir,
        )  # fmt: skip
    results["finished"] = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    return results


def _describe_set(folder: Path, layout: str, t0: float) -> dict[str, Any]:
    ds = _data.load(folder)
    n, h, w = ds.shape
    return {
        "size": [n, h, w],
        "pixels": n * h * w,
        "layout": layout,
        "dtype": str(ds.anomaly_maps.dtype),
        "maps_bytes": int(ds.anomaly_maps.nbytes),
        "scores_bytes": int(ds.image_scores.nbytes),
        "defect_fraction": float(ds.masks.mean()),
        "normal_images": int((~ds.image_labels).sum()),
        "prepare_s": time.perf_counter() - t0,
        "runs": [],
    }


def run_layouts(
    size: tuple[int, int, int],
    layouts: Iterable[str] | None = None,
    *,
    repeats: int = 3,
    budget: float = 20.0,
    timeout: float = 900.0,
    seed: int = 0,
    data_dir: Path | None = None,
    shared_process: bool = False,
) -> list[dict[str, Any]]:
    """Time :data:`LAYOUT_ENTRIES` on each value layout of one size (each entry a fresh process,
    or one process per layout with ``shared_process``)."""
    out = []
    n, h, w = size
    for layout in layouts or _data.LAYOUTS:
        t0 = time.perf_counter()
        folder = _data.prepare(n, h, w, seed, data_dir, layout)
        info = _describe_set(folder, layout, t0)
        info["distinct_values"] = int(np.unique(_data.load(folder).anomaly_maps).size)
        _log(f"== layout {layout}: {n} x {h} x {w} {info['dtype']}")
        entries = [next(x for x in ENTRIES if x.id == i) for i in LAYOUT_ENTRIES]
        todo = [e for e in entries if available(e) is None]
        done: dict[str, dict[str, Any]] = {}
        if shared_process and todo:
            batch = _spawn(todo, folder, repeats=repeats, budget=budget, timeout=timeout)
            done = {r["entry"]: r for r in batch}
        for e in entries:
            if e.id in done:
                res = done[e.id]
            elif e in todo:
                res = _spawn([e], folder, repeats=repeats, budget=budget, timeout=timeout)[0]
            else:
                res = {"entry": e.id, "status": "skipped", "reason": available(e)}
            _log(f"  {e.id}: {_describe(res)}")
            info["runs"].append(res)
        out.append(info)
    return out


def run_scaling(
    *,
    sizes: list[tuple[int, int, int]] | None = None,
    repeats: int = 3,
    budget: float = 20.0,
    timeout: float = 900.0,
    seed: int = 0,
    data_dir: Path | None = None,
) -> dict[str, Any]:
    """Time :data:`SCALING_METRICS` over sizes from ~1e6 to ~1e8 pixels; fit time ~ pixels^k."""
    sizes = sizes or SCALING_SIZES
    rows = []
    for n, h, w in sizes:
        folder = _data.prepare(n, h, w, seed, data_dir)
        _log(f"== scaling {n} x {h} x {w} ({n * h * w / 1e6:.1f}M pixels)")
        for entry_id in SCALING_METRICS:
            e = next(x for x in ENTRIES if x.id == entry_id)
            reason = available(e)
            if reason is not None:
                res = {"entry": e.id, "status": "skipped", "reason": reason}
            else:
                res = _spawn([e], folder, repeats=repeats, budget=budget, timeout=timeout)[0]
            _log(f"  {entry_id}: {_describe(res)}")
            rows.append({"size": [n, h, w], "pixels": n * h * w, **res})
    exponents = {}
    for entry_id in SCALING_METRICS:
        pts = [
            (r["pixels"], r["median_s"]) for r in rows if r["entry"] == entry_id and "median_s" in r
        ]
        if len(pts) >= 2:
            x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
            exponents[entry_id] = float(np.polyfit(x, y, 1)[0])
    return {"sizes": [list(s) for s in sizes], "rows": rows, "exponents": exponents}
