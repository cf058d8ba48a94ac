"""Tests of ``anomaly_metrics.stats`` (and ``anomaly-metrics compare``): per-image statistics, paired tests, bootstrap intervals.

References are independent of the code under test: numpy's nan-aware reductions, scipy.stats
(the same tests called directly), Holm's procedure and average ranks written from their
definitions below, brute-force groups, and the plain bootstrap (the metric called on every
resample) for the fast paths.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import anomaly_metrics as am
from anomaly_metrics.cli.compare import compare_results_files
from anomaly_metrics.stats import _image_counts as image_counts_module
from anomaly_metrics.stats.paired_tests import _groups

# --------------------------------------------------------------------------------------------
# references written from the definitions
# --------------------------------------------------------------------------------------------


def ref_holm(pvalues, alpha):
    """(adjusted p-values, rejections) of Holm's step-down procedure, straight from its definition.

    Sort ascending; the k-th smallest (k = 1..m) is rejected iff it and every smaller one satisfy
    p <= alpha / (m - k + 1). Adjusted: max over j <= k of min(1, (m - j + 1) * p_(j)).
    """
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    reject = [False] * m
    for k, i in enumerate(order, start=1):
        if pvalues[i] <= alpha / (m - k + 1):
            reject[i] = True
        else:
            break
    adjusted = [0.0] * m
    running = 0.0
    for k, i in enumerate(order, start=1):
        running = max(running, min(1.0, (m - k + 1) * pvalues[i]))
        adjusted[i] = running
    return adjusted, reject


def ref_average_ranks(table, higher_is_better=True):
    """Average over images of each model's rank (1 = best; ties share the mean rank)."""
    models = list(table)
    n = len(table[models[0]])
    totals = dict.fromkeys(models, 0.0)
    for i in range(n):
        for a in models:
            va = table[a][i] if higher_is_better else -table[a][i]
            better = sum(
                1 for b in models if (table[b][i] if higher_is_better else -table[b][i]) > va
            )
            tied = sum(
                1
                for b in models
                if b != a and (table[b][i] if higher_is_better else -table[b][i]) == va
            )
            totals[a] += 1 + better + 0.5 * tied
    return {a: totals[a] / n for a in models}


def ref_groups(sig):
    """Maximal intervals of the ranking with no significant pair inside (brute force)."""
    m = len(sig)
    ok = [
        (i, j)
        for i in range(m)
        for j in range(i, m)
        if not any(sig[a][b] for a in range(i, j + 1) for b in range(i, j + 1))
    ]
    maximal = [
        (i, j) for i, j in ok if not any(a <= i and j <= b and (a, b) != (i, j) for a, b in ok)
    ]
    return tuple(tuple(range(i, j + 1)) for i, j in sorted(maximal))


def _common(values):
    arr = np.asarray(values, dtype=np.float64)
    return arr[~np.isnan(arr)]


# --------------------------------------------------------------------------------------------
# per_image_stats
# --------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 60),
    seed=st.integers(0, 2**32 - 1),
    nan_frac=st.sampled_from([0.0, 0.2, 0.6]),
    ties=st.booleans(),
)
def test_per_image_stats_matches_numpy(n, seed, nan_frac, ties):
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    if ties:
        x = np.round(x * 4) / 4
    x[rng.random(n) < nan_frac] = np.nan
    if np.count_nonzero(~np.isnan(x)) < 2:
        x[:2] = [0.25, 0.75]
    s = am.per_image_stats(x)
    assert s.count == np.count_nonzero(~np.isnan(x))
    assert s.mean == pytest.approx(np.nanmean(x), rel=1e-12, abs=1e-15)
    assert s.median == pytest.approx(np.nanmedian(x), rel=1e-12, abs=1e-15)
    assert s.std == pytest.approx(np.nanstd(x, ddof=1), rel=1e-9, abs=1e-15)
    assert s.q1 == pytest.approx(np.nanpercentile(x, 25), rel=1e-12, abs=1e-15)
    assert s.q3 == pytest.approx(np.nanpercentile(x, 75), rel=1e-12, abs=1e-15)
    assert (s.min, s.max) == (np.nanmin(x), np.nanmax(x))
    # indices into the ORIGINAL array (nan included): first occurrence of the extreme
    assert s.argmin == next(i for i, v in enumerate(x) if v == np.nanmin(x))
    assert s.argmax == next(i for i, v in enumerate(x) if v == np.nanmax(x))
    assert isinstance(s.count, int) and isinstance(s.argmin, int) and isinstance(s.mean, float)


