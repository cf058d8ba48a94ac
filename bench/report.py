"""Turn a results file into markdown: the machine header, the full tables, the targets, the
value-layout tables (the README section is :mod:`bench.readme`).

Peak memory is given twice, as ratios to the inputs' scores (maps for pixel metrics, image scores
for image metrics): ``x_maps_first``, the first full-size call in a fresh process after a warm-up
on a tenth of the set (what a user's first call costs), and ``x_maps``, the largest of the repeated
calls.

Rows of kind ``overhead`` (``ours-torch-ab``: core function and torch ``compute`` timed in one
process, paired) are not metric times -- their ``median_s`` is core + update + compute -- so they
get no ratio to ``np.sort`` or to ours and have their own table, "torch adapter overhead
(in-process, paired)", with ``compute_x_core`` (the median of the per-call compute / core ratios).
"""

from __future__ import annotations

import math
import re
import statistics
from typing import Any

from .machine import header_lines

__all__ = ["compare", "render"]

# time / np.sort of the same pixels, and peak memory / the maps (first call in a fresh process)
TIME_TARGETS = {
    "pixel_auroc": 0.5,
    "pixel_aupr": 0.5,
    "pixel_f1_max": 0.5,
    "pixel_f1_adaptive_threshold": 0.5,
    "pro": 0.2,
    "aupro": 0.7,
    "aupro_multi": 1.0,
    "auspro": 1.0,
    "aupimo": 0.3,
    "aupimo_exact": 0.3,
    "evaluate": 1.0,
}
MEMORY_TARGETS = {
    "pixel_auroc": 0.5,
    "pixel_aupr": 0.5,
    "pixel_f1_max": 0.5,
    "pixel_f1_adaptive_threshold": 0.5,
    "aupro": 1.0,
    "aupro_multi": 1.0,
    "auspro": 1.0,
    "aupimo": 0.3,
    "aupimo_exact": 0.3,
    "evaluate": 1.5,
}

# the metrics of the "ours >= 2x faster than sort-merge" target
SORT_MERGE_METRICS = (
    "pixel_auroc",
    "pixel_aupr",
    "pixel_f1_max",
    "pixel_f1_adaptive_threshold",
    "aupro",
)

# the metrics of the "torch class compute / core <= 1.2" target; image-level computes take
# microseconds, so there the ratio measures call overhead only and is not a target
PIXEL_TORCH_METRICS = (
    "pixel_auroc",
    "pixel_aupr",
    "pixel_f1_max",
    "pixel_f1_adaptive_threshold",
    "pro",
    "aupro",
    "aupimo",
)


# --------------------------------------------------------------------------- comparisons


def _norm_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def value_diff(value: Any, ref: Any) -> tuple[float | None, str]:
    """(largest absolute difference, where) between a value and our value; None if incomparable."""
    if isinstance(value, (int, float)) and isinstance(ref, (int, float)):
        return abs(float(value) - float(ref)), ""
    if isinstance(value, list) and isinstance(ref, list) and len(value) == len(ref):
        diffs = [abs(float(a) - float(b)) for a, b in zip(value, ref) if _num(a) and _num(b)]
        return (max(diffs), "") if diffs else (None, "")
    if isinstance(value, dict) and isinstance(ref, dict):
        refs = {_norm_key(k): v for k, v in ref.items()}
        best: tuple[float | None, str] = (None, "")
        for k, v in value.items():
            if "trapezoid" in k:  # a different definition (ADEval's AUPR): listed, not compared
                continue
            r = refs.get(_norm_key(k))
            if _num(v) and _num(r):
                d = abs(float(v) - float(r))
                if best[0] is None or d > best[0]:
                    best = (d, k)
        return best
    return None, ""


