"""Comparing models: per-image statistics, paired tests with Holm correction, bootstrap intervals.

A dataset-level number (AUROC, AU-PRO, mean AUPIMO) does not say whether model A is *really*
better than model B on the images at hand. Per-image metrics (AUPIMO gives one value per
anomalous image) make paired statistics possible: both models are scored on the same images, so
the per-image differences are what is tested.

- :func:`per_image_stats` summarises one model's per-image values (nan = not scored).
- :func:`compare_models` runs every pairwise paired test (Wilcoxon signed-rank or paired t-test),
  corrects the p-values for multiple comparisons (Holm), ranks the models by average rank and
  groups the models that cannot be told apart.
- :func:`bootstrap_ci` gives a percentile confidence interval of any metric by resampling
  *images* (never pixels: the pixels of one image are not independent). AUROC and AU-PRO have
  exact fast paths that compute every resample from statistics gathered once.
- :func:`compare_results_files` is the command line's entry point: it reads per-image results
  written by ``anomaly-metrics evaluate --per-image`` and returns the comparison as text.

``scipy.stats`` is imported inside the functions that need it, so that ``import anomaly_metrics``
stays fast.
"""

from __future__ import annotations

import functools
import json
import math
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations
from typing import Any, Literal, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._validation import _describe, _to_array, check_fraction, check_scores_and_labels
from ._warnings import UndefinedMetricWarning, warn_undefined

__all__ = [
    "BootstrapCI",
    "ModelComparison",
    "PairwiseTest",
    "PerImageStats",
    "bootstrap_ci",
    "compare_models",
    "compare_results_files",
    "per_image_stats",
]

# Resample indices are drawn in chunks of at most this many entries (rows x images).
_CHUNK_ENTRIES = 1 << 22
# The pairwise-count matrix of the AUROC fast path is (N, N); above this many images, for maps,
# the generic path is used instead.
_MAX_UNITS_PAIR_MATRIX = 4096


# --------------------------------------------------------------------------------------------
# per-image statistics
# --------------------------------------------------------------------------------------------


class PerImageStats(NamedTuple):
    """Summary of one model's per-image values, nan ignored (see :func:`per_image_stats`)."""

    count: int
    mean: float
    median: float
    std: float
    q1: float
    q3: float
    min: float
    argmin: int
    max: float
    argmax: int


def _check_per_image(x: Any, name: str) -> NDArray[np.float64]:
    """A 1-D float64 array of per-image values; nan allowed (not scored), inf is not."""
    if not isinstance(x, np.ndarray) and hasattr(x, "per_image"):
        x = x.per_image  # an AupimoResult (or anything holding per-image values)
    arr = _to_array(x, name)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must hold real numbers, got dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if arr.ndim != 1:
        raise ValueError(
            f"`{name}` must be 1-D (one value per image), got shape {arr.shape}; "
            "pass the per-image values, e.g. `aupimo(...).per_image`."
        )
    if arr.size == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {arr.shape}.")
    if np.isinf(arr).any():
        bad = int(np.flatnonzero(np.isinf(arr))[0])
        raise ValueError(
            f"`{name}` must be finite or nan (nan = image not scored), got {arr[bad]} at image "
            f"{bad}."
        )
    return arr


def per_image_stats(scores: Any) -> PerImageStats:
    """Summary statistics of per-image values, ignoring nan (images without a value).

    Parameters
    ----------
    scores : array-like of shape (N,) or AupimoResult
        One value per image, e.g. per-image AUPIMO; nan marks an image that has no value (a
        normal image in AUPIMO). An object with a ``per_image`` attribute (``AupimoResult``) is
        accepted as well.

    Returns
    -------
    PerImageStats
        ``count`` (images with a value), ``mean``, ``median``, ``std`` (unbiased, ``N - 1``),
        the quartiles ``q1`` and ``q3`` (linear interpolation, as ``numpy.percentile``),
        ``min`` / ``max`` and ``argmin`` / ``argmax``: their image indices in the *original*
        array, nan included (the first one on ties).

    Raises
    ------
    TypeError
        Non-numeric input.
    ValueError
        Empty input, not 1-D, or infinite values.

    Warns
    -----
    UndefinedMetricWarning
        Every value is nan (all statistics nan, indices -1), or a single value (``std`` is nan).

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> s = am.per_image_stats([0.9, np.nan, 0.2, 0.6, 0.7])
    >>> s.count, round(s.mean, 6), round(s.median, 6), round(s.q1, 6)
    (4, 0.6, 0.65, 0.5)
    >>> s.min, s.argmin, s.max, s.argmax
    (0.2, 2, 0.9, 0)
    """
    values = _check_per_image(scores, "scores")
    return _per_image_stats(values)


def _per_image_stats(values: NDArray[np.float64]) -> PerImageStats:
    """Statistics of a checked 1-D array (nan = no value). Inputs are not validated."""
    valid = ~np.isnan(values)
    count = int(valid.sum())
    nan = float("nan")
    if count == 0:
        warn_undefined("Every per-image value is nan: the statistics are undefined (nan).")
        return PerImageStats(0, nan, nan, nan, nan, nan, nan, -1, nan, -1)
    v = values[valid]
    if count == 1:
        warn_undefined("A single per-image value: the unbiased std is undefined (nan).")
        std = nan
    else:
        std = float(v.std(ddof=1))
    q1, median, q3 = (float(q) for q in np.percentile(v, [25.0, 50.0, 75.0]))
    return PerImageStats(
        count=count,
        mean=float(v.mean()),
        median=median,
        std=std,
        q1=q1,
        q3=q3,
        min=float(v.min()),
        argmin=int(np.nanargmin(values)),
        max=float(v.max()),
        argmax=int(np.nanargmax(values)),
    )