def test_per_image_stats_hand_case_and_result_object():
    values = [np.nan, 0.5, np.nan, 0.1, 0.9, 0.3]
    s = am.per_image_stats(values)
    assert s == am.per_image_stats(SimpleNamespace(per_image=np.array(values)))
    assert s.count == 4
    assert (s.min, s.argmin, s.max, s.argmax) == (0.1, 3, 0.9, 4)
    assert s.median == pytest.approx(0.4)
    assert s._fields == (
        "count", "mean", "median", "std", "q1", "q3", "min", "argmin", "max", "argmax",
    )  # fmt: skip


def test_aupimo_results_are_accepted():
    rng = np.random.default_rng(4)
    maps = rng.random((6, 32, 32))
    masks = np.zeros((6, 32, 32), bool)
    masks[3:, 8:16, 8:16] = True
    a = am.aupimo(maps + masks, masks, num_thresholds=None, fpr_bounds=(0.01, 0.1))
    b = am.aupimo(maps + 0.5 * masks, masks, num_thresholds=None, fpr_bounds=(0.01, 0.1))
    assert am.per_image_stats(a) == am.per_image_stats(a.per_image)
    assert am.compare_models({"a": a, "b": b}) == am.compare_models(
        {"a": a.per_image, "b": b.per_image}
    )


def test_per_image_stats_all_nan_and_single_value_warn():
    with pytest.warns(am.UndefinedMetricWarning, match="Every per-image value is nan"):
        s = am.per_image_stats([np.nan, np.nan])
    assert s.count == 0 and s.argmin == -1 and s.argmax == -1
    assert all(math.isnan(v) for v in (s.mean, s.median, s.std, s.q1, s.q3, s.min, s.max))
    with pytest.warns(am.UndefinedMetricWarning, match="std"):
        s = am.per_image_stats([np.nan, 0.4])
    assert (s.count, s.mean, s.median, s.argmin, s.argmax) == (1, 0.4, 0.4, 1, 1)
    assert math.isnan(s.std)


@pytest.mark.parametrize(
    ("scores", "exc", "fragment"),
    [
        ([], ValueError, "`scores` must not be empty"),
        ([[0.1, 0.2]], ValueError, "`scores` must be 1-D"),
        ([0.1, np.inf], ValueError, "must be finite or nan"),
        (["a", "b"], TypeError, "`scores` must hold real numbers"),
        (None, TypeError, "`scores` must be an array-like"),
    ],
)
def test_per_image_stats_errors(scores, exc, fragment):
    with pytest.raises(exc, match=fragment):
        am.per_image_stats(scores)


# --------------------------------------------------------------------------------------------
# compare_models
# --------------------------------------------------------------------------------------------


@st.composite
def model_tables(draw, min_models=2, max_models=4, max_images=40):
    """{name: per-image values} with shared nan images, ties and near-identical models."""
    m = draw(st.integers(min_models, max_models))
    n = draw(st.integers(2, max_images))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    base = rng.random(n)
    nan = rng.random(n) < draw(st.sampled_from([0.0, 0.3]))
    nan[:2] = False
    table = {}
    for k in range(m):
        style = draw(st.sampled_from(["noisy", "shifted", "copy", "coarse"]))
        if style == "noisy":
            v = base + rng.normal(scale=0.2, size=n)
        elif style == "shifted":
            v = base + 0.1 * k + rng.normal(scale=0.01, size=n)
        elif style == "copy":
            v = base.copy()
        else:
            v = np.round((base + rng.normal(scale=0.1, size=n)) * 4) / 4
        v[nan] = np.nan
        table[f"model_{k}"] = v
    return table


