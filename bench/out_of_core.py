"""Memory and throughput of the out-of-core and Dask paths against the in-memory one.

``python -m bench.out_of_core --pixels 2**30`` writes an MVTec-like test set of that many
pixels to disk as two ``.npy`` files (float32 maps, bool masks; a third of the images
anomalous, defects a few percent of their pixels), then runs each metric (``--metrics``:
``evaluate`` of pixel AUROC, AUPR, AU-PRO and AUPIMO; pixel ``auroc``; ``aupro``; ``aupimo``
with 300k linspace thresholds; ``aupimo-exact``) three ways, each run in a fresh process:

* in memory: ``np.load`` of both files, then the function of :mod:`anomaly_metrics`;
* out of core: the function of :mod:`anomaly_metrics.out_of_core` on the two paths;
* Dask: the function of :mod:`anomaly_metrics.dask` on a ``LocalCluster`` of 2 worker
  processes, each block read from the files by its task.

It reports wall time, throughput (pixels per second) beside ``np.sort``'s on the same pixels,
and the peak growth of the process's resident set over its state after a warm-up (sampled
every 2 ms; for Dask that of the client, and of the largest worker, sampled the same way
inside each worker, beside that worker's lifetime peak RSS, which includes its imports and
kernel loading), and checks that the three results of each metric are equal. A memory test is
a measurement, not a unit test: this script is not run by the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _pixels(text: str) -> int:
    """``2**26`` or ``67108864``."""
    if "**" in text:
        base, exp = text.split("**")
        return int(base) ** int(exp)
    return int(text)


def write_set(folder: Path, pixels: int, side: int, seed: int = 0) -> tuple[Path, Path, int]:
    """Write ``maps.npy`` / ``masks.npy`` of ``pixels // side**2`` images, a chunk at a time."""
    n = max(2, pixels // (side * side))
    maps_path, masks_path = folder / "maps.npy", folder / "masks.npy"
    maps = np.lib.format.open_memmap(maps_path, "w+", np.float32, (n, side, side))
    masks = np.lib.format.open_memmap(masks_path, "w+", np.bool_, (n, side, side))
    rng = np.random.default_rng(seed)
    step = max(1, (1 << 24) // (side * side))
    yy, xx = np.mgrid[:side, :side]
    for a in range(0, n, step):
        b = min(n, a + step)
        m = rng.normal(0.0, 1.0, (b - a, side, side)).astype(np.float32)
        k = np.zeros((b - a, side, side), bool)
        for i in range(b - a):
            if (a + i) % 3 == 2:  # a third of the images are anomalous
                cy, cx = rng.integers(side // 8, side - side // 8, 2)
                r = rng.integers(side // 32 + 1, side // 8 + 2)
                k[i] = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        m[k] += rng.normal(2.0, 1.0, int(k.sum())).astype(np.float32)
        maps[a:b], masks[a:b] = m, k
    maps.flush()
    masks.flush()
    del maps, masks
    return maps_path, masks_path, n


_CHILD = r"""
import builtins, hashlib, json, os, sys, threading, time
import numpy as np
import anomaly_metrics as am
from anomaly_metrics import out_of_core

mode, metric, maps_path, masks_path = sys.argv[1:5]
block_pixels = int(sys.argv[5])


def options(warm):
    # the warm-up set is too small for AUPIMO's default bounds: reachable ones there
    return {"fpr_bounds": (1e-2, 1e-1)} if warm and metric.startswith("aupimo") else {}


def call(module, maps, masks, warm=False):
    if metric == "evaluate":
        return module.evaluate(maps, masks, metrics=["pixel_auroc", "pixel_aupr", "aupro", "aupimo"])
    if metric == "aupimo-exact":
        return module.aupimo(maps, masks, num_thresholds=None, **options(warm))
    return getattr(module, metric)(maps, masks, **options(warm))


def _ooc(maps, masks, warm=False):
    source = out_of_core.ArrayChunks(maps, masks)
    if metric == "evaluate":
        return out_of_core.evaluate(source, metrics=["pixel_auroc", "pixel_aupr", "aupro", "aupimo"])
    if metric == "aupimo-exact":
        return out_of_core.aupimo(source, num_thresholds=None, **options(warm))
    return getattr(out_of_core, metric)(source, **options(warm))


def canonical(r):
    if isinstance(r, dict):
        return {k: repr(v) for k, v in r.items()}
    if isinstance(r, float):
        return {metric: repr(r)}
    digest = hashlib.sha1(np.ascontiguousarray(r.per_image).tobytes()).hexdigest()[:12]
    return {metric: repr(r.mean), "per_image": digest, "num_points": r.num_points}


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def start_sampler():  # the peak of the resident set, sampled every 2 ms until stopped
    state = {"base": rss(), "peak": 0, "done": threading.Event()}

    def sample():
        while not state["done"].is_set():
            state["peak"] = max(state["peak"], rss())
            state["done"].wait(0.002)

    state["thread"] = threading.Thread(target=sample, daemon=True)
    state["thread"].start()
    builtins._bench_sampler = state
    return True


def stop_sampler():
    state = builtins._bench_sampler
    state["done"].set()
    state["thread"].join()
    return (max(state["peak"], rss()) - state["base"]) / 2**20


# warm up: compile or load every kernel on a tiny set, so that the peak measured is the data's
rng = np.random.default_rng(0)
wm = rng.random((6, 64, 64)).astype(np.float32)
wk = np.zeros(wm.shape, bool)
wk[3:, 10:20, 10:20] = True
import warnings
warnings.simplefilter("ignore")
if mode != "np.sort":
    call(am, wm, wk, warm=True)
    _ooc(wm, wk, warm=True)
extra = {}
if mode == "dask":
    import dask
    import dask.array as da
    from distributed import Client, LocalCluster
    import anomaly_metrics.dask as amd

    def load(path, a, b):
        return np.array(np.load(path, mmap_mode="r")[a:b])

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    call(amd, da.from_array(wm, chunks=3), da.from_array(wk, chunks=3), warm=True)
    shape = np.load(maps_path, mmap_mode="r").shape
    step = max(1, block_pixels // (shape[1] * shape[2]))

    def stack(path, dtype):
        blocks = [
            da.from_delayed(dask.delayed(load)(path, a, min(a + step, shape[0])),
                            (min(a + step, shape[0]) - a, *shape[1:]), dtype)
            for a in range(0, shape[0], step)
        ]
        return da.concatenate(blocks)

    client.run(start_sampler)

start_sampler()
t0 = time.perf_counter()
if mode == "memory":
    result = call(am, np.load(maps_path), np.load(masks_path))
elif mode == "out-of-core":
    result = _ooc(maps_path, masks_path)
elif mode == "dask":
    result = call(amd, stack(maps_path, np.float32), stack(masks_path, bool))
    growth = client.run(stop_sampler)
    peaks = client.run(lambda: __import__("resource").getrusage(0).ru_maxrss)
    extra["worker_growth_mb"] = max(growth.values())
    extra["worker_peak_rss_mb"] = max(peaks.values()) / 1024
else:
    np.sort(np.load(maps_path).reshape(-1))
    result = {}
wall = time.perf_counter() - t0
growth = stop_sampler()
print(json.dumps({"result": canonical(result), "wall_s": wall, "peak_rss_growth_mb": growth,
                  **extra}))
"""

_ALL_METRICS = ("evaluate", "auroc", "aupro", "aupimo", "aupimo-exact")


def run_mode(
    mode: str, metric: str, maps_path: Path, masks_path: Path, block_pixels: int = 1 << 24
) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            mode,
            metric,
            str(maps_path),
            str(masks_path),
            str(block_pixels),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if out.returncode != 0:
        raise RuntimeError(f"{mode} {metric} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _table(pixels: int, rows: list[dict]) -> list[str]:
    sort_wall = next((r["wall_s"] for r in rows if r["mode"] == "np.sort"), None)
    memory = {r["metric"]: r["wall_s"] for r in rows if r["mode"] == "memory"}
    lines = [
        "| metric | path | wall (s) | x in memory | Mpixels/s | x np.sort | peak RSS growth (MiB) "
        "| worker growth / lifetime peak (MiB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        wall = r["wall_s"]
        ratio = memory.get(r["metric"])
        worker = ""
        if "worker_growth_mb" in r:
            worker = f"{r['worker_growth_mb']:,.0f} / {r['worker_peak_rss_mb']:,.0f}"
        lines.append(
            f"| {r['metric']} | {r['mode']} | {wall:.2f} | "
            f"{'' if ratio is None or r['mode'] == 'memory' else f'{wall / ratio:.2f}x'} | "
            f"{pixels / wall / 1e6:.1f} | "
            f"{'' if sort_wall is None else f'{wall / sort_wall:.2f}x'} | "
            f"{r['peak_rss_growth_mb']:,.0f} | {worker} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.out_of_core", description=__doc__)
    parser.add_argument("--pixels", type=_pixels, default=1 << 26, help="e.g. 2**30 (4.3 GB)")
    parser.add_argument("--side", type=int, default=512, help="image side (MVTec-like: 512)")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the .npy files")
    parser.add_argument(
        "--keep-data",
        action="store_true",
        help="write the files into --dir itself and keep them (reused when they match)",
    )
    parser.add_argument(
        "--metrics",
        default=",".join(_ALL_METRICS),
        help=f"comma-separated, from {', '.join(_ALL_METRICS)} (default: all)",
    )
    parser.add_argument(
        "--paths",
        default="memory,out-of-core,dask",
        help="comma-separated, from memory, out-of-core, dask (np.sort always runs)",
    )
    parser.add_argument("--no-dask", action="store_true", help="skip the LocalCluster runs")
    parser.add_argument(
        "--block-pixels", type=_pixels, default=1 << 24, help="pixels per Dask block (whole images)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    metrics = [m for m in args.metrics.split(",") if m]
    paths = [p for p in args.paths.split(",") if p and not (args.no_dask and p == "dask")]
    bad = sorted(set(metrics) - set(_ALL_METRICS)) + sorted(
        set(paths) - {"memory", "out-of-core", "dask"}
    )
    if bad:
        parser.error(f"unknown metric or path: {', '.join(bad)}")
    with contextlib.ExitStack() as stack:
        if args.keep_data:
            if args.dir is None:
                parser.error("--keep-data needs --dir")
            folder = args.dir
            folder.mkdir(parents=True, exist_ok=True)
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=args.dir)))
        t0 = time.perf_counter()
        maps_path, masks_path, n = _data(folder, args.pixels, args.side, args.keep_data)
        pixels = n * args.side * args.side
        print(
            f"# out of core: {n} images of {args.side}x{args.side} = {pixels:,} pixels "
            f"({pixels * 4 / 2**30:.2f} GiB float32), ready in {time.perf_counter() - t0:.1f} s\n",
            flush=True,
        )
        rows = [{"mode": "np.sort", "metric": "", **run_mode("np.sort", "", maps_path, masks_path)}]
        for metric in metrics:
            for mode in paths:
                row = run_mode(mode, metric, maps_path, masks_path, args.block_pixels)
                rows.append({"mode": mode, "metric": metric, **row})
                print(f"  {metric} / {mode}: {rows[-1]['wall_s']:.1f} s", file=sys.stderr)
    equal = True
    for metric in metrics:
        got = {json.dumps(r["result"], sort_keys=True) for r in rows if r["metric"] == metric}
        equal = equal and len(got) == 1
    print("\n".join(_table(pixels, rows)))
    print(f"\nmaps: {pixels * 4 / 2**20:,.0f} MiB; results equal across paths: {equal}")
    for r in rows:
        if r["mode"] == "memory":
            print(f"- {r['metric']}: {r['result']}")
    if args.json is not None:
        args.json.write_text(json.dumps({"pixels": pixels, "rows": rows, "equal": equal}, indent=1))
    return 0 if equal else 1


def _data(folder: Path, pixels: int, side: int, reuse: bool) -> tuple[Path, Path, int]:
    """The data set in `folder`: reused when asked and its shape matches, else written."""
    n = max(2, pixels // (side * side))
    maps_path, masks_path = folder / "maps.npy", folder / "masks.npy"
    if reuse and maps_path.exists() and masks_path.exists():
        shape = np.load(maps_path, mmap_mode="r").shape
        if shape == (n, side, side) and np.load(masks_path, mmap_mode="r").shape == shape:
            return maps_path, masks_path, n
    return write_set(folder, pixels, side)


if __name__ == "__main__":
    sys.exit(main())
