"""Argument parsing and subcommand dispatch of ``anomaly-metrics``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .._evaluate import METRICS
from .compare import compare_results_files
from .demo import run_demo
from .evaluate import run_evaluate
from .out_of_core import memory_size

__all__ = ["build_parser", "main"]


def _fpr_limit(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got '{text}'") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def _output_path(text: str) -> str:
    if Path(text).suffix.lower() not in (".json", ".csv"):
        raise argparse.ArgumentTypeError(f"must end in .json or .csv, got '{text}'")
    return text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got '{text}'")
    return value


def _add_out_of_core_options(ev: argparse.ArgumentParser) -> None:
    """``--max-memory`` and ``--dask-scheduler`` (see :mod:`.out_of_core`)."""
    ev.add_argument(
        "--max-memory",
        type=memory_size,
        metavar="SIZE",
        help="read a category larger than SIZE (e.g. 16G) in chunks, twice, instead of into "
        "memory; same values (default: half of the machine's memory)",
    )
    ev.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="evaluate on this dask.distributed cluster (e.g. tcp://host:8786); the workers "
        "read the files (extra [dask])",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``anomaly-metrics``."""
    parser = argparse.ArgumentParser(
        prog="anomaly-metrics",
        description="Exact and fast evaluation of visual anomaly detection.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{evaluate,demo,compare}")
    ev = sub.add_parser(
        "evaluate",
        help="evaluate a folder of anomaly maps against ground-truth masks",
        description=(
            "Evaluate anomaly maps against ground-truth masks, per category. Layouts: MVTec AD "
            "(maps DIR/<category>/test/<defect>/<name>.tiff|tif|png|npy, masks "
            "GT/<category>/ground_truth/<defect>/<name>_mask.png, 'good' images without a "
            "mask) or flat (DIR/<name>.* and GT/<name>[_mask].*, matched by stem)."
        ),
    )
    ev.add_argument("--anomaly-maps", required=True, metavar="DIR", help="folder of anomaly maps")
    ev.add_argument(
        "--ground-truth", required=True, metavar="DIR", help="folder of ground-truth masks"
    )
    ev.add_argument("--categories", nargs="+", metavar="NAME", help="only these categories")
    ev.add_argument(
        "--metrics",
        nargs="+",
        metavar="NAME",
        choices=METRICS,
        help=f"only these metrics, out of: {', '.join(METRICS)} (default: all)",
    )
    ev.add_argument(
        "--fpr-limit", type=_fpr_limit, default=0.3, help="AU-PRO integration limit (default 0.3)"
    )
    ev.add_argument(
        "--output", type=_output_path, metavar="FILE", help="write results to FILE (.json or .csv)"
    )
    ev.add_argument("--plots", metavar="DIR", help="write PNG figures of the curves to DIR")
    ev.add_argument(
        "--image-scores",
        metavar="CSV",
        help="CSV of name,score rows (name: map path relative to --anomaly-maps, extension "
        "optional); default image score: the map maximum",
    )
    ev.add_argument(
        "--skip-invalid",
        action="store_true",
        help="report problems with the input as warnings and evaluate the rest",
    )
    ev.add_argument(
        "--per-image",
        action="store_true",
        help="also write each image's AUPIMO into the JSON --output (for `compare`)",
    )
    ev.add_argument(
        "--workers",
        type=_positive_int,
        help="threads for loading (default: the library's thread count, "
        "ANOMALY_METRICS_NUM_THREADS or min(8, CPUs))",
    )
    ev.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_out_of_core_options(ev)
    demo = sub.add_parser(
        "demo",
        help="evaluate a synthetic MVTec AD-layout set written on the fly",
        description="Write a small synthetic set (2 categories) as TIFF/PNG files and evaluate "
        "it exactly as `evaluate` would: table, results.json and plots.",
    )
    demo.add_argument(
        "--out", metavar="DIR", help="where to write (default: a new temporary folder)"
    )
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")
    cmp = sub.add_parser(
        "compare",
        help="compare models on per-image results: paired tests, Holm-corrected",
        description="Compare models on the per-image values (AUPIMO by default) of result files "
        "written by `evaluate --per-image`, one file per model: every pairwise paired test, "
        "Holm-corrected, a ranking by average rank and the groups that cannot be told apart.",
    )
    cmp.add_argument("results", nargs="+", metavar="RESULT.json", help="one result file per model")
    cmp.add_argument("--metric", default="aupimo", help="per-image metric (default aupimo)")
    cmp.add_argument("--test", choices=("wilcoxon", "ttest"), default="wilcoxon")
    cmp.add_argument("--alpha", type=float, default=0.05, help="significance level (0.05)")
    cmp.add_argument("--names", nargs="+", metavar="NAME", help="model names, one per file")
    cmp.add_argument("--category", help="compare on this category only")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse reports usage errors itself, with status 2
        return int(exc.code) if isinstance(exc.code, int) else 2
    try:
        if args.command == "compare":
            try:
                print(
                    compare_results_files(
                        args.results,
                        metric=args.metric,
                        test=args.test,
                        alpha=args.alpha,
                        names=args.names,
                        category=args.category,
                    )
                )
            except (OSError, ValueError, TypeError) as err:
                print(f"anomaly-metrics compare: error: {err}", file=sys.stderr)
                return 1
            return 0
        if args.command == "demo":
            return run_demo(args.out, progress=not args.no_progress)
        return run_evaluate(
            args.anomaly_maps,
            args.ground_truth,
            categories=args.categories,
            metrics=args.metrics,
            fpr_limit=args.fpr_limit,
            output=args.output,
            plots=args.plots,
            image_scores=args.image_scores,
            per_image=args.per_image,
            skip_invalid=args.skip_invalid,
            workers=args.workers,
            progress=not args.no_progress,
            max_memory=args.max_memory,
            dask_scheduler=args.dask_scheduler,
        )
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