@pytest.mark.parametrize("test", ["wilcoxon", "ttest"])
@settings(max_examples=25, deadline=None)
@given(table=model_tables())
def test_compare_models_matches_scipy_holm_and_ranks(test, table):
    alpha = 0.05
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's small-sample / degenerate-data notes
        r = am.compare_models(table, test=test, alpha=alpha)
        expected = {}
        for p in r.pairs:
            a, b = _common(table[p.model_a]), _common(table[p.model_b])
            if np.array_equal(a, b):
                expected[p.model_a, p.model_b] = (0.0, 1.0)  # documented: nothing to test
            elif test == "wilcoxon":
                res = scipy.stats.wilcoxon(a, b)
                expected[p.model_a, p.model_b] = (float(res.statistic), float(res.pvalue))
            else:
                res = scipy.stats.ttest_rel(a, b)
                expected[p.model_a, p.model_b] = (float(res.statistic), float(res.pvalue))
    m = len(table)
    assert len(r.pairs) == m * (m - 1) // 2
    for p in r.pairs:
        stat, pval = expected[p.model_a, p.model_b]
        assert p.statistic == stat or (math.isnan(stat) and math.isnan(p.statistic))
        assert p.pvalue == pval
    # Holm against the definition
    pvals = [p.pvalue for p in r.pairs]
    adjusted, reject = ref_holm(pvals, alpha)
    assert [p.pvalue_holm for p in r.pairs] == pytest.approx(adjusted, rel=1e-12)
    assert [p.significant for p in r.pairs] == reject
    # wins / ties / mean difference
    for p in r.pairs:
        a, b = _common(table[p.model_a]), _common(table[p.model_b])
        assert p.wins_a == np.mean(a > b) and p.wins_b == np.mean(a < b)
        assert p.ties == np.mean(a == b)
        assert p.mean_difference == pytest.approx(np.mean(a - b), abs=1e-12)
    # ranking by average rank (best first), against a loop over images
    common = {k: _common(v) for k, v in table.items()}
    ranks = ref_average_ranks(common)
    assert sorted(r.models) == sorted(table)
    assert list(r.average_ranks) == pytest.approx([ranks[k] for k in r.models], rel=1e-12)
    assert list(r.average_ranks) == sorted(r.average_ranks)
    assert r.n_images == len(common["model_0"])
    # groups: maximal runs with no significant pair inside
    idx = {name: i for i, name in enumerate(r.models)}
    sig = [[False] * m for _ in range(m)]
    for p in r.pairs:
        sig[idx[p.model_a]][idx[p.model_b]] = sig[idx[p.model_b]][idx[p.model_a]] = p.significant
    assert r.groups == tuple(tuple(r.models[i] for i in g) for g in ref_groups(sig))
    # the stats are per_image_stats of each model's values as given
    for name, s in zip(r.models, r.stats):
        assert s == am.per_image_stats(table[name])


@settings(max_examples=100, deadline=None)
@given(m=st.integers(1, 7), seed=st.integers(0, 2**32 - 1), density=st.floats(0, 1))
def test_groups_are_maximal_runs_without_significant_pairs(m, seed, density):
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.random((m, m)) < density, 1)
    sig = upper | upper.T
    assert _groups(sig) == ref_groups(sig.tolist())


def test_one_model_wins_on_every_image():
    rng = np.random.default_rng(3)
    good = rng.random(12)
    bad = good - 0.05 - rng.random(12) * 0.1
    for test in ("wilcoxon", "ttest"):
        r = am.compare_models({"bad": bad, "good": good}, test=test)
        assert r.models == ("good", "bad")
        (p,) = r.pairs
        assert (p.model_a, p.model_b, p.wins_a, p.wins_b, p.ties) == ("good", "bad", 1.0, 0.0, 0.0)
        assert p.significant and p.pvalue < 0.001 and p.pvalue_holm == p.pvalue
        assert r.groups == (("good",), ("bad",))
        assert r.average_ranks == (1.0, 2.0)
    # exact Wilcoxon: all 12 differences positive -> p = 2 / 2**12
    r = am.compare_models({"good": good, "bad": bad})
    assert r.pairs[0].pvalue == pytest.approx(2 / 2**12) and r.pairs[0].statistic == 0.0


def test_identical_models_are_not_significant():
    v = [0.2, 0.5, np.nan, 0.9, 0.9, 0.1]
    for test in ("wilcoxon", "ttest"):
        r = am.compare_models({"a": v, "b": list(v), "c": np.array(v)}, test=test)
        assert r.groups == (("a", "b", "c"),)
        for p in r.pairs:
            assert (p.statistic, p.pvalue, p.pvalue_holm, p.significant) == (0.0, 1.0, 1.0, False)
            assert (p.wins_a, p.wins_b, p.ties, p.mean_difference) == (0.0, 0.0, 1.0, 0.0)
        assert r.average_ranks == (2.0, 2.0, 2.0)
        assert r.models == ("a", "b", "c")  # full tie: input order kept


def test_nan_images_are_left_out():
    rng = np.random.default_rng(5)
    a, b = rng.random(20), rng.random(20)
    nan = np.zeros(20, bool)
    nan[[0, 3, 7, 19]] = True
    a_nan, b_nan = np.where(nan, np.nan, a), np.where(nan, np.nan, b)
    with_nan = am.compare_models({"a": a_nan, "b": b_nan})
    without = am.compare_models({"a": a[~nan], "b": b[~nan]})
    assert with_nan.pairs == without.pairs
    assert with_nan.n_images == 16
    # the stats ignore nan; their image indices refer to the arrays as given
    assert (
        with_nan.stats
        == (am.per_image_stats(a_nan), am.per_image_stats(b_nan))[
            :: 1 if with_nan.models[0] == "a" else -1
        ]
    )