def _num(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(float(x))


def _input_bytes(size: dict[str, Any], metric: str | None) -> int | None:
    """Bytes of the scores a metric reads: the image scores for image metrics, else the maps."""
    if metric and (
        metric.startswith("image_") or metric in ("pgn", "pbn", "bootstrap_image_auroc")
    ):
        return size.get("scores_bytes")
    return size.get("maps_bytes")


def compare(size: dict[str, Any], entries: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs of one size with ratios and differences added."""
    runs = size["runs"]
    by_id = {r["entry"]: r for r in runs}
    sort = by_id.get("floor:np.sort", {}).get("median_s")
    out = []
    for r in runs:
        meta = entries.get(r["entry"], {})
        row = {**meta, **r}
        ours = by_id.get(f"{meta.get('metric')}:ours", {})
        if r.get("status") == "ok" and meta.get("kind") == "overhead":
            ratio = (r.get("phases_s") or {}).get("ratio")
            if ratio is not None:
                row["compute_x_core"] = ratio
        elif r.get("status") == "ok" and "median_s" in r:
            if sort:
                row["x_sort"] = r["median_s"] / sort
            if meta.get("kind") in ("peer", "ours-torch") and ours.get("median_s"):
                row["x_ours"] = r["median_s"] / ours["median_s"]
                compute = (r.get("phases_s") or {}).get("compute")
                if compute is not None:
                    row["compute_x_ours"] = compute / ours["median_s"]
            base = _input_bytes(size, meta.get("metric") or r["entry"].split(":")[0])
            if r.get("peak_bytes") is not None and base:
                row["x_maps"] = r["peak_bytes"] / base
            if r.get("first_peak_bytes") is not None and base:
                row["x_maps_first"] = r["first_peak_bytes"] / base
        if (
            r.get("status") == "ok"
            and meta.get("kind") != "ours"
            and ours.get("status") == "ok"
            and "value" in r
        ):
            d, where = value_diff(r["value"], ours.get("value"))
            if d is not None:
                row["diff"] = d
                row["diff_where"] = where
        out.append(row)
    return out


# --------------------------------------------------------------------------- formatting


def fmt_time(s: float | None) -> str:
    if s is None:
        return ""
    ms = 1e3 * s
    if ms >= 100:
        return f"{ms:,.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3g}"


def _fmt_ratio(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:.2f}" if x < 10 else f"{x:.0f}" if x < 1000 else f"{x:,.0f}"


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return "[" + ", ".join(f"{x:.4g}" if isinstance(x, float) else str(x) for x in v) + "]"
    if isinstance(v, dict):
        return f"{len(v)} values"
    return "" if v is None else str(v)


def _fmt_diff(row: dict[str, Any]) -> str:
    d = row.get("diff")
    if d is None:
        return ""
    if d == 0:
        return "0"
    s = f"{d:.1e}"
    return f"{s} ({row['diff_where']})" if row.get("diff_where") else s


def _mib(b: float | None) -> str:
    if b is None:
        return ""
    m = b / 2**20
    return f"{m:.0f}" if m >= 10 else f"{m:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _machine_line(res: dict[str, Any]) -> str:
    m = res.get("machine", {})
    v = m.get("versions", {})
    parts = [
        m.get("cpu", "unknown CPU"),
        f"{m.get('cpu_count', '?')} cores",
        f"{m.get('memory_gib', '?')} GiB",
        f"Python {m.get('python', '?')}",
        ", ".join(f"{k} {val}" for k, val in v.items()),
    ]
    load = m.get("loadavg")
    line = "; ".join(p for p in parts if p)
    if load:
        line += f"; load average at start {load[0]}"
    return line


# --------------------------------------------------------------------------- targets


def _targets(rows: list[dict[str, Any]], shared: bool = False) -> list[list[str]]:
    by_id = {r["entry"]: r for r in rows}

    def get(entry: str, key: str) -> float | None:
        r = by_id.get(entry, {})
        return r.get(key) if r.get("status") == "ok" else None

    out: list[list[str]] = []

    def add(what: str, value: float | None, limit: float, le: bool, fmt: str = "{:.2f}x") -> None:
        if value is None:
            out.append([what, "not measured", ""])
            return
        ok = value <= limit if le else value >= limit
        out.append([what, fmt.format(value), "yes" if ok else "**no**"])

    for m, limit in TIME_TARGETS.items():
        add(f"`{m}` time / np.sort <= {limit:g}", get(f"{m}:ours", "x_sort"), limit, True)
    for m in ("pixel_auroc", "pixel_aupr", "pixel_f1_max"):
        add(f"scikit-learn / `{m}` >= 3", get(f"{m}:sklearn", "x_ours"), 3.0, False)
    add(
        "scipy label loop / `connected_components` >= 2",
        get("connected_components:scipy", "x_ours"),
        2.0,
        False,
    )
    for m, limit in MEMORY_TARGETS.items():
        first, repeated = get(f"{m}:ours", "x_maps_first"), get(f"{m}:ours", "x_maps")
        what = f"`{m}` peak memory / maps <= {limit:g} (first call in a fresh process; repeated)"
        if first is None or repeated is None:
            add(what, first if repeated is None else repeated, limit, True)
        else:
            ok = max(first, repeated) <= limit
            out.append([what, f"{first:.2f}x; {repeated:.2f}x", "yes" if ok else "**no**"])
    for m in SORT_MERGE_METRICS:
        add(
            f"ours >= 2x faster than sort-merge, `{m}`",
            get(f"{m}:sort-merge", "x_ours"),
            2.0,
            False,
        )
    for m in ("ranking_histogram", "pro_histogram", "pimo_histogram"):
        add(f"streaming update `{m}` / np.sort <= 0.3", get(f"{m}:ours", "x_sort"), 0.3, True)
    add(
        "`bootstrap_ci` of image AUROC, 1000 resamples < 1 s",
        get("bootstrap_image_auroc:ours", "median_s"),
        1.0,
        True,
        "{:.3f} s",
    )
    add(
        "`bootstrap_ci` of AU-PRO, 1000 resamples < 60 s (target at 100 x 256 x 256)",
        get("bootstrap_aupro:ours", "median_s"),
        60.0,
        True,
        "{:.1f} s",
    )
    # per pixel metric: the in-process paired ratio when measured, else the cross-process one
    ratios: list[tuple[float, str, bool]] = []  # (ratio, entry, paired)
    for m in PIXEL_TORCH_METRICS:
        paired = get(f"{m}:ours-torch-ab", "compute_x_core")
        if paired is not None:
            ratios.append((paired, f"{m}:ours-torch-ab", True))
            continue
        cross = get(f"{m}:ours-torch", "compute_x_ours")
        if cross is not None:
            ratios.append((cross, f"{m}:ours-torch", False))
    what = "torch class `compute` / core <= 1.2, pixel metrics"
    if ratios:
        worst = max(ratios)
        n_paired = sum(p for _, _, p in ratios)
        if n_paired == len(ratios):
            how = "in-process paired A/B, median of per-call ratios"
        elif n_paired == 0:
            how = "cross-process `compute_x_ours`: separate processes, noisy"
        else:
            how = f"{n_paired} paired in-process, {len(ratios) - n_paired} cross-process"
        add(f"{what} (worst: {worst[1]}; {how})", worst[0], 1.2, True)
    else:
        add(what, None, 1.2, True)
    imports = [
        r["import_s"]
        for r in rows
        if r.get("kind") == "ours" and r.get("import_s") is not None and not shared
    ]
    add(
        "`import anomaly_metrics` (fresh process, NumPy loaded) < 0.5 s",
        statistics.median(imports) if imports else None,
        0.5,
        True,
        "{:.2f} s",
    )
    return out


# --------------------------------------------------------------------------- full report


def render(res: dict[str, Any]) -> str:
    """The full markdown report of a results file."""
    entries = res.get("entries", {})
    metrics = res.get("metrics", {})
    lines = [
        f"# anomaly-metrics benchmark ({res.get('created', '')})",
        "",
        *header_lines(res.get("machine", {})),
        "",
        f"Machine: {_machine_line(res)}.",
        "",
        "Times are medians over repeats (each entry in a fresh process, after a warm-up call on "
        "a tenth of the set and the first full-size call, whose time is `first call ms`); "
        "peak memory is the resident-memory high-water mark above what was in use before the "
        "call, for the first full-size call (`first`) and the largest of the repeated calls; "
        "`x scores`: those peaks / the bytes of the scores (maps, or image scores for image "
        "metrics). `x np.sort`: time / `np.sort` of the same pixels; `x ours`: time / our "
        "core function; `diff`: largest absolute difference to our value.",
    ]
    if res.get("sizes"):
        lines[-1] += (
            " Torch classes are timed as update (batches of 32 images) + compute; the compute "
            "share is in the notes. The torch adapter's overhead is measured separately, in one "
            "process (`ours-torch-ab`): each call times the core function and the class's "
            "`compute` on the same data, in alternating order; `compute / core` is the median "
            "of the per-call ratios."
        )
    if res.get("options", {}).get("shared_process"):
        lines += [
            "",
            "**Quick run: all entries of a size shared one process**, so first calls and memory "
            "peaks are not those of a fresh process.",
        ]
    for size in res.get("sizes", []):
        rows = compare(size, entries)
        n, h, w = size["size"]
        lines += [
            "",
            f"## {n} x {h} x {w} ({size['pixels'] / 1e6:.1f}M pixels, "
            f"{100 * size['defect_fraction']:.1f} % defect pixels, "
            f"{size['normal_images']} normal images)",
            "",
        ]
        table = []
        skipped = []
        evaluate_rows = []
        overhead_rows = []
        order = {m: i for i, m in enumerate(metrics)}
        rows.sort(key=lambda r: order.get(r.get("metric"), 99))
        for r in rows:
            label = metrics.get(r.get("metric"), {}).get("label", r.get("metric", ""))
            if r.get("status") == "skipped":
                skipped.append(f"{r['entry']}: {r.get('reason', '')}")
                continue
            if r.get("kind") == "overhead":  # not a metric time: its own table below
                overhead_rows.append(r)
                continue
            if r.get("status") != "ok":
                table.append(
                    [label, r.get("impl", ""), r.get("status", "")]
                    + [""] * 8
                    + [str(r.get("reason", ""))[:120].replace("|", "/")]
                )
                continue
            notes = [r["note"]] if r.get("note") else []
            phases = r.get("phases_s")
            if phases and "compute" in phases:
                notes.append(f"compute {fmt_time(phases['compute'])} ms")
            if r.get("cold_nocache_s") is not None:
                notes.append(f"first call, empty Numba cache {fmt_time(r['cold_nocache_s'])} ms")
            if r.get("warmup_error"):
                notes.append("warm-up failed: " + str(r["warmup_error"])[:60].replace("|", "/"))
            if r.get("number", 1) > 1:
                notes.append(f"{r['number']} calls per sample")
            if r.get("metric") == "evaluate":
                evaluate_rows.append(r)
            table.append(
                [
                    label,
                    r.get("impl", ""),
                    fmt_time(r.get("median_s")),
                    f"{fmt_time(r.get('min_s'))}-{fmt_time(r.get('max_s'))}",
                    fmt_time(r.get("cold_s")),
                    f"{_mib(r.get('first_peak_bytes'))} / {_mib(r.get('peak_bytes'))}",
                    f"{_fmt_ratio(r.get('x_maps_first'))} / {_fmt_ratio(r.get('x_maps'))}",
                    _fmt_value(r.get("value")),
                    _fmt_diff(r),
                    _fmt_ratio(r.get("x_sort")) if metrics.get(r.get("metric"), {}).get("level") == "pixel" else "",
                    _fmt_ratio(r.get("x_ours")),
                    "; ".join(notes),
                ]
            )  # fmt: skip
        lines += _table(
            [
                "metric",
                "implementation",
                "median ms",
                "min-max ms",
                "first call ms",
                "peak MiB (first / repeated)",
                "x scores (first / repeated)",
                "value",
                "diff",
                "x np.sort",
                "x ours",
                "notes",
            ],
            table,
        )
        if evaluate_rows:
            lines += ["", "`evaluate` values:", ""]
            for r in evaluate_rows:
                vals = r.get("value") or {}
                if isinstance(vals, dict):
                    body = ", ".join(f"{k} {_fmt_value(v)}" for k, v in vals.items())
                    lines.append(f"- {r.get('impl')}: {body}")
        if overhead_rows:
            lines += ["", "Torch adapter overhead (in-process, paired):", ""]
            lines += _overhead_table(overhead_rows, metrics)
        lines += ["", "Targets:", ""]
        lines += _table(
            ["target", "measured", "met"],
            _targets(rows, bool(res.get("options", {}).get("shared_process"))),
        )
        if skipped:
            lines += ["", "Skipped:", ""] + [f"- {s}" for s in skipped]
    sc = res.get("scaling")
    if sc:
        lines += ["", "## Scaling (256 x 256 images)", ""]
        ids = list(dict.fromkeys(r["entry"] for r in sc["rows"]))
        pix = sorted({r["pixels"] for r in sc["rows"]})
        body = []
        for i in ids:
            cells = []
            for p in pix:
                r = next((x for x in sc["rows"] if x["entry"] == i and x["pixels"] == p), {})
                cells.append(fmt_time(r.get("median_s")) or r.get("status", ""))
            k = sc.get("exponents", {}).get(i)
            body.append([i, *cells, f"{k:.2f}" if k is not None else ""])
        lines += _table(["entry", *[f"{p / 1e6:.1f}M px (ms)" for p in pix], "exponent"], body)
    if res.get("layouts"):
        lines += render_layouts(res["layouts"], res.get("entries", {}))
    return "\n".join(lines) + "\n"


def render_layouts(layouts: list[dict[str, Any]], entries: dict[str, Any]) -> list[str]:
    """One table per value layout: time, ratio to ``np.sort`` of the same pixels, sort-merge / ours."""
    if not layouts:
        return []
    n, h, w = layouts[0]["size"]
    lines = [
        "",
        f"## Value layouts ({n} x {h} x {w})",
        "",
        "The same set with its values changed (`python -m bench --layouts`; see `bench/data.py`). "
        "`x np.sort`: time / `np.sort` of the same pixels (in the layout's dtype); `x ours`: "
        "time / ours; `diff`: largest absolute difference to ours; peaks as ratios to the maps' "
        "bytes (in the layout's dtype: a uint8 map is a quarter of a float32 one). NumPy 2.4's "
        "AVX-512 float16 sort mis-orders more than ~2M values with negatives among them (seen on "
        "an AMD EPYC): the float16 floor may time a faulty sort; the sort-merge peer and our "
        "core widen float16 to float32, which is exact.",
    ]
    for info in layouts:
        rows = compare(info, entries)
        lines += [
            "",
            f"### {info.get('layout')}: {info.get('dtype')}, "
            f"{info.get('distinct_values', '?'):,} distinct values, "
            f"{100 * info.get('defect_fraction', 0.0):.1f} % defect pixels",
            "",
        ]
        body = []
        for r in rows:
            if r.get("status") != "ok":
                reason = str(r.get("reason", ""))[:100].replace("|", "/")
                body.append([r["entry"], r.get("status", ""), "", "", "", "", "", reason])
                continue
            body.append(
                [
                    r["entry"],
                    fmt_time(r.get("median_s")),
                    _fmt_ratio(r.get("x_sort")),
                    _fmt_ratio(r.get("x_ours")),
                    f"{_fmt_ratio(r.get('x_maps_first'))} / {_fmt_ratio(r.get('x_maps'))}",
                    _fmt_value(r.get("value")),
                    _fmt_diff(r),
                    "",
                ]
            )
        lines += _table(
            [
                "entry",
                "median ms",
                "x np.sort",
                "x ours",
                "peak / maps (first / repeated)",
                "value",
                "diff",
                "notes",
            ],
            body,
        )
    return lines


def _overhead_table(rows: list[dict[str, Any]], metrics: dict[str, Any]) -> list[str]:
    """The ``overhead`` rows: core and compute medians and the median paired ratio."""
    body = []
    for r in rows:
        meta = metrics.get(r.get("metric"), {})
        label = meta.get("label", r.get("metric", ""))
        if r.get("status") != "ok":
            reason = str(r.get("reason", ""))[:120].replace("|", "/")
            body.append([label, r.get("status", ""), "", "", "", "", "", reason])
            continue
        ph = r.get("phases_s") or {}
        notes = []
        if meta.get("level") == "image":
            notes.append("image-level: call overhead only, not a target")
        elif r.get("metric") in PIXEL_TORCH_METRICS:
            notes.append("target <= 1.2")
        else:
            notes.append("not a target")
        body.append(
            [
                label,
                fmt_time(ph.get("core")),
                fmt_time(ph.get("compute")),
                _fmt_ratio(r.get("compute_x_core")),
                fmt_time(ph.get("update")),
                str(r.get("phases_n", "")),
                _fmt_diff(r),
                "; ".join(notes),
            ]
        )
    return _table(
        [
            "metric",
            "core ms",
            "compute ms",
            "compute / core (paired)",
            "update ms",
            "pairs",
            "diff",
            "notes",
        ],
        body,
    )
