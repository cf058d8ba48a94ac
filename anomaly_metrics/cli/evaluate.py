"""``anomaly-metrics evaluate``: a folder of anomaly maps against ground-truth masks.

Category by category: discover the pairs (:mod:`.datasets`), read them (:mod:`.readers`),
:func:`anomaly_metrics.evaluate` them, print an aligned table with a mean row and write JSON / CSV
and plots. A user's mistake (a missing, unreadable or inconsistent file) is reported as one line
per problem naming the file, with exit status 1, never a traceback; ``skip_invalid`` reports the
problems as warnings and evaluates what is left.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .. import aupimo, evaluate, plotting
from .._evaluate import METRICS
from .._parallel import get_num_threads
from .datasets import Problem, discover
from .out_of_core import evaluate_spec, needs_chunks
from .readers import LoadedCategory, load_category, read_image_scores
from .resize import describe_resize

__all__ = ["SHORT_NAMES", "format_table", "run_evaluate"]

#: Column headers of the printed table.
SHORT_NAMES = {
    "image_auroc": "I-AUROC",
    "image_aupr": "I-AUPR",
    "image_f1max": "I-F1Max",
    "pixel_auroc": "P-AUROC",
    "pixel_aupr": "P-AUPR",
    "pixel_f1max": "P-F1Max",
    "aupro": "AUPRO",
    "aupimo": "AUPIMO",
    "pgn": "PGn",
    "pbn": "PBn",
}


class _Reporter:
    """Prints problems and warnings, one line each, and remembers them for the output file.

    ``buffered=True`` holds the fatal problems back until :meth:`fail`, which prints a single
    problem as one line (the protocols' convention) and several as one line each plus a summary.
    """

    def __init__(self, stream: TextIO, skip_invalid: bool, buffered: bool = False) -> None:
        self.stream = stream
        self.skip_invalid = skip_invalid
        self.buffered = buffered
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def problem(self, p: Problem) -> None:
        self.problems.append(str(p))
        if self.skip_invalid:
            print(f"warning: {p} (skipped)", file=self.stream)
        elif not self.buffered:
            print(f"error: {p}", file=self.stream)

    def fail(self) -> None:
        """Report that the problems stopped the evaluation."""
        fix = "Fix them, or pass --skip-invalid to evaluate the rest."
        if self.buffered and len(self.problems) == 1:
            print(
                f"error: {self.problems[0]} (nothing was evaluated; fix it, or pass "
                "--skip-invalid to evaluate the rest)",
                file=self.stream,
            )
            return
        if self.buffered:
            for line in self.problems:
                print(f"error: {line}", file=self.stream)
        print(
            f"error: {len(self.problems)} problem(s) with the input; nothing was evaluated. {fix}",
            file=self.stream,
        )

    def warning(self, where: str, message: str) -> None:
        if any(w.endswith(f": {message}") for w in self.warnings):
            return  # e.g. the PIMO plot repeating AUPIMO's warning
        line = f"{where}: {message}"
        self.warnings.append(line)
        print(f"warning: {line}", file=self.stream)


def _evaluate_category(
    cat: LoadedCategory, metrics: list[str], fpr_limit: float, report: _Reporter
) -> dict[str, float] | None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            values = evaluate(
                cat.anomaly_maps,
                cat.masks,
                image_scores=cat.image_scores,
                metrics=metrics,
                fpr_limit=fpr_limit,
            )
        except (ValueError, TypeError) as err:
            report.problem(Problem(cat.name, str(err)))
            return None
    for w in caught:
        report.warning(cat.name, str(w.message))
    return values


def _write_plots(
    cat: LoadedCategory, plots_dir: Path, fpr_limit: float, report: _Reporter
) -> list[Path]:

    maps, masks = cat.anomaly_maps, cat.masks
    labels = masks.reshape(masks.shape[0], -1).any(axis=1)
    scores = cat.image_scores if cat.image_scores is not None else maps.max(axis=(1, 2))
    name = cat.name
    jobs: list[tuple[str, Any, tuple[Any, ...], dict[str, Any]]] = [
        ("image_roc", plotting.plot_roc, (scores, labels), {"title": f"{name}: image ROC"}),
        ("image_pr", plotting.plot_pr, (scores, labels), {"title": f"{name}: image PR"}),
        (
            "score_histogram",
            plotting.plot_score_histogram,
            (scores, labels),
            {"title": f"{name}: image score histogram"},
        ),
        ("pixel_roc", plotting.plot_roc, (maps, masks), {"title": f"{name}: pixel ROC"}),
        ("pixel_pr", plotting.plot_pr, (maps, masks), {"title": f"{name}: pixel PR"}),
        (
            "pro",
            plotting.plot_pro,
            (maps, masks),
            {"fpr_limit": fpr_limit, "title": f"{name}: PRO"},
        ),
        (
            "pimo",
            plotting.plot_pimo,
            (maps, masks),
            {
                "title": f"{name}: PIMO",
                "image_names": ["/".join(k.split("/")[-2:]) for k in cat.keys],
            },
        ),
    ]
    written: list[Path] = []
    plots_dir.mkdir(parents=True, exist_ok=True)
    for kind, fn, args, kwargs in jobs:
        path = plots_dir / f"{name}_{kind}.png"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fig = fn(*args, **kwargs)
                fig.savefig(path, dpi=100)
                written.append(path)
            except (ValueError, RuntimeError) as err:
                report.warning(f"{name} {kind} plot", f"not drawn: {err}")
        for w in caught:
            report.warning(f"{name} {kind} plot", str(w.message))
    return written


def _per_image_aupimo(cat: LoadedCategory, report: _Reporter) -> dict[str, float | None]:
    """Each image's AUPIMO (None for normal images or when AUPIMO is undefined here)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            values = aupimo(cat.anomaly_maps, cat.masks).per_image.tolist()
        except (ValueError, RuntimeError) as err:
            report.warning(f"{cat.name} per-image AUPIMO", f"not computed: {err}")
            values = [math.nan] * len(cat.keys)
    for w in caught:
        report.warning(cat.name, str(w.message))
    return {key: (None if math.isnan(v) else v) for key, v in zip(cat.keys, values)}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def _mean_row(rows: dict[str, dict[str, Any]], metrics: list[str]) -> dict[str, float]:
    return {m: sum(r[m] for r in rows.values()) / len(rows) for m in metrics}


def format_table(rows: dict[str, dict[str, Any]], metrics: list[str]) -> str:
    """An aligned text table: one row per category, then the mean over categories."""
    header = ["category", "images", "anomalous", *(SHORT_NAMES[m] for m in metrics)]
    body = [
        [name, r["num_images"], r["num_anomalous"], *(r[m] for m in metrics)]
        for name, r in rows.items()
    ]
    if len(rows) > 1:
        mean = _mean_row(rows, metrics)
        body.append(
            [
                "mean",
                sum(r["num_images"] for r in rows.values()),
                sum(r["num_anomalous"] for r in rows.values()),
                *(mean[m] for m in metrics),
            ]
        )
    cells = [header] + [[_fmt(v) for v in row] for row in body]
    widths = [max(len(row[k]) for row in cells) for k in range(len(header))]

    def line(row: list[str]) -> str:
        first = row[0].ljust(widths[0])
        return "  ".join([first, *(v.rjust(w) for v, w in zip(row[1:], widths[1:]))]).rstrip()

    out = [line(cells[0]), line(["-" * w for w in widths])]
    out += [line(r) for r in cells[1:-1]] if len(rows) > 1 else [line(r) for r in cells[1:]]
    if len(rows) > 1:
        out += [line(["-" * w for w in widths]), line(cells[-1])]
    return "\n".join(out)


def _json_value(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _write_output(
    path: Path,
    rows: dict[str, dict[str, Any]],
    metrics: list[str],
    settings: dict[str, Any],
    report: _Reporter,
) -> None:
    mean = _mean_row(rows, metrics)
    if path.suffix.lower() == ".csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["category", "num_images", "num_anomalous", *metrics])
        for name, r in rows.items():
            writer.writerow(
                [name, r["num_images"], r["num_anomalous"], *(repr(r[m]) for m in metrics)]
            )
        writer.writerow(["mean", "", "", *(repr(mean[m]) for m in metrics)])
        text = buf.getvalue()
    else:
        doc = {
            "settings": settings,
            "categories": {
                name: {k: _json_value(v) for k, v in r.items()} for name, r in rows.items()
            },
            "mean": {m: _json_value(v) for m, v in mean.items()},
            "problems": report.problems,
            "warnings": report.warnings,
        }
        text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _evaluate_in_chunks(
    spec: Any,
    wanted: list[str],
    fpr_limit: float,
    scores_by_name: dict[str, float] | None,
    workers: int | None,
    progress: bool,
    dask_scheduler: str | None,
    report: _Reporter,
) -> dict[str, Any] | None:
    """The row of a category too large for memory (or sent to Dask), see :mod:`.out_of_core`."""
    return evaluate_spec(
        spec,
        metrics=wanted,
        fpr_limit=fpr_limit,
        image_scores=scores_by_name,
        workers=max(1, workers or get_num_threads()),
        progress=progress,
        dask_scheduler=dask_scheduler,
        problem=report.problem,
        warning=report.warning,
    )


def run_evaluate(
    anomaly_maps: str | os.PathLike[str],
    ground_truth: str | os.PathLike[str],
    *,
    categories: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    fpr_limit: float = 0.3,
    output: str | os.PathLike[str] | None = None,
    plots: str | os.PathLike[str] | None = None,
    image_scores: str | os.PathLike[str] | None = None,
    skip_invalid: bool = False,
    per_image: bool = False,
    workers: int | None = None,
    progress: bool = True,
    resize: str | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    max_memory: int | None = None,
    dask_scheduler: str | None = None,
) -> int:
    """The ``evaluate`` command; returns the exit status (0 ok, 1 problems with the input).

    With ``per_image=True`` the JSON output also holds each image's AUPIMO (null for normal
    images) under ``categories.<name>.per_image.aupimo``, for ``anomaly-metrics compare``.
    ``resize`` (``"nearest"`` or ``"bilinear"``, :mod:`.resize`) upsamples maps smaller than
    their masks; without it a size mismatch is a problem with the input.
    A category larger than ``max_memory`` bytes (default: half of the machine's memory) is
    read in chunks, or evaluated on the Dask cluster at ``dask_scheduler`` (see
    :mod:`.out_of_core`).
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    if per_image and (output is None or Path(output).suffix.lower() == ".csv"):
        print("error: --per-image needs a JSON --output file (e.g. results.json).", file=err)
        return 2
    report = _Reporter(err, skip_invalid)
    wanted = [m for m in METRICS if metrics is None or m in metrics]
    start = time.perf_counter()

    specs, problems = discover(anomaly_maps, ground_truth, categories)
    scores_by_name = None
    if image_scores is not None:
        scores_by_name, bad = read_image_scores(image_scores)
        problems += bad
    for p in problems:
        report.problem(p)

    rows: dict[str, dict[str, Any]] = {}
    plot_files: list[Path] = []
    for spec in specs:
        if not spec.entries:
            continue
        if needs_chunks(spec, max_memory, dask_scheduler):
            row = _evaluate_in_chunks(
                spec, wanted, fpr_limit, scores_by_name, workers, progress, dask_scheduler, report
            )
            if row is not None and (skip_invalid or not report.problems):
                rows[spec.name] = row
                if per_image or plots is not None:
                    report.warning(spec.name, "no plots or per-image values out of core")
            continue
        cat, bad = load_category(
            spec, image_scores=scores_by_name, workers=workers, progress=progress, resize=resize
        )
        for p in bad:
            report.problem(p)
        if cat is None or (report.problems and not skip_invalid):
            continue  # keep reading, to report every problem in one run
        values = _evaluate_category(cat, wanted, fpr_limit, report)
        if values is None:
            continue
        labels = cat.masks.reshape(cat.masks.shape[0], -1).any(axis=1)
        rows[cat.name] = {
            "num_images": int(labels.size),
            "num_anomalous": int(labels.sum()),
            **values,
        }
        if per_image:
            rows[cat.name]["per_image"] = {"aupimo": _per_image_aupimo(cat, report)}
        if plots is not None:
            plot_files += _write_plots(cat, Path(plots), fpr_limit, report)
        del cat

    if report.problems and not skip_invalid:
        report.fail()
        return 1
    if not rows:
        print("error: no category could be evaluated.", file=err)
        return 1

    print(format_table(rows, wanted), file=out)
    elapsed = time.perf_counter() - start
    n_img = sum(r["num_images"] for r in rows.values())
    print(
        f"\n{len(rows)} categor{'y' if len(rows) == 1 else 'ies'}, {n_img} images, {elapsed:.1f} s",
        file=out,
    )
    if resize is not None:
        print(f"maps resized: {describe_resize(resize)}", file=out)
    if output is not None:
        settings = {
            "protocol": "mvtec-ad",
            "anomaly_maps": str(anomaly_maps),
            "ground_truth": str(ground_truth),
            "fpr_limit": fpr_limit,
            "metrics": wanted,
            "image_scores": str(image_scores) if image_scores is not None else "map maximum",
            "resize_maps": resize,
            "resize_maps_detail": describe_resize(resize),
        }
        try:
            _write_output(Path(output), rows, wanted, settings, report)
        except OSError as e:
            print(f"error: {output}: cannot write the results ({e.strerror or e})", file=err)
            return 1
        print(f"results: {output}", file=out)
    if plot_files:
        print(f"plots: {len(plot_files)} PNG files in {plots}", file=out)
    return 0