def test_lower_is_better_reverses_the_ranking():
    loss_a = [0.1, 0.2, 0.15, 0.12, 0.11, 0.3, 0.05, 0.2]
    loss_b = [0.5, 0.4, 0.6, 0.35, 0.55, 0.45, 0.5, 0.65]
    r = am.compare_models({"b": loss_b, "a": loss_a}, higher_is_better=False)
    assert r.models == ("a", "b") and r.pairs[0].wins_a == 1.0 and not r.higher_is_better
    assert r.pairs[0].mean_difference < 0
    r = am.compare_models({"b": loss_b, "a": loss_a})
    assert r.models == ("b", "a")


def test_holm_hand_case():
    # four models: a >> b ~ c >> d; hand-computed Holm decisions from the raw p-values
    rng = np.random.default_rng(11)
    base = rng.random(30)
    table = {
        "d": base - 0.6,
        "c": base + rng.normal(scale=0.05, size=30),
        "b": base + rng.normal(scale=0.05, size=30),
        "a": base + 0.6,
    }
    r = am.compare_models(table, test="ttest", alpha=0.05)
    assert r.models[0] == "a" and r.models[-1] == "d"
    assert set(r.models[1:3]) == {"b", "c"}
    assert r.groups == (("a",), tuple(r.models[1:3]), ("d",))
    ps = sorted(p.pvalue for p in r.pairs)
    assert [p.pvalue_holm for p in sorted(r.pairs, key=lambda p: p.pvalue)][:1] == [6 * ps[0]]


def test_to_table_and_str():
    r = am.compare_models(
        {"alpha_net": [0.9, 0.8, 0.7, 0.95], "beta_net": [0.5, 0.85, 0.6, 0.7]}, test="ttest"
    )
    text = r.to_table()
    assert str(r) == text
    assert "paired t-test on 4 images" in text
    assert "alpha_net" in text and "beta_net" in text
    assert "Groups that cannot be told apart: {alpha_net, beta_net}" in text
    assert text.count("\n") >= 8


@pytest.mark.parametrize(
    ("scores", "kwargs", "exc", "fragment"),
    [
        ({"a": [0.1, 0.2]}, {}, ValueError, "at least 2 models, got 1"),
        ([[0.1, 0.2], [0.3, 0.4]], {}, TypeError, "must be a mapping"),
        ({1: [0.1, 0.2], "b": [0.1, 0.3]}, {}, TypeError, "keys must be model names"),
        (
            {"a": [0.1, 0.2, 0.3], "b": [0.1, 0.2]},
            {},
            ValueError,
            r"`per_image_scores\['b'\]` must have one value per image .*\(3 images\), got 2",
        ),
        (
            {"a": [0.1, 0.2, np.nan, 0.4], "b": [0.1, 0.2, 0.5, 0.3]},
            {},
            ValueError,
            r"`per_image_scores\['b'\]` must be nan on the same images .* image 2 is 0.5 for 'b'",
        ),
        (
            {"a": [0.1, np.nan, np.nan], "b": [0.3, np.nan, np.nan]},
            {},
            ValueError,
            "at least 2 images scored by every model .* got 1 of 3",
        ),
        ({"a": [0.1, np.inf], "b": [0.1, 0.2]}, {}, ValueError, r"\['a'\]` must be finite or nan"),
        ({"a": [[0.1, 0.2]], "b": [[0.1, 0.2]]}, {}, ValueError, "must be 1-D"),
        ({"a": ["x", "y"], "b": [0.1, 0.2]}, {}, TypeError, "must hold real numbers"),
        ({"a": [0.1, 0.2], "b": [0.3, 0.1]}, {"test": "sign"}, ValueError, "`test` must be"),
        ({"a": [0.1, 0.2], "b": [0.3, 0.1]}, {"alpha": 0.0}, ValueError, r"`alpha` must be in"),
        ({"a": [0.1, 0.2], "b": [0.3, 0.1]}, {"alpha": 1.0}, ValueError, r"`alpha` must be in"),
        (
            {"a": [0.1, 0.2], "b": [0.3, 0.1]},
            {"higher_is_better": "yes"},
            TypeError,
            "`higher_is_better` must be a bool",
        ),
    ],
)
def test_compare_models_errors(scores, kwargs, exc, fragment):
    with pytest.raises(exc, match=fragment):
        am.compare_models(scores, **kwargs)


