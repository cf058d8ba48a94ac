"""The README's results section: a short table from a results file, between two markers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .machine import header_lines
from .report import _fmt_ratio, _machine_line, _table, compare, fmt_time

__all__ = ["README_END", "README_START", "render_readme", "update_readme"]

README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"

_README_METRICS = [
    "pixel_auroc",
    "pixel_aupr",
    "pixel_f1_max",
    "aupro",
    "aupimo",
    "aupimo_exact",
    "connected_components",
    "evaluate",
    "image_auroc",
]


def render_readme(res: dict[str, Any]) -> str:
    """The short results section for the README (largest size of the file)."""
    sizes = res.get("sizes", [])
    if not sizes:
        raise ValueError("the results file has no sizes")
    size = max(sizes, key=lambda s: s["pixels"])
    rows = compare(size, res.get("entries", {}))
    metrics = res.get("metrics", {})
    n, h, w = size["size"]
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_metric.setdefault(r.get("metric", ""), []).append(r)
    sort = next(
        (r for r in rows if r["entry"] == "floor:np.sort" and r.get("status") == "ok"), None
    )
    body = []
    for m in _README_METRICS:
        group = by_metric.get(m, [])
        ours = next((r for r in group if r.get("kind") == "ours" and r.get("status") == "ok"), None)
        if ours is None:
            continue
        pixel = metrics.get(m, {}).get("level") == "pixel"
        peers = [
            f"{r['impl']} {_fmt_ratio(r['x_ours'])}x"
            + (f" (diff {r['diff']:.0e})" if (r.get("diff") or 0) > 1e-12 else "")
            for r in group
            if r.get("kind") in ("peer", "ours-torch") and r.get("x_ours") is not None
        ]
        body.append(
            [
                metrics.get(m, {}).get("label", m),
                fmt_time(ours.get("median_s")),
                _fmt_ratio(ours.get("x_sort")) if pixel else "",
                f"{_fmt_ratio(ours.get('x_maps_first'))}; {_fmt_ratio(ours.get('x_maps'))}"
                if pixel
                else "",
                ", ".join(peers) or "-",
            ]
        )
    created = res.get("created", "")[:10]
    lines = [
        f"Measured on {created} on {_machine_line(res)}; synthetic set of {n} x {h} x {w} "
        f"float32 maps ({size['pixels'] / 1e6:.1f}M pixels, {100 * size['defect_fraction']:.1f} % "
        f"defect pixels){'; np.sort of the pixels: ' + fmt_time(sort['median_s']) + ' ms' if sort else ''}.",
        "",
        *header_lines(res.get("machine", {})),
        "",
    ]
    lines += _table(
        [
            "metric",
            "ours (ms)",
            "x np.sort",
            "peak memory / maps (first call; repeated)",
            "others, time / ours",
        ],
        body,
    )
    lines += [
        "",
        "Regenerate with `make bench` (add `make bench-peers` for anomalib and ADEval), then "
        "`python -m bench --update-readme bench/results/latest.json`.",
    ]
    return "\n".join(lines)


def update_readme(res: dict[str, Any], readme: str | Path) -> None:
    """Rewrite what lies between the bench markers of ``readme``."""
    path = Path(readme)
    text = path.read_text()
    start = text.find(README_START)
    end = text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"{path} has no {README_START} ... {README_END} markers")
    new = text[: start + len(README_START)] + "\n" + render_readme(res) + "\n" + text[end:]
    path.write_text(new)
