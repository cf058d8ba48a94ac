"""Argument parsing and subcommand dispatch of ``anomaly-metrics``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .._evaluate import METRICS
from .benchmark_layouts import DEFAULT_GROUP_PATTERN
from .compare import compare_results_files
from .demo import DEMO_PROTOCOLS, run_demo
from .evaluate import run_evaluate
from .out_of_core import memory_size
from .protocol_output import run_protocol
from .protocols import PROTOCOLS, THRESHOLD_RULES, ProtocolOptions, check_group_pattern
from .resize import RESIZE_METHODS

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
        "--protocol",
        default="mvtec-ad",
        metavar="NAME",
        help=f"benchmark protocol: {', '.join(PROTOCOLS)} (default mvtec-ad): its folder "
        "layout and its official table",
    )
    ev.add_argument(
        "--resize-maps",
        choices=RESIZE_METHODS,
        help="upsample maps smaller than their masks to the mask size (pixel centres aligned, "
        "align_corners=False); default: a size mismatch is an error",
    )
    ev.add_argument(
        "--fpr-limit",
        type=_fpr_limit,
        help="AU-PRO integration limit (default 0.3; mvtec-ad only)",
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
    bench = ev.add_argument_group("protocol options")
    bench.add_argument(
        "--threshold-rule",
        choices=tuple(THRESHOLD_RULES),
        help="mvtec-ad2: the rule that chooses the SegF1 threshold on the --validation maps",
    )
    bench.add_argument(
        "--threshold-param",
        type=float,
        metavar="X",
        help="its parameter: k of mean-std (default 3), q of percentile (99), max_fpr of "
        "max-fpr (0.01)",
    )
    bench.add_argument(
        "--validation",
        metavar="DIR",
        help="mvtec-ad2: anomaly maps of the validation images, DIR/<object>/validation/good/",
    )
    bench.add_argument(
        "--binarized-maps",
        metavar="DIR",
        help="mvtec-ad2: 0/255 PNG binarisations for SegF1 (anomaly_images_thresholded)",
    )
    bench.add_argument(
        "--segf1-average",
        choices=("pooled", "per_image"),
        default="pooled",
        help="mvtec-ad2: SegF1 over the pooled pixels of a category (default) or per image",
    )
    bench.add_argument(
        "--split",
        default="test_public",
        help="mvtec-ad2: the test split folder (default test_public)",
    )
    bench.add_argument(
        "--split-csv", metavar="CSV", help="visa: the split CSV (default GT/split_csv/1cls.csv)"
    )
    bench.add_argument(
        "--group-pattern",
        metavar="REGEX",
        help="real-iad: regex searched in each map's path (relative to its category, without "
        "extension) whose first group is the sample id "
        f"(default {DEFAULT_GROUP_PATTERN!r}: the name before _C<camera>)",
    )
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
    demo.add_argument(
        "--protocol",
        default="mvtec-ad",
        choices=DEMO_PROTOCOLS,
        help="write the set in this benchmark's layout and evaluate it with its protocol",
    )
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
            return run_demo(args.out, progress=not args.no_progress, protocol=args.protocol)
        return _evaluate(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


_PROTOCOL_ONLY = {
    "threshold_rule": ("--threshold-rule", "mvtec-ad2"),
    "threshold_param": ("--threshold-param", "mvtec-ad2"),
    "validation": ("--validation", "mvtec-ad2"),
    "binarized_maps": ("--binarized-maps", "mvtec-ad2"),
    "split_csv": ("--split-csv", "visa"),
    "group_pattern": ("--group-pattern", "real-iad"),
}
_MVTEC_AD_ONLY = {
    "metrics": "--metrics",
    "fpr_limit": "--fpr-limit",
    "plots": "--plots",
    "image_scores": "--image-scores",
    "per_image": "--per-image",
}


def _usage_problem(args: argparse.Namespace) -> str | None:
    """Options that do not go with the protocol (a usage error, exit status 2)."""
    for dest, (flag, protocol) in _PROTOCOL_ONLY.items():
        if getattr(args, dest) is not None and args.protocol != protocol:
            return f"{flag} applies to --protocol {protocol} only"
    if args.protocol != "mvtec-ad":
        for dest, flag in _MVTEC_AD_ONLY.items():
            if getattr(args, dest) not in (None, False):
                return f"{flag} applies to --protocol mvtec-ad only"
    if args.protocol == "mvtec-ad2":
        if args.binarized_maps is not None and args.threshold_rule is not None:
            return "SegF1 comes from --binarized-maps or from --threshold-rule, not both"
        if (args.threshold_rule is None) != (args.validation is None):
            return "--threshold-rule and --validation go together"
        if args.threshold_param is not None and args.threshold_rule == "f1-max":
            return "--threshold-param does not apply to --threshold-rule f1-max"
    return None


def _evaluate(args: argparse.Namespace) -> int:
    if args.protocol not in PROTOCOLS:
        print(
            f"anomaly-metrics evaluate: error: unknown protocol '{args.protocol}' "
            f"(choose one of {', '.join(PROTOCOLS)})",
            file=sys.stderr,
        )
        return 1
    usage = _usage_problem(args)
    if usage is not None:
        print(f"anomaly-metrics evaluate: error: {usage}", file=sys.stderr)
        return 2
    if args.protocol == "mvtec-ad":
        return run_evaluate(
            args.anomaly_maps,
            args.ground_truth,
            categories=args.categories,
            metrics=args.metrics,
            fpr_limit=0.3 if args.fpr_limit is None else args.fpr_limit,
            output=args.output,
            plots=args.plots,
            image_scores=args.image_scores,
            per_image=args.per_image,
            skip_invalid=args.skip_invalid,
            workers=args.workers,
            progress=not args.no_progress,
            resize=args.resize_maps,
            max_memory=args.max_memory,
            dask_scheduler=args.dask_scheduler,
        )
    pattern = DEFAULT_GROUP_PATTERN if args.group_pattern is None else args.group_pattern
    bad_pattern = check_group_pattern(pattern)
    if bad_pattern is not None:
        print(f"anomaly-metrics evaluate: error: {bad_pattern}", file=sys.stderr)
        return 1
    options = ProtocolOptions(
        categories=args.categories,
        resize=args.resize_maps,
        threshold_rule=args.threshold_rule,
        threshold_param=args.threshold_param,
        validation=None if args.validation is None else Path(args.validation),
        binarized=None if args.binarized_maps is None else Path(args.binarized_maps),
        segf1_average=args.segf1_average,
        group_pattern=pattern,
        split=args.split,
        split_csv=None if args.split_csv is None else Path(args.split_csv),
        workers=args.workers,
        progress=not args.no_progress,
        skip_invalid=args.skip_invalid,
    )
    return run_protocol(
        args.protocol, args.anomaly_maps, args.ground_truth, options, output=args.output
    )