# --------------------------------------------------------------------------------------------
# compare_results_files (command line entry point)
# --------------------------------------------------------------------------------------------


def _write(path, data):
    path.write_text(json.dumps(data))
    return path


def test_compare_results_files_layouts(tmp_path):
    a = [0.9, None, 0.8, 0.7, 0.95, 0.6]
    b = [0.5, None, 0.6, 0.4, 0.55, 0.65]
    fa = _write(tmp_path / "a.json", {"model": "patchcore", "per_image": {"aupimo": a}})
    fb = _write(tmp_path / "padim_run.json", {"aupimo": {"per_image": b}})
    text = compare_results_files([fa, fb])
    expected = am.compare_models(
        {
            "patchcore": [np.nan if v is None else v for v in a],
            "padim_run": [np.nan if v is None else v for v in b],
        }
    ).to_table()
    assert text == expected
    # values keyed by image name are matched by name, whatever their order
    names = ["img0", "img1", "img2", "img3", "img4", "img5"]
    fa2 = _write(tmp_path / "a2.json", {"per_image": {"aupimo": dict(zip(names, a))}})
    fb2 = _write(
        tmp_path / "b2.json", {"per_image": {"aupimo": dict(reversed(list(zip(names, b))))}}
    )
    text2 = compare_results_files([fa2, fb2], names=["patchcore", "padim_run"])
    assert text2 == expected
    fc = _write(tmp_path / "c.json", b)  # a bare list
    assert "c" in compare_results_files([fa, fc], test="ttest")


def test_compare_results_files_categories_and_folder_names(tmp_path):
    # the `evaluate --per-image` layout: per category, image name -> value (null: normal image)
    a = {
        "bottle": {"per_image": {"aupimo": {"000": 0.9, "001": None, "002": 0.8}}},
        "cable": {"per_image": {"aupimo": {"000": 0.7, "001": 0.95, "002": 0.6}}},
    }
    b = {
        "cable": {"per_image": {"aupimo": {"002": 0.65, "001": 0.55, "000": 0.4}}},
        "bottle": {"per_image": {"aupimo": {"000": 0.5, "001": None, "002": 0.6}}},
    }
    (tmp_path / "patchcore").mkdir()
    (tmp_path / "padim").mkdir()
    fa = _write(tmp_path / "patchcore" / "results.json", {"categories": a, "mean": {}})
    fb = _write(tmp_path / "padim" / "results.json", {"categories": b, "mean": {}})
    text = compare_results_files([fa, fb])
    expected = am.compare_models(
        {
            "patchcore": [0.9, np.nan, 0.8, 0.7, 0.95, 0.6],
            "padim": [0.5, np.nan, 0.6, 0.4, 0.55, 0.65],
        }
    )
    assert text == expected.to_table()
    assert "on 5 images" in text
    only = compare_results_files([fa, fb], category="cable", test="ttest")
    assert (
        only
        == am.compare_models(
            {"patchcore": [0.7, 0.95, 0.6], "padim": [0.4, 0.55, 0.65]}, test="ttest"
        ).to_table()
    )
    with pytest.raises(ValueError, match="`category` 'carpet' is not in"):
        compare_results_files([fa, fb], category="carpet")
    flat = _write(tmp_path / "flat.json", {"per_image": {"aupimo": [0.1, 0.2]}})
    with pytest.raises(ValueError, match="has no categories"):
        compare_results_files([flat, flat], names=["x", "y"], category="cable")
    bad = _write(tmp_path / "bad.json", {"categories": {"bottle": {"aupro": 0.9}}})
    with pytest.raises(ValueError, match=r"category 'bottle' of .* has none"):
        compare_results_files([fa, bad])


def test_compare_results_files_errors(tmp_path):
    fa = _write(tmp_path / "a.json", {"per_image": {"aupimo": [0.1, 0.2, 0.3]}})
    fb = _write(tmp_path / "b.json", {"per_image": {"aupimo": [0.3, 0.2, 0.1]}})
    with pytest.raises(ValueError, match="at least 2 result files, got 1"):
        compare_results_files([fa])
    empty = _write(tmp_path / "e.json", {"auroc": 0.9})
    with pytest.raises(ValueError, match="has none: write them with `anomaly-metrics evaluate"):
        compare_results_files([fa, empty])
    with pytest.raises(ValueError, match="more than once"):
        compare_results_files([fa, fb], names=["x", "x"])
    with pytest.raises(ValueError, match="one name per file"):
        compare_results_files([fa, fb], names=["x"])
    n1 = _write(tmp_path / "n1.json", {"per_image": {"aupimo": {"i0": 0.1, "i1": 0.2}}})
    n2 = _write(tmp_path / "n2.json", {"per_image": {"aupimo": {"i0": 0.1, "i9": 0.2}}})
    with pytest.raises(ValueError, match="image 'i1' is in one and not the other"):
        compare_results_files([n1, n2])
    with pytest.raises(ValueError, match="all as lists; got both"):
        compare_results_files([n1, fa])


