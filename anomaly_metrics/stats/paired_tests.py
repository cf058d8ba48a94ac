"""Paired tests between models on per-image values: Holm correction, ranking, groups.

Both models are scored on the same images, so the per-image differences are what is tested
(Wilcoxon signed-rank or paired t-test, scipy's). ``scipy.stats`` is imported inside the
functions that need it, so that ``import anomaly_metrics`` stays fast.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from itertools import combinations
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from .._validation import _describe, check_fraction
from .per_image import PerImageStats, _check_per_image, _per_image_stats

__all__ = ["ModelComparison", "PairwiseTest", "compare_models"]


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
