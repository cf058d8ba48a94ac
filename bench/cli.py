"""``python -m bench``: run the benchmark suite, print the markdown, write the JSON results."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .data import LAYOUTS, parse_size

DEFAULT_SIZES = ["100x256x256", "500x256x256"]
QUICK_SIZES = ["40x128x128"]
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _csv(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark anomaly-metrics against its peers and the np.sort floor. Every "
        "measurement runs in a fresh subprocess on a deterministic synthetic MVTec-like set.",
    )
    p.add_argument(
        "--size", action="append", help="NxHxW (repeatable); default 100x256x256 and 500x256x256"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: one small size, few repeats, all entries in one process, no compile or scaling runs (< 2 min)",
    )
    p.add_argument("--metrics", help="comma-separated metric ids (default: all); see --list")
    p.add_argument("--impls", help="comma-separated implementations, e.g. ours,sklearn,anomalib")
    p.add_argument(
        "--kinds",
        help="comma-separated kinds: ours, ours-torch, overhead (ours-torch-ab: core vs torch compute, paired in one process), peer, floor (np.sort always runs: the ratios need it)",
    )
    p.add_argument("--repeats", type=int, help="timed samples per entry (default 5, quick 3)")
    p.add_argument(
        "--budget", type=float, help="seconds of timed samples per entry (default 20, quick 2)"
    )
    p.add_argument("--timeout", type=float, default=900.0, help="seconds before an entry is killed")
    p.add_argument(
        "--max-mem-gb", type=float, default=8.0, help="skip entries estimated to need more"
    )
    p.add_argument(
        "--no-compile", action="store_true", help="skip the empty-Numba-cache cold calls"
    )
    p.add_argument(
        "--scaling",
        action="store_true",
        help="also the scaling table (1e6..1e8 pixels; a few minutes, ~0.5 GB of cached data)",
    )
    p.add_argument("--scaling-only", action="store_true", help="only the scaling table")
    p.add_argument(
        "--layout",
        default="mvtec",
        choices=LAYOUTS,
        help="value layout of the synthetic set for the main suite (default mvtec; see bench/data.py)",
    )
    p.add_argument(
        "--layouts",
        nargs="?",
        const=",".join(LAYOUTS),
        metavar="NAMES",
        help="only the value-layout tables: ours and sort-merge for pixel AUROC and AU-PRO, and "
        f"np.sort, on each layout (comma-separated; default all: {','.join(LAYOUTS)}); on the "
        "first --size (default 100x256x256)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", type=Path, help="cache of generated sets (default: temp dir)")
    p.add_argument(
        "--out", type=Path, help="results JSON (default bench/results/<time>.json and latest.json)"
    )
    p.add_argument("--markdown", type=Path, help="also write the markdown report here")
    p.add_argument(
        "--report",
        type=Path,
        metavar="RESULTS",
        help="print the markdown of a results file and exit",
    )
    p.add_argument(
        "--update-readme",
        type=Path,
        metavar="RESULTS",
        help="rewrite the README section between the bench markers from a results file and exit",
    )
    p.add_argument(
        "--readme", type=Path, default=Path(__file__).resolve().parent.parent / "README.md"
    )
    p.add_argument(
        "--list", action="store_true", help="list the entries and whether they can run here"
    )
    return p  # fmt: skip


def _only(machine: dict[str, object], **parts: object) -> dict[str, object]:
    """A results file of the layout or scaling tables only (machine first, no sizes)."""
    from .entries import ENTRIES

    entries = {
        e.id: {"metric": e.metric, "impl": e.impl, "kind": e.kind, "note": e.note} for e in ENTRIES
    }
    return {
        "machine": machine,
        "schema": 2,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "entries": entries,
        "sizes": [],
        **parts,
    }


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    from . import report

    if a.report:
        print(report.render(json.loads(a.report.read_text())), end="")
        return 0
    if a.update_readme:
        from .readme import update_readme

        update_readme(json.loads(a.update_readme.read_text()), a.readme)
        print(f"updated {a.readme}", file=sys.stderr)
        return 0

    from . import runner
    from .entries import ENTRIES

    if a.list:
        for e in ENTRIES:
            why = runner.available(e)
            print(f"{e.id:45s} {e.kind:11s} {'ok' if why is None else why}")
        return 0

    quick = a.quick
    sizes = [parse_size(s) for s in (a.size or (QUICK_SIZES if quick else DEFAULT_SIZES))]
    repeats = a.repeats if a.repeats is not None else (3 if quick else 5)
    budget = a.budget if a.budget is not None else (2.0 if quick else 20.0)
    t0 = time.perf_counter()
    if a.layouts:
        names = _csv(a.layouts) or list(LAYOUTS)
        unknown = sorted(set(names) - set(LAYOUTS))
        if unknown:
            raise SystemExit(f"--layouts: unknown layouts {unknown}; known: {', '.join(LAYOUTS)}")
        res = _only(
            runner.machine_info(),
            layouts=runner.run_layouts(sizes[0], names, repeats=repeats, budget=budget, timeout=a.timeout, seed=a.seed, data_dir=a.data_dir, shared_process=quick),
            options={"sizes": [list(sizes[0])], "repeats": repeats, "budget_s": budget, "seed": a.seed, "shared_process": quick},
        )  # fmt: skip
    elif a.scaling_only:
        res = _only(
            runner.machine_info(),
            scaling=runner.run_scaling(repeats=min(repeats, 3), budget=budget, timeout=a.timeout, seed=a.seed, data_dir=a.data_dir),
        )  # fmt: skip
    else:
        res = runner.run_suite(
            sizes,
            metrics=_csv(a.metrics),
            impls=_csv(a.impls),
            kinds=_csv(a.kinds),
            repeats=repeats,
            budget=budget,
            timeout=a.timeout,
            max_mem_gb=a.max_mem_gb,
            compile_check=not (a.no_compile or quick),
            scaling=a.scaling and not quick,
            seed=a.seed,
            data_dir=a.data_dir,
            shared_process=quick,
            layout=a.layout,
        )
    res["total_s"] = time.perf_counter() - t0
    text = json.dumps(res, indent=1)
    if a.out:
        out = a.out
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    else:
        RESULTS_DIR.mkdir(exist_ok=True)
        out = RESULTS_DIR / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
        out.write_text(text)
        (RESULTS_DIR / "latest.json").write_text(text)
    md = report.render(res)
    if a.markdown:
        a.markdown.write_text(md)
    print(md, end="")
    print(f"results: {out} ({res['total_s']:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