# --------------------------------------------------------------------------------------------
# bootstrap_ci
# --------------------------------------------------------------------------------------------


def _plain(metric):
    """The same metric behind a wrapper, so that bootstrap_ci takes its generic path."""
    return lambda *arrays: metric(*arrays)


def _same_ci(fast, slow):
    assert fast.n_resamples == slow.n_resamples
    assert fast.estimate == slow.estimate
    for a, b in ((fast.low, slow.low), (fast.high, slow.high)):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12) or (math.isnan(a) and math.isnan(b))


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 40),
    seed=st.integers(0, 2**32 - 1),
    ties=st.booleans(),
    by=st.sampled_from(["image", "class"]),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_bootstrap_auroc_fast_path_equals_plain_bootstrap(n, seed, ties, by, dtype):
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.4
    labels[0], labels[-1] = True, False
    scores = (rng.normal(size=n) + labels).astype(dtype)
    if ties:
        scores = np.round(scores * 2) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", am.UndefinedMetricWarning)
        fast = am.bootstrap_ci(am.auroc, scores, labels, n_resamples=60, seed=seed, by=by)
        slow = am.bootstrap_ci(_plain(am.auroc), scores, labels, n_resamples=60, seed=seed, by=by)
    _same_ci(fast, slow)
    assert fast.estimate == am.auroc(scores, labels)
    assert fast.low <= fast.high


def _maps_and_masks(rng, n, h, w, ties):
    maps = rng.random((n, h, w))
    masks = np.zeros((n, h, w), bool)
    for i in range(n):
        if rng.random() < 0.6:
            y, x = rng.integers(0, h - 2), rng.integers(0, w - 2)
            masks[i, y : y + rng.integers(1, 4), x : x + rng.integers(1, 5)] = True
            if rng.random() < 0.5:  # a second, one-pixel region
                masks[i, rng.integers(0, h), rng.integers(0, w)] = True
    maps = maps + masks * rng.random() * 0.6
    if ties:
        maps = np.round(maps * 4) / 4
    masks[0, 0, 0] = True  # at least one region
    masks[-1, -1, -1] = False  # at least one background pixel
    return maps, masks


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(2, 8),
    h=st.integers(4, 10),
    seed=st.integers(0, 2**32 - 1),
    ties=st.booleans(),
    fpr_limit=st.sampled_from([0.01, 0.05, 0.3, 1.0]),
    by=st.sampled_from(["image", "class"]),
)
def test_bootstrap_aupro_fast_path_equals_plain_bootstrap(n, h, seed, ties, fpr_limit, by):
    rng = np.random.default_rng(seed)
    maps, masks = _maps_and_masks(rng, n, h, h + 1, ties)
    metric = functools.partial(am.aupro, fpr_limit=fpr_limit)
    # resamples in one block, a few per block, or one per block (several threads)
    budget = [1 << 21, 3 * 8 * n * n, 0][seed % 3]
    with _block_budget(budget), warnings.catch_warnings():
        warnings.simplefilter("ignore", am.UndefinedMetricWarning)
        fast = am.bootstrap_ci(metric, maps, masks, n_resamples=40, seed=seed, by=by)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", am.UndefinedMetricWarning)
        slow = am.bootstrap_ci(_plain(metric), maps, masks, n_resamples=40, seed=seed, by=by)
    _same_ci(fast, slow)


@contextlib.contextmanager
def _block_budget(n_entries):
    saved = image_counts_module._BLOCK_ENTRIES
    image_counts_module._BLOCK_ENTRIES = n_entries
    try:
        yield
    finally:
        image_counts_module._BLOCK_ENTRIES = saved


def test_bootstrap_aupro_fast_path_on_larger_maps():
    # many thresholds per block, several regions per image, float32 maps
    rng = np.random.default_rng(9)
    maps, masks = _maps_and_masks(rng, 10, 40, 48, ties=False)
    maps = maps.astype(np.float32)
    for limit in (0.3, 0.02):
        metric = functools.partial(am.aupro, fpr_limit=limit)
        with _block_budget(5 * 8 * 10 * 10):
            fast = am.bootstrap_ci(metric, maps, masks, n_resamples=100, by="class")
        slow = am.bootstrap_ci(_plain(metric), maps, masks, n_resamples=100, by="class")
        _same_ci(fast, slow)
        _same_ci(am.bootstrap_ci(metric, maps, masks, n_resamples=100, by="class"), slow)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 8), seed=st.integers(0, 2**32 - 1), ties=st.booleans())
