"""``anomaly-metrics compare``: read per-image results of several models and compare them.

The result files are JSON written by ``anomaly-metrics evaluate --per-image`` (or by hand, in
one of the layouts :func:`compare_results_files` lists); the comparison itself is
:func:`anomaly_metrics.compare_models`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from ..stats import compare_models

__all__ = ["compare_results_files"]


def _per_image_entry(data: Any, metric: str) -> Any:
    """The per-image values of `metric` in one JSON object, or None (several layouts)."""
    if isinstance(data, list):
        return data
    if not isinstance(data, dict):
        return None
    per_image = data.get("per_image")
    if isinstance(per_image, dict) and metric in per_image:
        return per_image[metric]
    if isinstance(per_image, list):
        return per_image
    entry = data.get(metric)
    if isinstance(entry, dict) and "per_image" in entry:
        return entry["per_image"]
    if isinstance(entry, list):
        return entry
    return None


def _per_image_from_json(data: Any, metric: str, path: str, category: str | None) -> Any:
    """Per-image values of a loaded result file: a list, or a dict image name -> value.

    A file with ``"categories"`` gives one dict keyed ``"<category>/<image>"`` over all its
    categories (or only `category`); list values are keyed by their index in the category.
    """
    hint = (
        f"write them with `anomaly-metrics evaluate --per-image` (expected "
        f'{{"per_image": {{"{metric}": ...}}}}, at the top level or in each category).'
    )
    categories = data.get("categories") if isinstance(data, dict) else None
    if isinstance(categories, dict):
        chosen = list(categories) if category is None else [category]
        if category is not None and category not in categories:
            raise ValueError(
                f"`category` {category!r} is not in {path!r}, which has {sorted(categories)}."
            )
        out: dict[str, Any] = {}
        for cat in chosen:
            values = _per_image_entry(categories[cat], metric)
            if values is None:
                raise ValueError(
                    f"`paths` must name result files with per-image {metric!r} values, but "
                    f"category {cat!r} of {path!r} has none: {hint}"
                )
            items = values.items() if isinstance(values, dict) else enumerate(values)
            out.update((f"{cat}/{key}", v) for key, v in items)
        return out
    if category is not None:
        raise ValueError(f"`category` {category!r} given, but {path!r} has no categories.")
    values = _per_image_entry(data, metric)
    if values is None:
        raise ValueError(
            f"`paths` must name result files with per-image {metric!r} values, but {path!r} "
            f"has none: {hint}"
        )
    return values


def _default_model_names(paths: list[str], declared: list[str | None]) -> list[str]:
    """The file's ``"model"`` field, else its stem; stems that collide use the parent folder."""
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    parents = [os.path.basename(os.path.dirname(os.path.abspath(p))) for p in paths]
    names = []
    for d, stem, parent in zip(declared, stems, parents):
        if d:
            names.append(d)
        elif stems.count(stem) > 1 and parent:
            names.append(parent)
        else:
            names.append(stem)
    return names


def _nan_if_none(v: Any) -> float:
    return float("nan") if v is None else v


def compare_results_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    metric: str = "aupimo",
    test: Literal["wilcoxon", "ttest"] = "wilcoxon",
    alpha: float = 0.05,
    names: Sequence[str] | None = None,
    category: str | None = None,
) -> str:
    """Compare the per-image results of several models saved as JSON; return a text table.

    The entry point of ``anomaly-metrics compare RESULT.json RESULT.json ...``.

    Parameters
    ----------
    paths : sequence of paths, at least 2
        JSON result files, one per model. The per-image values of `metric` are read from
        ``{"per_image": {"aupimo": VALUES}}``, ``{"aupimo": {"per_image": VALUES}}``,
        ``{"per_image": VALUES}`` or a bare list; in a file with ``"categories"`` (what
        ``anomaly-metrics evaluate --per-image`` writes) from each
        ``{"categories": {CATEGORY: {"per_image": {"aupimo": VALUES}}}}``, pooled over the
        categories (images named ``CATEGORY/IMAGE``). ``VALUES`` is an object mapping image
        names to values (images are matched by name; every file must have the same names) or a
        list (one value per image, the same order in every file); ``null`` or ``NaN`` marks an
        image without a value (a normal image for AUPIMO).
    metric : str
        Which per-image metric to read.
    test, alpha
        As :func:`compare_models`.
    names : sequence of str, optional
        Model names; by default the file's ``"model"`` (or ``"name"``) field, else the file's
        stem, or its folder's name when stems collide (``patchcore/results.json``,
        ``padim/results.json``).
    category : str, optional
        Compare on this category only (files with ``"categories"``).

    Returns
    -------
    str
        :meth:`ModelComparison.to_table` of :func:`compare_models` on the files' values.

    Raises
    ------
    ValueError
        Fewer than 2 files, a file (or category) without per-image values, an unknown
        `category`, duplicate model names, image names that differ between files, or anything
        :func:`compare_models` rejects.
    OSError, json.JSONDecodeError
        Unreadable files.

    Examples
    --------
    >>> import json, os, tempfile
    >>> from anomaly_metrics.cli.compare import compare_results_files
    >>> folder = tempfile.mkdtemp()
    >>> for name, values in [("a", [0.9, 0.8, 0.7]), ("b", [0.5, 0.6, 0.4])]:
    ...     with open(os.path.join(folder, name + ".json"), "w") as f:
    ...         json.dump({"model": name, "per_image": {"aupimo": values}}, f)
    >>> text = compare_results_files([os.path.join(folder, n + ".json") for n in "ab"])
    >>> print(text.splitlines()[0])
    Wilcoxon signed-rank test on 3 images scored by every model; Holm-corrected, alpha = 0.05; higher is better.
    """
    paths = [os.fspath(p) for p in paths]
    if len(paths) < 2:
        raise ValueError(f"`paths` must name at least 2 result files, got {len(paths)}.")
    if names is not None and len(names) != len(paths):
        raise ValueError(
            f"`names` must have one name per file ({len(paths)}), got {len(names)} names."
        )
    values = []
    declared: list[str | None] = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            data = json.load(f)
        name = (data.get("model") or data.get("name")) if isinstance(data, dict) else None
        declared.append(name if isinstance(name, str) else None)
        values.append(_per_image_from_json(data, metric, p, category))
    model_names = list(names) if names is not None else _default_model_names(paths, declared)
    duplicates = sorted({n for n in model_names if model_names.count(n) > 1})
    if duplicates:
        raise ValueError(
            f"`paths` must hold one result per model, got the model name(s) {duplicates} more "
            "than once: pass `names` to tell them apart."
        )
    if any(isinstance(v, dict) for v in values):
        if not all(isinstance(v, dict) for v in values):
            raise ValueError(
                "`paths` must all give per-image values by image name, or all as lists; got both."
            )
        keys = list(values[0])
        for model, v in zip(model_names[1:], values[1:]):
            missing = [k for k in keys if k not in v] + [k for k in v if k not in values[0]]
            if missing:
                raise ValueError(
                    f"`paths`: the result of {model!r} must cover the same images as that of "
                    f"{model_names[0]!r}, but image {missing[0]!r} is in one and not the other."
                )
        values = [[v[k] for k in keys] for v in values]
    scores = {
        model: np.array([_nan_if_none(x) for x in v], dtype=np.float64)
        for model, v in zip(model_names, values)
    }
    return compare_models(scores, test=test, alpha=alpha).to_table()
