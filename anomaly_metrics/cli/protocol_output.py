"""``evaluate --protocol NAME`` (other than ``mvtec-ad``): run, print the table, write JSON/CSV.

The table has one row per category (MVTec LOCO AD: one per category and subset, ``logical``,
``structural`` and their ``mean``), then the mean over categories. The JSON holds the settings
(protocol, folders, resizing, SegF1 threshold rule), each category's values (per subset for
LOCO), the mean, and every problem and warning; nan is written as null. The CSV has one line
per table row. Problems with the input are reported as in :mod:`.evaluate`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from .evaluate import _fmt, _json_value, _Reporter
from .protocol_context import Context, ProtocolOptions, Rows
from .protocols import HEADERS, PROTOCOLS, RUNNERS
from .resize import describe_resize

__all__ = ["format_protocol_table", "run_protocol"]

_SHORT = {"logical_anomalies": "logical", "structural_anomalies": "structural", "mean": "mean"}


def _label(name: str, subset: str) -> str:
    return name if not subset else f"{name} {_SHORT[subset]}"


def _mean_rows(results: dict[str, Rows], metrics: list[str], subsets: tuple[str, ...]) -> Rows:
    out: Rows = {}
    for subset in subsets:
        rows = [r[subset] for r in results.values()]
        out[subset] = {
            "num_images": sum(r["num_images"] for r in rows),
            "num_anomalous": sum(r["num_anomalous"] for r in rows),
            **{m: sum(r[m] for r in rows) / len(rows) for m in metrics},
        }
    return out


def format_protocol_table(
    results: dict[str, Rows], metrics: list[str], subsets: tuple[str, ...] = ("",)
) -> str:
    """An aligned table: the rows of each category (one per subset), then the mean rows."""
    header = ["category", "images", "anomalous", *(HEADERS[m] for m in metrics)]

    def cells(label: str, r: dict[str, Any]) -> list[str]:
        return [label, *(_fmt(r[k]) for k in ("num_images", "num_anomalous", *metrics))]

    body = [cells(_label(n, s), rows[s]) for n, rows in results.items() for s in subsets]
    mean = _mean_rows(results, metrics, subsets)
    tail = [cells(_label("mean", s), mean[s]) for s in subsets] if len(results) > 1 else []
    table = [header, *body, *tail]
    widths = [max(len(row[k]) for row in table) for k in range(len(header))]

    def line(row: list[str]) -> str:
        first = row[0].ljust(widths[0])
        return "  ".join([first, *(v.rjust(w) for v, w in zip(row[1:], widths[1:]))]).rstrip()

    rule = line(["-" * w for w in widths])
    out = [line(header), rule, *(line(r) for r in body)]
    if tail:
        out += [rule, *(line(r) for r in tail)]
    return "\n".join(out)


def _json_rows(rows: Rows) -> dict[str, Any]:
    clean = {s: {k: _json_value(v) for k, v in r.items()} for s, r in rows.items()}
    return clean[""] if list(clean) == [""] else clean


def _write(
    path: Path,
    results: dict[str, Rows],
    metrics: list[str],
    subsets: tuple[str, ...],
    settings: dict[str, Any],
    report: _Reporter,
) -> None:
    mean = _mean_rows(results, metrics, subsets)
    if path.suffix.lower() == ".csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        lead = ["category", "subset"] if subsets != ("",) else ["category"]
        writer.writerow([*lead, "num_images", "num_anomalous", *metrics])
        for name, rows in [*results.items(), ("mean", mean)]:
            for s in subsets:
                r = rows[s]
                first = [name, _SHORT[s]] if s else [name]
                writer.writerow(
                    [*first, r["num_images"], r["num_anomalous"], *(repr(r[m]) for m in metrics)]
                )
        text = buf.getvalue()
    else:
        doc = {
            "settings": settings,
            "categories": {name: _json_rows(rows) for name, rows in results.items()},
            "mean": _json_rows(mean),
            "problems": report.problems,
            "warnings": report.warnings,
        }
        text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _settings(
    protocol: str,
    maps: Any,
    gt: Any,
    o: ProtocolOptions,
    metrics: list[str],
    notes: dict[str, Any],
) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "protocol": protocol,
        "anomaly_maps": str(maps),
        "ground_truth": str(gt),
        "metrics": metrics,
        "image_scores": "map maximum",
        "resize_maps": o.resize,
        "resize_maps_detail": describe_resize(o.resize),
    }
    if protocol == "mvtec-ad2":
        settings["split"] = o.split
        settings["segf1_average"] = o.segf1_average
        if o.binarized is not None:
            settings["segf1"] = f"binarised maps of {o.binarized}"
        elif o.threshold_rule is not None:
            settings["segf1"] = (
                f"threshold rule {o.threshold_rule} on the validation maps of {o.validation}"
            )
            settings["threshold_rule"] = o.threshold_rule
            settings["threshold_param"] = o.threshold_param
        else:
            settings["segf1"] = None
    if protocol == "real-iad":
        settings["group_pattern"] = o.group_pattern
        settings["sample_score"] = "maximum of the image scores of the sample's views"
    settings.update(notes)
    return settings


def run_protocol(
    protocol: str,
    anomaly_maps: str | os.PathLike[str],
    ground_truth: str | os.PathLike[str],
    options: ProtocolOptions,
    *,
    output: str | os.PathLike[str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """``evaluate --protocol`` for a protocol other than ``mvtec-ad``; returns the exit status."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    spec = PROTOCOLS[protocol]
    report = _Reporter(err, options.skip_invalid, buffered=True)
    ctx = Context(options, report)
    metrics = list(spec.metrics)
    if protocol == "mvtec-ad2" and options.binarized is None and options.threshold_rule is None:
        metrics.remove("seg_f1")
    start = time.perf_counter()
    maps_root, gt_root = Path(anomaly_maps), Path(ground_truth)
    results: dict[str, Rows] = {}
    for missing, what in ((maps_root, "anomaly-maps"), (gt_root, "ground-truth")):
        if not missing.is_dir():
            print(f"error: {missing}: {what} folder not found", file=err)
            return 1
    for name, rows in RUNNERS[protocol](ctx, maps_root, gt_root):
        results[name] = rows
    if report.problems and not options.skip_invalid:
        report.fail()
        return 1
    if not results:
        print("error: no category could be evaluated.", file=err)
        return 1

    print(f"protocol: {protocol}", file=out)
    print(format_protocol_table(results, metrics, spec.subsets), file=out)
    n_img = sum(r[spec.subsets[-1]]["num_images"] for r in results.values())
    n = len(results)
    elapsed = time.perf_counter() - start
    print(f"\n{n} categor{'y' if n == 1 else 'ies'}, {n_img} images, {elapsed:.1f} s", file=out)
    print(f"maps resized: {describe_resize(options.resize)}", file=out)
    if protocol == "mvtec-ad2":
        if "seg_f1" not in metrics:
            print(
                "SegF1 not computed: pass --binarized-maps DIR, or --validation DIR with "
                "--threshold-rule",
                file=out,
            )
        for name, rows in results.items():
            r = rows[""]
            if r.get("segf1_source"):
                t = r["segf1_threshold"]
                at = "" if t is None or math.isnan(t) else f" threshold {t:.6g},"
                print(f"SegF1 {name}:{at} {r['segf1_source']}", file=out)
    if protocol == "real-iad":
        n_samples = sum(r[""]["num_samples"] for r in results.values())
        print(
            f"samples: {n_samples} (views grouped by --group-pattern {options.group_pattern!r}; "
            "sample score = max over its views)",
            file=out,
        )
    if output is not None:
        settings = _settings(protocol, anomaly_maps, ground_truth, options, metrics, ctx.notes)
        try:
            _write(Path(output), results, metrics, spec.subsets, settings, report)
        except OSError as e:
            print(f"error: {output}: cannot write the results ({e.strerror or e})", file=err)
            return 1
        print(f"results: {output}", file=out)
    return 0