def test_bootstrap_pixel_auroc_fast_path_equals_plain_bootstrap(n, seed, ties):
    rng = np.random.default_rng(seed)
    maps, masks = _maps_and_masks(rng, n, 6, 5, ties)
    if seed % 2:
        masks = ~masks  # mostly positives: the other orientation of the pair matrix
        masks[0, 0, 0] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", am.UndefinedMetricWarning)
        fast = am.bootstrap_ci(am.auroc, maps, masks, n_resamples=40, seed=seed)
        slow = am.bootstrap_ci(_plain(am.auroc), maps, masks, n_resamples=40, seed=seed)
    _same_ci(fast, slow)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 8),
    h=st.integers(4, 9),
    seed=st.integers(0, 2**32 - 1),
    ties=st.booleans(),
    case=st.sampled_from(["image auroc", "pixel auroc", "aupro 0.01", "aupro 0.3", "aupro 1"]),
)
def test_resampled_areas_equal_the_metric_on_each_resample(n, h, seed, ties, case):
    # the fast paths, resample by resample, against the public metric on the resampled arrays
    rng = np.random.default_rng(seed)
    maps, masks = _maps_and_masks(rng, n, h, h + 2, ties)
    if seed % 2:
        maps = maps.astype(np.float32)
    idx = rng.integers(0, n, size=(25, n))
    w = np.stack([np.bincount(row, minlength=n) for row in idx]).astype(np.float64)
    if case == "image auroc":
        x, y = maps.max(axis=(1, 2)), masks.any(axis=(1, 2))
        counts, metric = image_counts_module.auroc_image_counts(x, y, n), am.auroc
    elif case == "pixel auroc":
        x, y = maps, masks
        counts, metric = image_counts_module.auroc_image_counts(x, y, n), am.auroc
    else:
        limit = float(case.split()[1])
        x, y = maps, masks
        counts = image_counts_module.aupro_image_counts(x, y, limit)
        metric = functools.partial(am.aupro, fpr_limit=limit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", am.UndefinedMetricWarning)
        expected = np.array([metric(x[row], y[row]) for row in idx])
    got = image_counts_module.resampled_areas(counts, w)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12, equal_nan=True)


def test_bootstrap_covers_the_true_auroc_at_the_nominal_rate():
    # 200 datasets with a known AUROC: negatives N(0, 1), positives N(1, 1) -> Phi(1 / sqrt 2)
    true = scipy.stats.norm.cdf(1.0 / math.sqrt(2.0))
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], [60, 40])
    covered = 0
    for k in range(200):
        scores = rng.normal(size=100) + labels
        ci = am.bootstrap_ci(am.auroc, scores, labels, n_resamples=500, seed=k)
        covered += ci.low <= true <= ci.high
    assert 0.90 <= covered / 200 <= 0.99


def test_bootstrap_is_reproducible_and_nested():
    rng = np.random.default_rng(1)
    labels = rng.random(80) < 0.5
    scores = rng.normal(size=80) + labels
    a = am.bootstrap_ci(am.auroc, scores, labels, seed=7)
    assert a == am.bootstrap_ci(am.auroc, scores, labels, seed=7)
    assert a == am.bootstrap_ci(am.auroc, scores, labels, seed=np.random.default_rng(7))
    assert a != am.bootstrap_ci(am.auroc, scores, labels, seed=8)
    wide = am.bootstrap_ci(am.auroc, scores, labels, seed=7, confidence=0.99)
    narrow = am.bootstrap_ci(am.auroc, scores, labels, seed=7, confidence=0.5)
    assert wide.low <= a.low <= narrow.low <= narrow.high <= a.high <= wide.high
    assert a.confidence == 0.95 and a.n_resamples == 1000
    assert a._fields == ("low", "high", "estimate", "confidence", "n_resamples")


def test_bootstrap_percentiles_of_the_resampled_values():
    # the generic path on a metric whose resampled values are easy to predict: the mean
    x = np.arange(10.0)
    ci = am.bootstrap_ci(lambda v: float(np.mean(v)), x, n_resamples=2000, confidence=0.9)
    assert ci.estimate == 4.5
    rng = np.random.default_rng(0)
    means = x[rng.integers(0, 10, size=(2000, 10))].mean(axis=1)
    assert (ci.low, ci.high) == tuple(np.percentile(means, [5.0, 95.0]))