# --------------------------------------------------------------------------------------------
# paired tests
# --------------------------------------------------------------------------------------------


class PairwiseTest(NamedTuple):
    """One paired test between two models (see :func:`compare_models`).

    ``model_a`` is the better-ranked model of the pair. ``wins_a`` / ``wins_b`` / ``ties`` are
    fractions of the common images where a is better, b is better, or they are equal.
    ``mean_difference`` is the mean of ``a - b`` over the common images.
    """

    model_a: str
    model_b: str
    statistic: float
    pvalue: float
    pvalue_holm: float
    significant: bool
    wins_a: float
    wins_b: float
    ties: float
    mean_difference: float


_TEST_NAMES = {"wilcoxon": "Wilcoxon signed-rank test", "ttest": "paired t-test"}


class ModelComparison(NamedTuple):
    """All pairwise comparisons of a set of models (see :func:`compare_models`).

    ``models`` is the ranking, best average rank first; ``average_ranks`` and ``stats``
    (:class:`PerImageStats`, image indices into the arrays as given) follow that order. ``pairs`` holds one
    :class:`PairwiseTest` per pair, in ranking order. ``groups`` are the maximal runs of
    consecutive models in the ranking among which no pair differs significantly (after Holm's
    correction): models of one group cannot be told apart. ``print(result)`` shows it as a table.
    """

    models: tuple[str, ...]
    average_ranks: tuple[float, ...]
    stats: tuple[PerImageStats, ...]
    pairs: tuple[PairwiseTest, ...]
    groups: tuple[tuple[str, ...], ...]
    test: str
    alpha: float
    n_images: int
    higher_is_better: bool

    def to_table(self) -> str:
        """The comparison as plain text: a ranking table, a pairwise table and the groups."""
        better = "higher" if self.higher_is_better else "lower"
        lines = [
            f"{_TEST_NAMES.get(self.test, self.test)} on {self.n_images} images scored by every "
            f"model; Holm-corrected, alpha = {self.alpha:g}; {better} is better.",
            "",
        ]
        rows = [["rank", "model", "avg rank", "mean", "median", "std", "q1", "q3"]]
        for i, (name, rank, st) in enumerate(
            zip(self.models, self.average_ranks, self.stats), start=1
        ):
            rows.append(
                [
                    str(i),
                    name,
                    f"{rank:.3f}",
                    *(f"{v:.4f}" for v in (st.mean, st.median, st.std, st.q1, st.q3)),
                ]
            )
        lines += _format_rows(rows)
        lines.append("")
        rows = [["model A", "model B", "A wins", "B wins", "ties", "mean A-B"]]
        rows[0] += ["statistic", "p-value", "p (Holm)", "significant"]
        for p in self.pairs:
            rows.append(
                [
                    p.model_a,
                    p.model_b,
                    f"{p.wins_a:.1%}",
                    f"{p.wins_b:.1%}",
                    f"{p.ties:.1%}",
                    f"{p.mean_difference:+.4f}",
                    f"{p.statistic:.4g}",
                    f"{p.pvalue:.3g}",
                    f"{p.pvalue_holm:.3g}",
                    "yes" if p.significant else "no",
                ]
            )
        lines += _format_rows(rows)
        lines.append("")
        groups = ", ".join("{" + ", ".join(g) + "}" for g in self.groups)
        lines.append(f"Groups that cannot be told apart: {groups}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_table()


def _format_rows(rows: list[list[str]]) -> list[str]:
    """Left-aligned columns, two spaces apart, a rule under the header."""
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    out.insert(1, "  ".join("-" * w for w in widths))
    return out


def _holm(pvalues: NDArray[np.float64]) -> NDArray[np.float64]:
    """Holm step-down adjusted p-values (same order as the input). Inputs are not validated."""
    m = pvalues.shape[0]
    order = np.argsort(pvalues, kind="stable")
    scaled = (m - np.arange(m)) * pvalues[order]
    adjusted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    out = np.empty(m, np.float64)
    out[order] = adjusted
    return out


def _paired_test(a: NDArray[np.float64], b: NDArray[np.float64], test: str) -> tuple[float, float]:
    """(statistic, p-value) of the two-sided paired test of ``a`` against ``b``."""
    import scipy.stats

    if np.array_equal(a, b):
        # No difference at all: nothing to test. scipy's t-test returns nan here.
        return 0.0, 1.0
    with warnings.catch_warnings():
        # constant differences (t = +-inf) or near-identical data: scipy's result stands
        warnings.simplefilter("ignore", RuntimeWarning)
        if test == "wilcoxon":
            res = scipy.stats.wilcoxon(a, b)
        else:
            res = scipy.stats.ttest_rel(a, b)
    return float(res.statistic), float(res.pvalue)


def _groups(significant: NDArray[np.bool_]) -> tuple[tuple[int, ...], ...]:
    """Maximal runs ``i..j`` of the ranking with no significant pair inside (as index tuples)."""
    m = significant.shape[0]
    runs: list[tuple[int, int]] = []
    for i in range(m):
        j = i
        while j + 1 < m and not significant[i : j + 2, j + 1].any():
            j += 1
        if not runs or j > runs[-1][1]:
            runs.append((i, j))
    return tuple(tuple(range(i, j + 1)) for i, j in runs)


def _check_models(
    per_image_scores: Any,
) -> tuple[list[str], NDArray[np.float64], NDArray[np.bool_]]:
    """Names, the (M, N) values and the mask of the common images; precise errors otherwise."""
    if not isinstance(per_image_scores, Mapping):
        raise TypeError(
            "`per_image_scores` must be a mapping of model name to per-image values, got "
            f"{_describe(per_image_scores)}."
        )
    if len(per_image_scores) < 2:
        raise ValueError(
            f"`per_image_scores` must hold at least 2 models, got {len(per_image_scores)}."
        )
    names: list[str] = []
    arrays: list[NDArray[np.float64]] = []
    for key, value in per_image_scores.items():
        if not isinstance(key, str):
            raise TypeError(f"`per_image_scores` keys must be model names (str), got {key!r}.")
        names.append(key)
        arrays.append(_check_per_image(value, f"per_image_scores[{key!r}]"))
    ref_name, ref = names[0], arrays[0]
    ref_nan = np.isnan(ref)
    for name, arr in zip(names[1:], arrays[1:]):
        if arr.shape[0] != ref.shape[0]:
            raise ValueError(
                f"`per_image_scores[{name!r}]` must have one value per image like "
                f"`per_image_scores[{ref_name!r}]` ({ref.shape[0]} images), got {arr.shape[0]}."
            )
        differ = np.flatnonzero(np.isnan(arr) != ref_nan)
        if differ.size:
            i = int(differ[0])
            raise ValueError(
                f"`per_image_scores[{name!r}]` must be nan on the same images as "
                f"`per_image_scores[{ref_name!r}]`: image {i} is {arr[i]} for {name!r} but "
                f"{ref[i]} for {ref_name!r} ({differ.size} image(s) differ). Every model must "
                "score the same images (nan = not scored, e.g. a normal image in AUPIMO)."
            )
    n_common = int((~ref_nan).sum())
    if n_common < 2:
        raise ValueError(
            "`per_image_scores` must have at least 2 images scored by every model (not nan), "
            f"got {n_common} of {ref.shape[0]}."
        )
    return names, np.stack(arrays), ~ref_nan


def compare_models(
    per_image_scores: Mapping[str, Any],
    *,
    test: Literal["wilcoxon", "ttest"] = "wilcoxon",
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> ModelComparison:
    """Compare models pairwise on per-image values with paired tests, Holm-corrected.

    Every pair of models is tested on the images every model scored (the paired differences),
    two-sided. The p-values are corrected for the number of pairs with Holm's step-down method
    (it controls the family-wise error rate, like Bonferroni, but rejects more). The models are
    ranked by their average rank over the images (rank 1 = best on an image, ties share the
    average rank).

    Parameters
    ----------
    per_image_scores : mapping of str to array-like of shape (N,)
        Model name -> one value per image, the same N images in the same order for every model;
        nan marks images that were not scored (normal images in AUPIMO) and must be nan for every
        model. ``AupimoResult`` values are accepted (their ``per_image``).
    test : {"wilcoxon", "ttest"}
        ``"wilcoxon"``: ``scipy.stats.wilcoxon(a, b)`` (signed-rank test, no normality
        assumption; the default). ``"ttest"``: ``scipy.stats.ttest_rel(a, b)``.
    alpha : float in (0, 1)
        Family-wise significance level: a pair is significant iff its Holm-adjusted p-value
        is ``<= alpha``.
    higher_is_better : bool
        Direction of the values (True for AUPIMO); decides wins and ranks, not the tests.

    Returns
    -------
    ModelComparison
        ``models`` (ranking, best first), ``average_ranks``, ``stats`` (per model; nan ignored,
        indices into the arrays as given), ``pairs`` (:class:`PairwiseTest`: statistic, p-value, Holm-adjusted p-value,
        significance, fraction of images each model wins, ties, mean difference), ``groups``
        (runs of the ranking that cannot be told apart), ``test``, ``alpha``, ``n_images``,
        ``higher_is_better``. ``print(result)`` (or ``result.to_table()``) gives a text table.

    Raises
    ------
    TypeError
        Not a mapping, a name that is not a str, or non-numeric values.
    ValueError
        Fewer than 2 models; values not 1-D or infinite; a model with a different number of
        images than the first one; nan on different images for two models (the message names the
        model and the image); fewer than 2 images scored by every model; bad `test` or `alpha`.

    Notes
    -----
    The statistic and p-value are scipy's (``wilcoxon`` with its defaults: zero differences
    dropped, exact distribution for small samples without ties; with ties or zeros in at
    most 13 images scipy enumerates the sign flips, which can take seconds per pair). When two
    models have equal values on every image the pair gets statistic 0 and p-value 1 (scipy's t-test would give
    nan). Groups: walking down the ranking, each maximal run of consecutive models with no
    significant pair inside is a group; a model significantly different from its neighbours is
    a group of its own.

    References
    ----------
    Bertoldo et al., "AUPIMO: Redefining Visual Anomaly Detection Benchmarks with High Speed and
    Low Tolerance", BMVC 2024 (arXiv:2401.01984): per-image comparison of models.
    Holm, "A simple sequentially rejective multiple test procedure", Scand. J. Stat. 6 (1979).

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> a = [0.9, 0.8, 0.85, 0.7, 0.95, 0.9, 0.75, 0.8, np.nan]
    >>> b = [0.6, 0.7, 0.65, 0.6, 0.7, 0.75, 0.7, 0.6, np.nan]
    >>> result = am.compare_models({"model_b": b, "model_a": a})
    >>> result.models
    ('model_a', 'model_b')
    >>> pair = result.pairs[0]
    >>> pair.wins_a, round(pair.pvalue, 4), pair.significant
    (1.0, 0.0078, True)
    """
    if test not in _TEST_NAMES:
        raise ValueError(f'`test` must be "wilcoxon" or "ttest", got {test!r}.')
    alpha = check_fraction(alpha, "alpha", low_open=True, high_open=True)
    if not isinstance(higher_is_better, (bool, np.bool_)):
        raise TypeError(f"`higher_is_better` must be a bool, got {_describe(higher_is_better)}.")
    names, full, common = _check_models(per_image_scores)
    values = full[:, common]
    import scipy.stats

    m, n = values.shape
    oriented = values if higher_is_better else -values
    avg_ranks = scipy.stats.rankdata(-oriented, method="average", axis=0).mean(axis=1)
    means = oriented.mean(axis=1)
    # best average rank first; ties broken by the better mean, then by input order
    order = sorted(range(m), key=lambda i: (avg_ranks[i], -means[i], i))
    ranked = [names[i] for i in order]
    vals = values[order]
    ori = oriented[order]

    pair_idx = list(combinations(range(m), 2))
    raw = [_paired_test(vals[i], vals[j], test) for i, j in pair_idx]
    pvalues = np.array([p for _, p in raw], np.float64)
    adjusted = _holm(pvalues)
    significant = np.zeros((m, m), bool)
    pairs = []
    for k, (i, j) in enumerate(pair_idx):
        sig = bool(adjusted[k] <= alpha)
        significant[i, j] = significant[j, i] = sig
        pairs.append(
            PairwiseTest(
                model_a=ranked[i],
                model_b=ranked[j],
                statistic=raw[k][0],
                pvalue=raw[k][1],
                pvalue_holm=float(adjusted[k]),
                significant=sig,
                wins_a=float(np.count_nonzero(ori[i] > ori[j]) / n),
                wins_b=float(np.count_nonzero(ori[i] < ori[j]) / n),
                ties=float(np.count_nonzero(ori[i] == ori[j]) / n),
                mean_difference=float(np.mean(vals[i] - vals[j])),
            )
        )
    groups = tuple(tuple(ranked[i] for i in g) for g in _groups(significant))
    stats = tuple(_per_image_stats(full[i]) for i in order)
    return ModelComparison(
        models=tuple(ranked),
        average_ranks=tuple(float(avg_ranks[i]) for i in order),
        stats=stats,
        pairs=tuple(pairs),
        groups=groups,
        test=test,
        alpha=alpha,
        n_images=n,
        higher_is_better=bool(higher_is_better),
    )


# --------------------------------------------------------------------------------------------
# result files (command line)
# --------------------------------------------------------------------------------------------


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
    >>> from anomaly_metrics.compare import compare_results_files
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


# --------------------------------------------------------------------------------------------
# bootstrap confidence intervals
# --------------------------------------------------------------------------------------------


class BootstrapCI(NamedTuple):
    """Percentile bootstrap confidence interval (see :func:`bootstrap_ci`)."""

    low: float
    high: float
    estimate: float
    confidence: float
    n_resamples: int


def _resample_indices(
    rng: np.random.Generator,
    n: int,
    n_resamples: int,
    strata: list[NDArray[np.intp]] | None,
) -> Iterator[NDArray[np.intp]]:
    """Chunks ``(b, n)`` of image indices, one row per resample, drawn with replacement.

    With `strata` (image index arrays, one per class) each class is resampled within itself, so
    every resample keeps the class sizes. Every path of :func:`bootstrap_ci` draws through this
    function, so a seed gives the same resamples whichever path computes them.
    """
    rows = max(1, min(n_resamples, _CHUNK_ENTRIES // max(n, 1)))
    done = 0
    while done < n_resamples:
        b = min(rows, n_resamples - done)
        if strata is None:
            idx = rng.integers(0, n, size=(b, n))
        else:
            idx = np.empty((b, n), np.intp)
            for members in strata:
                idx[:, members] = members[rng.integers(0, members.size, size=(b, members.size))]
        done += b
        yield idx


def _multiplicities(idx: NDArray[np.intp], n: int) -> NDArray[np.float64]:
    """How many times each image is drawn in each resample: ``(b, n)`` float64 counts."""
    b = idx.shape[0]
    flat = (idx + (np.arange(b) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)


@njit(cache=True, nogil=True)
def _auroc_pair_matrix_kernel(values, labels, order, per, n_units):  # pragma: no cover - compiled
    """``M[i, j]``: pairs (positive of image i, negative of image j) ranked right, ties 1/2.

    ``values`` ascending with their ``labels``; ``order`` the flat index each came from, so the
    image is ``order // per`` (``per`` values per image). The AUROC of
    any resample with image multiplicities ``w`` is ``w @ M @ w / (pos(w) * neg(w))``, so this
    one pass replaces a sort per resample. A loop because it walks tie groups while adding a
    running per-image count vector into rows, which NumPy cannot express without an
    (n, N) temporary. Inputs are not validated; call through `bootstrap_ci`.
    """
    n = values.shape[0]
    m = np.zeros((n_units, n_units), np.float64)
    below = np.zeros(n_units, np.float64)  # negatives strictly below the current tie group
    tied = np.zeros(n_units, np.float64)  # negatives in the current tie group
    k = 0
    while k < n:
        j = k
        v = values[k]
        while j < n and values[j] == v:
            if not labels[j]:
                tied[order[j] // per] += 1.0
            j += 1
        for q in range(k, j):
            if labels[q]:
                row = order[q] // per
                for c in range(n_units):
                    m[row, c] += below[c] + 0.5 * tied[c]
        for q in range(k, j):
            if not labels[q]:
                u = order[q] // per
                below[u] += 1.0
                tied[u] -= 1.0
        k = j
    return m


class _AurocStats(NamedTuple):
    pair: NDArray[np.float64] | None  # (N, N) pair counts (maps), or None (one score per image)
    n_pos: NDArray[np.float64]  # (N,) positives per image
    n_neg: NDArray[np.float64]  # (N,) negatives per image
    level: NDArray[np.intp] | None  # (N,) index of the image's score among the distinct ones
    n_levels: int


def _auroc_statistics(scores: Any, labels: Any, n: int) -> _AurocStats | None:
    """Per-image statistics from which every resample's AUROC follows (None: use generic)."""
    s, y = check_scores_and_labels(scores, labels)
    per = s.size // n
    if per == 1:
        levels, level = np.unique(s.astype(np.float64), return_inverse=True)
        yf = y.astype(np.float64)
        return _AurocStats(None, yf, 1.0 - yf, level.reshape(-1), levels.size)
    if n > _MAX_UNITS_PAIR_MATRIX:
        return None
    n_pos = np.count_nonzero(y.reshape(n, per), axis=1).astype(np.float64)
    n_neg = per - n_pos
    minority_pos = n_pos.sum() <= n_neg.sum()
    # walk the rarer class's elements: pairs seen from the negatives are M transposed, found by
    # negating the scores (a negative is "above" a positive iff its negated score is). Ties
    # are grouped by value, so any sort will do.
    v = s if minority_pos else -s
    lab = y if minority_pos else ~y
    order = np.argsort(v)
    pair = _auroc_pair_matrix_kernel(v[order], lab[order], order, per, n)
    if not minority_pos:
        pair = np.ascontiguousarray(pair.T)
    return _AurocStats(pair, n_pos, n_neg, None, 0)


def _auroc_resamples(st: _AurocStats, idx: NDArray[np.intp]) -> NDArray[np.float64]:
    """AUROC of each resample (rows of `idx`); nan where a class is missing."""
    b, n = idx.shape
    if st.pair is None:
        # one score per image: weighted counts per distinct score level, Mann-Whitney by cumsum
        nl = st.n_levels
        flat = (st.level[idx] + (np.arange(b) * nl)[:, None]).ravel()
        pos = st.n_pos[idx].ravel()
        cnt_pos = np.bincount(flat, weights=pos, minlength=b * nl).reshape(b, nl)
        cnt_neg = np.bincount(flat, weights=1.0 - pos, minlength=b * nl).reshape(b, nl)
        below = np.cumsum(cnt_neg, axis=1) - cnt_neg
        num = np.sum(cnt_pos * (below + 0.5 * cnt_neg), axis=1)
        tot_pos = cnt_pos.sum(axis=1)
        tot_neg = cnt_neg.sum(axis=1)
    else:
        w = _multiplicities(idx, n)
        num = np.einsum("bi,bi->b", w @ st.pair, w)
        tot_pos = w @ st.n_pos
        tot_neg = w @ st.n_neg
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / (tot_pos * tot_neg)
    out[(tot_pos == 0) | (tot_neg == 0)] = np.nan
    return out


@njit(cache=True, nogil=True)
def _aupro_checkpoints_kernel(
    image, weight, group_end, n_img, stride, n_checkpoints
):  # pragma: no cover
    """Per-image sufficient statistics of the PRO curve at checkpoints along the sorted pixels.

    Pixels are sorted by score, descending; ``weight[k]`` is ``1 / region size`` (0 for
    background). Checkpoint ``c`` sits at the tie-group boundary ``start[c]`` (checkpoint 0 at
    pixel 0) and stores, per image, the background count ``fp[c, i]`` and region weight
    ``tp[c, i]`` above it, and ``q[c]`` such that for any image multiplicities ``w`` the
    (unnormalised) area under the PRO curve up to there is ``w @ q[c] @ w``: every (background,
    region pixel) pair with the region pixel ranked higher adds ``w_i * w_j * weight``, a tie
    adds half of it. Accumulated from the region pixels' side,
    ``q = outer(fp, tp) - r`` with ``r[:, j] += weight * (fp_before + ties / 2)``.
    A loop because it walks tie groups adding running per-image vectors into columns.
    Inputs are not validated; call through `bootstrap_ci`.
    """
    n_pix = image.shape[0]
    start = np.zeros(n_checkpoints, np.int64)
    fp = np.zeros((n_checkpoints, n_img), np.float64)
    tp = np.zeros((n_checkpoints, n_img), np.float64)
    q = np.zeros((n_checkpoints, n_img, n_img), np.float64)
    fpc = np.zeros(n_img, np.float64)  # background above the current group, per image
    tpc = np.zeros(n_img, np.float64)  # region weight above the current group, per image
    tie = np.zeros(n_img, np.float64)  # background in the current group, per image
    r = np.zeros((n_img, n_img), np.float64)
    c = 1
    next_stop = stride
    k = 0
    while k < n_pix and c < n_checkpoints:
        j = k
        while True:
            if weight[j] == 0.0:
                tie[image[j]] += 1.0
            j += 1
            if group_end[j - 1]:
                break
        for p in range(k, j):
            if weight[p] != 0.0:
                col = image[p]
                wp = weight[p]
                for i in range(n_img):
                    r[i, col] += wp * (fpc[i] + 0.5 * tie[i])
                tpc[col] += wp
        for p in range(k, j):
            if weight[p] == 0.0:
                fpc[image[p]] += 1.0
                tie[image[p]] = 0.0
        k = j
        if k >= next_stop and k < n_pix:
            start[c] = k
            fp[c] = fpc
            tp[c] = tpc
            for i in range(n_img):
                for jj in range(n_img):
                    q[c, i, jj] = fpc[i] * tpc[jj] - r[i, jj]
            c += 1
            next_stop = k + stride
    return start[:c], fp[:c], tp[:c], q[:c]


@njit(cache=True, nogil=True)
def _aupro_resamples_kernel(
    image,
    weight,
    group_end,
    start,
    cp_fp,
    cp_tp,
    cp_q,
    multiplicity,
    n_background,
    n_regions,
    fpr_limit,
    out,
):  # pragma: no cover - compiled
    """AU-PRO of each resample from the checkpoints, then a walk to the ``fpr_limit`` crossing.

    Resample ``b`` counts every pixel of image ``i`` ``multiplicity[b, i]`` times. Its curve up to
    the last checkpoint below the limit follows from :func:`_aupro_checkpoints_kernel`'s
    statistics (a quadratic form in the multiplicities); from there the sorted pixels are walked
    with weighted increments (a tie group is one diagonal segment) up to the segment that crosses
    ``fpr_limit``, which is cut by linear interpolation, as :func:`aupro` does. A loop because the
    walk stops at a different pixel in every resample. Inputs are not validated; call through
    `bootstrap_ci`.
    """
    n_pix = image.shape[0]
    n_img = n_background.shape[0]
    n_cp = start.shape[0]
    for b in range(multiplicity.shape[0]):
        w = multiplicity[b]
        bg = 0.0
        regions = 0.0
        for i in range(n_img):
            bg += w[i] * n_background[i]
            regions += w[i] * n_regions[i]
        if bg == 0.0 or regions == 0.0:
            out[b] = np.nan
            continue
        target = fpr_limit * bg
        # last checkpoint whose FP is still within the limit (FP grows along the checkpoints)
        lo = 0
        hi = n_cp - 1
        while lo < hi:
            mid = (lo + hi + 1) >> 1
            f = 0.0
            for i in range(n_img):
                f += w[i] * cp_fp[mid, i]
            if f <= target:
                lo = mid
            else:
                hi = mid - 1
        fp = 0.0
        tp = 0.0
        area = 0.0
        for i in range(n_img):
            fp += w[i] * cp_fp[lo, i]
            tp += w[i] * cp_tp[lo, i]
            if w[i] != 0.0:
                row = 0.0
                for jj in range(n_img):
                    row += cp_q[lo, i, jj] * w[jj]
                area += w[i] * row
        k = start[lo]
        while k < n_pix and fp < target:
            dfp = 0.0
            dtp = 0.0
            while True:
                wi = w[image[k]]
                if weight[k] == 0.0:
                    dfp += wi
                else:
                    dtp += wi * weight[k]
                k += 1
                if group_end[k - 1]:
                    break
            if fp + dfp <= target:
                area += dfp * (tp + 0.5 * dtp)
                fp += dfp
                tp += dtp
            else:
                part = target - fp
                area += part * (tp + 0.5 * dtp * part / dfp)
                break
        out[b] = area / (bg * regions) / fpr_limit


# Memory for the AU-PRO checkpoints (n_checkpoints x N x N float64) and work to build them.
_AUPRO_CHECKPOINT_BYTES = 1 << 26
_AUPRO_CHECKPOINT_WORK = 1 << 29


class _AuproStats(NamedTuple):
    image: NDArray[np.int32]  # (P,) image of each kept pixel, by score descending
    weight: NDArray[np.float64]  # (P,) 1 / region size, 0 for background
    group_end: NDArray[np.bool_]  # (P,) last pixel of its tie group
    start: NDArray[np.int64]  # (C,) first pixel after each checkpoint
    cp_fp: NDArray[np.float64]  # (C, N) background per image above each checkpoint
    cp_tp: NDArray[np.float64]  # (C, N) region weight per image above each checkpoint
    cp_q: NDArray[np.float64]  # (C, N, N) area quadratic form at each checkpoint
    n_background: NDArray[np.float64]  # (N,)
    n_regions: NDArray[np.float64]  # (N,)
    fpr_limit: float


def _aupro_statistics(anomaly_maps: Any, masks: Any, fpr_limit: float) -> _AuproStats:
    """Sorted pixels that any resample's PRO curve can reach before `fpr_limit`, + checkpoints.

    For image i with background, ``c_i`` is its ``floor(fpr_limit * bg_i) + 1``-th highest
    background score: at any threshold ``t <= min_i c_i`` *every* image has an FPR above the
    limit, hence so has every resample (a weighted average of them). Pixels below that threshold
    are never reached and are dropped before sorting.
    """
    from ._components import _region_ids
    from ._validation import check_maps_and_masks

    maps, m = check_maps_and_masks(anomaly_maps, masks)
    n, h, w = maps.shape
    hw = h * w
    ids, sizes = _region_ids(m, 8)
    scores = maps.reshape(-1)
    in_region = m.reshape(-1)
    pos_flat = np.flatnonzero(in_region)
    region_image = np.zeros(sizes.size, np.int64)
    region_image[ids] = pos_flat // hw
    n_regions = np.bincount(region_image, minlength=n).astype(np.float64)
    n_background = (hw - m.reshape(n, hw).sum(axis=1)).astype(np.float64)
    cut = np.inf
    for i in range(n):
        bg_i = int(n_background[i])
        if bg_i == 0:
            continue
        background = maps[i][~m[i]]
        k = min(math.floor(fpr_limit * bg_i) + 1, bg_i)
        background.partition(bg_i - k)
        cut = min(cut, float(background[bg_i - k]))
    keep = scores >= cut if np.isfinite(cut) else np.ones(scores.size, bool)
    kept = np.flatnonzero(keep)
    weight = np.zeros(kept.size, np.float64)
    weight[in_region[kept]] = (1.0 / sizes.astype(np.float64)[ids])[keep[pos_flat]]
    values = scores[kept]
    order = np.argsort(values, kind="stable")[::-1]
    values = values[order]
    group_end = np.empty(values.size, bool)
    group_end[:-1] = values[:-1] != values[1:]
    group_end[-1:] = True
    image = (kept[order] // hw).astype(np.int32)
    weight = weight[order]
    n_pix = image.size
    n_pos = int(np.count_nonzero(weight))
    n_cp = 1
    if n_pos * n <= _AUPRO_CHECKPOINT_WORK:
        n_cp = int(min(n_pix, 1024, max(1, _AUPRO_CHECKPOINT_BYTES // (8 * n * n))))
    stride = max(1, -(-n_pix // n_cp))
    start, cp_fp, cp_tp, cp_q = _aupro_checkpoints_kernel(image, weight, group_end, n, stride, n_cp)
    return _AuproStats(
        image,
        weight,
        group_end,
        start,
        cp_fp,
        cp_tp,
        cp_q,
        n_background,
        n_regions,
        float(fpr_limit),
    )


def _aupro_resamples(st: _AuproStats, idx: NDArray[np.intp]) -> NDArray[np.float64]:
    """AU-PRO of each resample (rows of `idx`), threads over resamples; nan when undefined."""
    b, n = idx.shape
    w = _multiplicities(idx, n)
    out = np.empty(b, np.float64)
    workers = max(1, min(os.cpu_count() or 1, 8, b // 16))

    def run(rows: slice) -> None:
        _aupro_resamples_kernel(
            st.image,
            st.weight,
            st.group_end,
            st.start,
            st.cp_fp,
            st.cp_tp,
            st.cp_q,
            w[rows],
            st.n_background,
            st.n_regions,
            st.fpr_limit,
            out[rows],
        )

    if workers == 1:
        run(slice(0, b))
    else:
        bounds = np.linspace(0, b, workers + 1).astype(np.int64)
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, [slice(bounds[c], bounds[c + 1]) for c in range(workers)]))
    return out


def _resolve_fast_path(metric: Callable[..., Any]) -> tuple[str | None, dict[str, Any]]:
    """Which exact fast path computes `metric` ("auroc", "aupro" or None), with its options."""
    from ._ranking import auroc

    func: Any = metric
    kwargs: dict[str, Any] = {}
    if isinstance(metric, functools.partial):
        if metric.args:
            return None, {}
        func, kwargs = metric.func, dict(metric.keywords)
    if func is auroc and set(kwargs) <= {"max_fpr"} and kwargs.get("max_fpr") in (None, 1, 1.0):
        return "auroc", {}
    try:
        from ._pro import aupro
    except ImportError:  # pragma: no cover - a build without AU-PRO
        return None, {}
    if func is aupro and set(kwargs) <= {"fpr_limit"}:
        return "aupro", {"fpr_limit": kwargs.get("fpr_limit", 0.3)}
    return None, {}


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"`metric` must return a real number, got {_describe(value)}; wrap it, e.g. "
            "`lambda maps, masks: am.aupimo(maps, masks).mean`."
        ) from err


def bootstrap_ci(
    metric: Callable[..., Any],
    *arrays: Any,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = 0,
    by: Literal["image", "class"] = "image",
) -> BootstrapCI:
    """Percentile bootstrap confidence interval of a metric, resampling images.

    Each resample draws N images with replacement (axis 0 of every array, the same draw for all
    arrays) and evaluates ``metric(*resampled_arrays)``; the interval is the
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` percentiles of the resampled values.
    Images, not pixels, are resampled: the pixels of one image are not independent.

    Parameters
    ----------
    metric : callable
        Any metric of this library (or any function of the arrays returning a real number), e.g.
        ``am.auroc``, ``am.f1_max``, ``functools.partial(am.aupro, fpr_limit=0.05)``.
        :func:`auroc` (image- or pixel-level, ``max_fpr`` unset) and ``aupro`` have exact fast
        paths: statistics per image are gathered once and every resample is computed from
        them, giving the same values as calling the metric on each resample. Anything else
        is called once per resample.
    *arrays : array-like
        The metric's arguments, all with the same length N >= 2 along axis 0 (the images):
        ``scores, labels`` of shape ``(N,)`` for image-level metrics, ``anomaly_maps, masks``
        of shape ``(N, H, W)`` for pixel-level ones.
    n_resamples : int >= 1
        Number of bootstrap resamples.
    confidence : float in (0, 1)
        Coverage of the interval.
    seed : int, numpy Generator or None
        Seeds ``numpy.random.default_rng``; a fixed seed gives the same interval every time
        (and the same resamples on every path).
    by : {"image", "class"}
        ``"image"``: resample among all images. ``"class"``: resample normal and anomalous images
        separately, keeping their numbers (a stratified bootstrap: no resample misses a class).
        The class of image i is taken from the second array: anomalous iff ``arrays[1][i]`` has
        any non-zero entry (labels or masks).

    Returns
    -------
    BootstrapCI
        ``low``, ``high``, ``estimate`` (the metric on the data as given), ``confidence`` and
        ``n_resamples``: the number of resamples the interval rests on (resamples whose metric
        is undefined, e.g. with one class only, are left out).

    Raises
    ------
    TypeError
        `metric` not callable, or it returns something that is not a real number.
    ValueError
        No arrays, arrays of different lengths along axis 0, fewer than 2 images, bad
        `n_resamples`, `confidence` or `by`, ``by="class"`` with fewer than 2 arrays; and
        whatever `metric` raises on the data.

    Warns
    -----
    UndefinedMetricWarning
        From `metric` when it is undefined on the data (everything is then nan), or when some
        resamples had an undefined metric and were left out.

    Notes
    -----
    The percentile interval (Efron) is not corrected for bias; with small N it tends to be too
    narrow.

    Fast paths. Image AUROC: the scores' ranks once, then weighted counts per resample (O(N)).
    Pixel AUROC: one sort of the pixels gives the (N, N) matrix of correctly ranked
    (positive, negative) pixel pairs between images, and every resample's AUROC is a quadratic
    form in its image multiplicities (O(N^2)). AU-PRO: pixels below the lowest threshold any
    resample can reach before `fpr_limit` are dropped, the rest sorted once; the PRO curve's
    area, background and region weight per image are stored at up to 1024 checkpoints along
    that order (at most 64 MiB), and a resample takes its area at the last checkpoint below
    the limit as a quadratic form, then walks the pixels to the limit. All three give the
    values of calling the metric on every resample (up to float rounding).

    Examples
    --------
    >>> import numpy as np
    >>> import anomaly_metrics as am
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1], 100)
    >>> scores = rng.normal(size=200) + labels
    >>> ci = am.bootstrap_ci(am.auroc, scores, labels, n_resamples=1000)
    >>> round(ci.estimate, 4), round(ci.low, 4), round(ci.high, 4)
    (0.7403, 0.6686, 0.809)
    >>> ci.low < ci.estimate < ci.high
    True
    """
    if not callable(metric):
        raise TypeError(f"`metric` must be callable, got {_describe(metric)}.")
    if not arrays:
        raise ValueError("`arrays` must hold at least one array, got none.")
    if isinstance(n_resamples, (bool, np.bool_)) or not isinstance(n_resamples, (int, np.integer)):
        raise TypeError(f"`n_resamples` must be an int, got {_describe(n_resamples)}.")
    if n_resamples < 1:
        raise ValueError(f"`n_resamples` must be >= 1, got {n_resamples}.")
    n_resamples = int(n_resamples)
    confidence = check_fraction(confidence, "confidence", low_open=True, high_open=True)
    if by not in ("image", "class"):
        raise ValueError(f'`by` must be "image" or "class", got {by!r}.')
    arrs = [_to_array(a, f"arrays[{i}]") for i, a in enumerate(arrays)]
    for i, a in enumerate(arrs):
        if a.ndim == 0:
            raise ValueError(f"`arrays[{i}]` must have an image axis (axis 0), got a scalar.")
    n = arrs[0].shape[0]
    for i, a in enumerate(arrs[1:], start=1):
        if a.shape[0] != n:
            raise ValueError(
                f"`arrays[{i}]` must have as many images (axis 0) as `arrays[0]` ({n}), got "
                f"shape {a.shape}."
            )
    if n < 2:
        raise ValueError(f"`arrays` must hold at least 2 images (axis 0) to resample, got {n}.")
    strata = None
    if by == "class":
        if len(arrs) < 2:
            raise ValueError(
                '`by="class"` takes the image classes from the second array (labels or masks), '
                "but only one array was given."
            )
        anomalous = arrs[1].reshape(n, -1).any(axis=1)
        strata = [np.flatnonzero(~anomalous), np.flatnonzero(anomalous)]
        strata = [s for s in strata if s.size]

    estimate = _as_float(metric(*arrs))
    if math.isnan(estimate):  # the metric warned already
        nan = float("nan")
        return BootstrapCI(nan, nan, nan, confidence, 0)

    rng = np.random.default_rng(seed)
    chunks = _resample_indices(rng, n, n_resamples, strata)
    path, options = _resolve_fast_path(metric)
    stats = None
    if path == "auroc":
        stats = _auroc_statistics(arrs[0], arrs[1], n)
        if stats is not None:
            values = np.concatenate([_auroc_resamples(stats, idx) for idx in chunks])
    elif path == "aupro":
        if arrs[0].ndim < 3:
            raise ValueError(
                "`arrays[0]` must be a batch of anomaly maps (N, H, W) or (N, 1, H, W) to resample "
                f"images, got shape {arrs[0].shape}."
            )
        stats = _aupro_statistics(arrs[0], arrs[1], float(options["fpr_limit"]))
        values = np.concatenate([_aupro_resamples(stats, idx) for idx in chunks])
    if stats is None:
        values = np.empty(n_resamples, np.float64)
        k = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            for idx in chunks:
                for row in idx:
                    values[k] = _as_float(metric(*(a[row] for a in arrs)))
                    k += 1

    valid = values[~np.isnan(values)]
    if valid.size < n_resamples:
        hint = ' by="class" keeps both classes in every resample.' if by == "image" else ""
        warn_undefined(
            f"The metric is undefined on {n_resamples - valid.size} of {n_resamples} resamples "
            f"(e.g. one class only); they are left out of the interval.{hint}"
        )
    if valid.size == 0:
        nan = float("nan")
        return BootstrapCI(nan, nan, estimate, confidence, 0)
    tail = 50.0 * (1.0 - confidence)
    low, high = np.percentile(valid, [tail, 100.0 - tail])
    return BootstrapCI(float(low), float(high), estimate, confidence, int(valid.size))
