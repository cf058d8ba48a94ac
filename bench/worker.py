"""Measure one benchmark entry on one cached set, in this (fresh) process.

Run by the suite as ``python -m bench.worker --entry METRIC:IMPL --data FOLDER --out FILE``; the
result is written as JSON to ``FILE``. Steps: import what the entry needs (timed), load the set,
one *warm-up* call on at most a tenth of the images (``--warmup-fraction``; both classes kept: in a
fresh process it loads Numba's on-disk cache, or compiles when the cache is empty, and imports what
the call imports), build the callable on the full set, the *first* full-size call (``cold_s``; its
peak memory is ``first_peak_bytes``, what a user's first call costs), then ``repeats`` timed
samples (their largest peak is ``peak_bytes``). With ``--warmup-fraction 0`` the first full-size
call is the cold call itself. A sample is one call, or
several calls of a very fast function averaged (at least ``--min-sample`` seconds in all). Entries
with phases (torch classes: update / compute; paired entries: core / compute / ratio) report the
median of each phase over every timed call in ``phases_s`` (``phases_n`` calls). The peak
resident memory of each sample is measured above the memory in use just before it (Linux: the
kernel's high-water mark is reset through ``/proc/self/clear_refs``). The suite starts workers with
``MALLOC_MMAP_THRESHOLD_`` fixed at 1 MiB, so that every array of a megabyte or more is returned to
the system when freed and a later sample cannot reuse memory that an earlier one left resident.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import statistics
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

__all__ = ["measure"]


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class _Peak:
    """Peak resident memory of a block, above the resident memory when the block started."""

    def __init__(self) -> None:
        self.exact = _reset_peak() and _status_kb("VmHWM") is not None

    def __enter__(self) -> _Peak:
        if self.exact:
            _reset_peak()
            self._start = _status_kb("VmRSS") or 0
        else:
            import resource

            self._start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return self

    def __exit__(self, *exc: object) -> None:
        if self.exact:
            self.bytes = max(0, (_status_kb("VmHWM") or 0) - self._start) * 1024
        else:
            import resource

            now = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.bytes = max(0, now - self._start) * 1024


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, bool, int)):
        return value
    try:
        f = float(value)
    except (TypeError, ValueError):
        return repr(value)
    return f if math.isfinite(f) else repr(f)


def _versions(needs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for need in needs:
        top = need.split(":")[0].split(".")[0]
        mod = sys.modules.get(top)
        if mod is not None:
            out[top] = str(getattr(mod, "__version__", "?"))
    return out


def warmup_subset(ds: Any, fraction: float) -> Any:
    """At most ``fraction`` of the images (at least one), normal and anomalous ones alternating."""
    from .data import Dataset

    n = ds.anomaly_maps.shape[0]
    k = max(1, int(fraction * n))
    normal = [int(i) for i in (~ds.image_labels).nonzero()[0]]
    anomalous = [int(i) for i in ds.image_labels.nonzero()[0]]
    picked: list[int] = []
    while len(picked) < k and (normal or anomalous):
        for group in (anomalous, normal):
            if group and len(picked) < k:
                picked.append(group.pop(0))
    idx = sorted(picked)
    return Dataset(ds.anomaly_maps[idx], ds.masks[idx], ds.image_scores[idx], ds.image_labels[idx])


def measure(
    entry_id: str,
    data_dir: str | Path,
    *,
    repeats: int = 5,
    budget_s: float = 20.0,
    min_sample_s: float = 0.05,
    warmup_fraction: float = 0.1,
) -> dict[str, Any]:
    """Measure ``entry_id`` on the set cached in ``data_dir``; return a JSON-able dict."""
    from .data import load
    from .entries import by_id

    entry = by_id(entry_id)
    result: dict[str, Any] = {"entry": entry.id, "status": "ok"}
    t0 = time.perf_counter()
    try:
        for need in entry.needs:
            module, _, name = need.partition(":")
            mod = importlib.import_module(module)
            if name:
                getattr(mod, name)
    except (ImportError, AttributeError) as exc:
        return {**result, "status": "skipped", "reason": f"not available: {exc}"}
    result["import_s"] = time.perf_counter() - t0
    result["versions"] = _versions(entry.needs)

    ds = load(Path(data_dir))
    result["input_bytes"] = int(ds.anomaly_maps.nbytes + ds.masks.nbytes)
    result["maps_bytes"] = int(ds.anomaly_maps.nbytes)
    result["scores_bytes"] = int(ds.image_scores.nbytes)
    if warmup_fraction > 0 and ds.anomaly_maps.shape[0] >= 2:
        sub = warmup_subset(ds, warmup_fraction)
        result["warmup_images"] = int(sub.anomaly_maps.shape[0])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                entry.build(sub)()
                result["warmup_s"] = time.perf_counter() - t0
        except (ImportError, AttributeError) as exc:
            return {**result, "status": "skipped", "reason": f"not available: {exc}"}
        except Exception as exc:  # e.g. a bound the small set cannot reach: the first call warms up
            result["warmup_error"] = traceback.format_exception_only(type(exc), exc)[-1].strip()[
                :200
            ]
        del sub
    try:
        t0 = time.perf_counter()
        fn = entry.build(ds)
        result["build_s"] = time.perf_counter() - t0
    except (ImportError, AttributeError) as exc:
        return {**result, "status": "skipped", "reason": f"not available: {exc}"}

    peak = _Peak()
    result["peak_method"] = "VmHWM" if peak.exact else "ru_maxrss"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with peak:
                t0 = time.perf_counter()
                value = fn()
                result["cold_s"] = time.perf_counter() - t0
        result["first_peak_bytes"] = peak.bytes
        result["value"] = _jsonable(value)
        msgs = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
        if msgs:
            result["warnings"] = [m[:300] for m in msgs[:3]]
        if repeats <= 0:
            return result
        # how many calls per sample, and how many samples fit in the budget
        estimate = result["cold_s"]
        if estimate < 1.0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                fn()
                estimate = time.perf_counter() - t0
        number = (
            1
            if estimate >= min_sample_s
            else min(10_000, math.ceil(min_sample_s / max(estimate, 1e-7)))
        )
        n_samples = max(1, min(repeats, int(budget_s / max(estimate * number, 1e-9))))
        times, peaks, phases = [], [], []
        # a phased callable puts a new dict in ``.phases`` at every call: keep every call's, so
        # that a paired entry's alternating order is not aliased by ``number`` calls per sample
        phased = hasattr(fn, "phases")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(n_samples):
                with peak:
                    t0 = time.perf_counter()
                    for _ in range(number):
                        fn()
                        if phased:
                            phases.append(fn.phases)
                    times.append((time.perf_counter() - t0) / number)
                peaks.append(peak.bytes)
    except MemoryError:
        return {**result, "status": "error", "reason": "MemoryError"}
    except Exception as exc:  # a failing implementation is a result, not a crash of the suite
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return {**result, "status": "error", "reason": tb[:500]}
    result.update(
        times_s=times,
        median_s=statistics.median(times),
        min_s=min(times),
        max_s=max(times),
        number=number,
        peak_bytes=max(peaks),
    )
    if phases:  # the median of each phase over every timed call (a ratio: of paired ratios)
        result["phases_s"] = {k: statistics.median(p[k] for p in phases) for k in phases[0]}
        result["phases_n"] = len(phases)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.worker", description=__doc__)
    p.add_argument("--entry", action="append", required=True, help="repeatable")
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--budget", type=float, default=20.0)
    p.add_argument("--min-sample", type=float, default=0.05)
    p.add_argument("--warmup-fraction", type=float, default=0.1)
    a = p.parse_args(argv)
    results = []
    for entry_id in a.entry:  # several entries share this process only in --quick runs
        res = measure(
            entry_id,
            a.data,
            repeats=a.repeats,
            budget_s=a.budget,
            min_sample_s=a.min_sample,
            warmup_fraction=a.warmup_fraction,
        )
        res["pid"] = os.getpid()
        results.append(res)
        Path(a.out).write_text(json.dumps(results))  # what is done survives a later crash
    return 0


if __name__ == "__main__":
    sys.exit(main())
