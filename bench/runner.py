"""Run the suite: every available entry, each in a fresh subprocess, on each size.

Also the Numba compile measurement (the cold call of every ``ours`` entry with an empty Numba
cache, once, on the first size) and the scaling runs (time against the number of pixels, with the
fitted growth exponent).
"""

from __future__ import annotations

import datetime as _dt
import importlib
import importlib.metadata
import importlib.util
import json
import os
import platform
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

__all__ = ["SCALING_METRICS", "SCALING_SIZES", "available", "machine_info", "run_suite"]

_ROOT = Path(__file__).resolve().parent.parent  # the folder that holds the bench package

# ~1e6, 5e6, 2.3e7 and 1e8 pixels of 256 x 256 images
SCALING_SIZES = [(16, 256, 256), (76, 256, 256), (350, 256, 256), (1526, 256, 256)]
SCALING_METRICS = ["pixel_auroc:ours", "aupro:ours", "aupimo:ours", "floor:np.sort"]

_DISTRIBUTIONS = (
    "anomaly-metrics",
    "numpy",
    "numba",
    "scipy",
    "scikit-learn",
    "torch",
    "torchmetrics",
    "anomalib",
    "adeval",
    "opencv-python",
    "opencv-python-headless",
)

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


def machine_info() -> dict[str, Any]:
    """CPU, memory, load, Python and library versions (for the results file and the README)."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["memory_gib"] = round(int(f.readline().split()[1]) / 2**20, 1)
        info["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    versions = {}
    for dist in _DISTRIBUTIONS:  # from the installed metadata: no import needed
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    info["versions"] = versions
    return info


def _spawn(
    entries: list[Entry],
    folder: Path,
    *,
    repeats: int,
    budget: float,
    timeout: float,
    env_extra: dict[str, str] | None = None,
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
) -> dict[str, Any]:
    """Run the selected entries on every size; return the results (see :mod:`bench.report`).

    With ``shared_process`` (``--quick``) all entries of a size run one after the other in a single
    worker process, which saves the imports of every process but makes cold calls and memory
    peaks less meaningful.
    """
    entries = _select(metrics, impls, kinds)
    started = _dt.datetime.now().astimezone()
    results: dict[str, Any] = {
        "schema": 1,
        "created": started.isoformat(timespec="seconds"),
        "machine": machine_info(),
        "options": {
            "sizes": [list(s) for s in sizes],
            "repeats": repeats,
            "budget_s": budget,
            "timeout_s": timeout,
            "max_mem_gb": max_mem_gb,
            "seed": seed,
            "generator_version": _data.GENERATOR_VERSION,
            "shared_process": shared_process,
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
        folder = _data.prepare(n, h, w, seed, data_dir)
        ds = _data.load(folder)
        size_info: dict[str, Any] = {
            "size": [n, h, w],
            "pixels": n * h * w,
            "maps_bytes": int(ds.anomaly_maps.nbytes),
            "defect_fraction": float(ds.masks.mean()),
            "normal_images": int((~ds.image_labels).sum()),
            "prepare_s": time.perf_counter() - t0,
            "runs": [],
        }
        del ds
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