def test_bootstrap_generic_path_for_other_metrics():
    rng = np.random.default_rng(2)
    labels = rng.random(50) < 0.3
    scores = rng.normal(size=50) + 2 * labels
    for metric in (am.aupr, am.f1_max, functools.partial(am.auroc, max_fpr=0.3)):
        ci = am.bootstrap_ci(metric, scores, labels, n_resamples=200, by="class")
        assert ci.low <= ci.estimate <= ci.high and ci.n_resamples == 200


def test_bootstrap_undefined_resamples_are_left_out_with_a_warning():
    scores, labels = [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]
    with pytest.warns(am.UndefinedMetricWarning, match="undefined on .* of 300 resamples"):
        ci = am.bootstrap_ci(am.auroc, scores, labels, n_resamples=300)
    assert 0 < ci.n_resamples < 300
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ci = am.bootstrap_ci(am.auroc, scores, labels, n_resamples=300, by="class")
    assert ci.n_resamples == 300 and 0.0 <= ci.low <= ci.high <= 1.0
    with pytest.warns(am.UndefinedMetricWarning, match="AUROC is undefined"):
        ci = am.bootstrap_ci(am.auroc, scores, [0, 0, 0, 0])
    assert math.isnan(ci.low) and math.isnan(ci.estimate) and ci.n_resamples == 0


def test_bootstrap_image_auroc_on_500_images():
    # the benchmark's size (bench entry bootstrap_image_auroc times it); here only the values
    rng = np.random.default_rng(3)
    labels = rng.random(500) < 0.3
    scores = rng.normal(size=500) + labels
    fast = am.bootstrap_ci(am.auroc, scores, labels, n_resamples=1000)
    _same_ci(fast, am.bootstrap_ci(_plain(am.auroc), scores, labels, n_resamples=1000))


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "fragment"),
    [
        ((0.5, [0.1, 0.2], [0, 1]), {}, TypeError, "`metric` must be callable"),
        ((am.auroc,), {}, ValueError, "`arrays` must hold at least one array"),
        ((am.auroc, [0.1, 0.2, 0.3], [0, 1]), {}, ValueError, r"`arrays\[1\]` must have as many"),
        ((am.auroc, 0.5, 1), {}, ValueError, r"`arrays\[0\]` must have an image axis"),
        ((am.auroc, [0.1, 0.2], [0, 1]), {"n_resamples": 0}, ValueError, "`n_resamples` must be"),
        ((am.auroc, [0.1, 0.2], [0, 1]), {"n_resamples": 1.5}, TypeError, "must be an int"),
        ((am.auroc, [0.1, 0.2], [0, 1]), {"n_resamples": True}, TypeError, "must be an int"),
        ((am.auroc, [0.1, 0.2], [0, 1]), {"confidence": 1.0}, ValueError, r"`confidence` must"),
        ((am.auroc, [0.1, 0.2], [0, 1]), {"by": "pixel"}, ValueError, "`by` must be"),
        ((np.mean, [0.1, 0.2]), {"by": "class"}, ValueError, "only one array was given"),
        ((am.roc_curve, [0.1, 0.2], [0, 1]), {}, TypeError, "`metric` must return a real number"),
        ((am.auroc, [0.1, 0.2], [0, 2]), {}, ValueError, "`labels` must be bool or all 0 or 1"),
        (
            (am.aupro, np.eye(4), np.eye(4, dtype=bool)),
            {},
            ValueError,
            "must be a batch of anomaly maps",
        ),
    ],
)
def test_bootstrap_errors(args, kwargs, exc, fragment):
    with pytest.raises(exc, match=fragment):
        am.bootstrap_ci(*args, **kwargs)


def test_command_line_compare(tmp_path, capsys):
    from anomaly_metrics.cli import main

    fa = _write(tmp_path / "a.json", {"model": "a", "per_image": {"aupimo": [0.9, 0.8, 0.7, 0.6]}})
    fb = _write(tmp_path / "b.json", {"model": "b", "per_image": {"aupimo": [0.5, 0.6, 0.4, 0.3]}})
    assert main(["compare", str(fa), str(fb), "--test", "ttest"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == compare_results_files([fa, fb], test="ttest")
    assert main(["compare", str(fa)]) == 1
    assert "at least 2 result files" in capsys.readouterr().err
    assert main(["compare", str(fa), str(tmp_path / "missing.json")]) == 1
    assert "No such file" in capsys.readouterr().err
