"""Memory and throughput of the out-of-core and Dask paths against the in-memory one.

``python -m bench.out_of_core --pixels 2**30`` writes an MVTec-like test set of that many
pixels to disk as two ``.npy`` files (float32 maps, bool masks; a third of the images
anomalous, defects a few percent of their pixels), then runs ``evaluate`` on it (pixel AUROC,
AU-PRO, AUPIMO) three ways, each in a fresh process:

* in memory: ``np.load`` of both files, then :func:`anomaly_metrics.evaluate`;
* out of core: :func:`anomaly_metrics.out_of_core.evaluate` on the two paths;
* Dask: :func:`anomaly_metrics.dask.evaluate` on a ``LocalCluster`` of 2 worker processes,
  each block read from the files by its task.

It reports wall time, throughput (pixels per second) beside ``np.sort``'s on the same pixels,
and the peak growth of the process's resident set over its state after a warm-up (sampled
every 2 ms; for Dask that of the client, and the largest worker's lifetime peak RSS, which
includes its imports and kernel loading), and checks that the three results are equal. A memory test is a
measurement, not a unit test: this script is not run by the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_METRICS = ["pixel_auroc", "pixel_aupr", "aupro", "aupimo"]


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
import json, resource, sys, time
import numpy as np
import anomaly_metrics as am
from anomaly_metrics import out_of_core

mode, maps_path, masks_path = sys.argv[1:4]
metrics = json.loads(sys.argv[4])
# warm up: compile or load every kernel on a tiny set, so that the peak measured is the data's
rng = np.random.default_rng(0)
wm = rng.random((6, 64, 64)).astype(np.float32)
wk = np.zeros(wm.shape, bool)
wk[3:, 10:20, 10:20] = True
am.evaluate(wm, wk, metrics=metrics)
out_of_core.evaluate([(wm[:3], wk[:3]), (wm[3:], wk[3:])], metrics=metrics)
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
    amd.evaluate(da.from_array(wm, chunks=3), da.from_array(wk, chunks=3), metrics=metrics)
    shape = np.load(maps_path, mmap_mode="r").shape
    step = max(1, (1 << 24) // (shape[1] * shape[2]))

    def stack(path, dtype):
        blocks = [
            da.from_delayed(dask.delayed(load)(path, a, min(a + step, shape[0])),
                            (min(a + step, shape[0]) - a, *shape[1:]), dtype)
            for a in range(0, shape[0], step)
        ]
        return da.concatenate(blocks)

import os, threading

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

peak = [0]
done = threading.Event()

def sample():  # the peak of the resident set, sampled every 2 ms during the run
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        done.wait(0.002)

base = rss()
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
t0 = time.perf_counter()
if mode == "memory":
    result = am.evaluate(np.load(maps_path), np.load(masks_path), metrics=metrics)
elif mode == "out-of-core":
    result = out_of_core.evaluate((maps_path, masks_path), metrics=metrics)
elif mode == "dask":
    result = amd.evaluate(stack(maps_path, np.float32), stack(masks_path, bool), metrics=metrics)
    peaks = client.run(lambda: __import__("resource").getrusage(0).ru_maxrss)
    extra["worker_peak_rss_mb"] = max(peaks.values()) / 1024
else:
    sorted_ = np.sort(np.load(maps_path).reshape(-1))
    result = {}
wall = time.perf_counter() - t0
done.set()
sampler.join()
growth = (max(peak[0], rss()) - base) / 2**20
print(json.dumps({"result": {k: repr(v) for k, v in result.items()}, "wall_s": wall,
                  "peak_rss_growth_mb": growth, **extra}))
"""


def run_mode(mode: str, maps_path: Path, masks_path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(maps_path), str(masks_path), json.dumps(_METRICS)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.out_of_core", description=__doc__)
    parser.add_argument("--pixels", type=_pixels, default=1 << 26, help="e.g. 2**30 (4.3 GB)")
    parser.add_argument("--side", type=int, default=512, help="image side (MVTec-like: 512)")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the .npy files")
    parser.add_argument("--no-dask", action="store_true", help="skip the LocalCluster run")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        t0 = time.perf_counter()
        maps_path, masks_path, n = write_set(Path(tmp), args.pixels, args.side)
        pixels = n * args.side * args.side
        print(
            f"# out of core: {n} images of {args.side}x{args.side} = {pixels:,} pixels "
            f"({pixels * 4 / 2**30:.2f} GiB float32), written in {time.perf_counter() - t0:.1f} s\n"
        )
        modes = ["np.sort", "memory", "out-of-core"] + ([] if args.no_dask else ["dask"])
        rows = {mode: run_mode(mode, maps_path, masks_path) for mode in modes}
    results = {m: r["result"] for m, r in rows.items() if m != "np.sort"}
    equal = len({json.dumps(r, sort_keys=True) for r in results.values()}) == 1
    print("| path | wall (s) | Mpixels/s | peak RSS growth (MiB) | worker peak RSS (MiB) |")
    print("|---|---:|---:|---:|---:|")
    for mode, r in rows.items():
        worker = r.get("worker_peak_rss_mb")
        print(
            f"| {mode} | {r['wall_s']:.2f} | {pixels / r['wall_s'] / 1e6:.1f} | "
            f"{r['peak_rss_growth_mb']:.0f} | {'' if worker is None else f'{worker:.0f}'} |"
        )
    print(f"\nmaps: {pixels * 4 / 2**20:.0f} MiB; results equal across paths: {equal}")
    for name, value in results["memory"].items():
        print(f"- {name}: {value}")
    if args.json is not None:
        args.json.write_text(json.dumps({"pixels": pixels, "rows": rows, "equal": equal}, indent=1))
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
