"""anomalib 2.7.0's golden input -> output cases, through the core functions (score-level metrics).

Where a case is flagged as a deliberate difference, the value we intend is checked instead; a few
'convention' flags of the golden file are overridden by the library's documented decisions (noted).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import anomaly_metrics as am

# a copy of shared/reference/golden-anomalib-2.7.0.json (anomalib 2.7.0's outputs), kept in the repo
GOLDEN = Path(__file__).resolve().parent / "data" / "golden-anomalib-2.7.0.json"

CASES = json.loads(GOLDEN.read_text())["cases"]

# documented decision: `aupr` without negatives is 1.0, as anomalib (the golden file suggests nan).
OVERRIDES = {"aupr-one-class-pos": 1.0}


def _num(v):
    if isinstance(v, str):
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[v]
    return v


def _cat(case, field):
    parts = [
        np.asarray(b[field], dtype=case["dtypes"].get(field, "float32")) for b in case["batches"]
    ]
    if parts[0].ndim == 0:
        return np.stack(parts)
    return np.concatenate([p.reshape(-1) for p in parts])


def _select(metric):
    return [
        pytest.param(c, id=c["id"])
        for c in CASES
        if c["metric"] == metric and not any(k in c["kwargs"] for k in ("thresholds",))
    ]


def _expected(case):
    if case["id"] in OVERRIDES:
        return OVERRIDES[case["id"]]
    diff = case.get("deliberate_difference")
    if diff is not None and diff.get("reimpl_expected") is not None:
        return _num(diff["reimpl_expected"])
    return case["expected"]


def _call(fn, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = fn(*args, **kwargs)
    undefined = [w for w in caught if issubclass(w.category, am.UndefinedMetricWarning)]
    return value, undefined


def _check_value(value, expected, undefined, atol=1e-6):
    expected = _num(expected)
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(value) and undefined, "nan must come with UndefinedMetricWarning"
    else:
        assert value == pytest.approx(expected, abs=atol)


def _scores_labels(case):
    score_field, label_field = case["fields"]
    return _cat(case, score_field), _cat(case, label_field)


@pytest.mark.parametrize("case", _select("AUROC"))
def test_auroc(case):
    _check_value(*_swap(_call(am.auroc, *_scores_labels(case)), _expected(case)))


@pytest.mark.parametrize("case", _select("AUPR"))
def test_aupr(case):
    _check_value(*_swap(_call(am.aupr, *_scores_labels(case)), _expected(case)))


@pytest.mark.parametrize("case", _select("F1Max"))
def test_f1_max(case):
    scores, labels = _scores_labels(case)
    _check_value(*_swap(_call(am.f1_max, scores, labels), _expected(case)))
    if case.get("deliberate_difference") is None:
        assert am.f1_adaptive_threshold(scores, labels) == pytest.approx(
            case["attributes"]["threshold"], abs=1e-6
        )


@pytest.mark.parametrize("case", _select("F1AdaptiveThreshold"))
def test_f1_adaptive_threshold(case):
    value, undefined = _call(am.f1_adaptive_threshold, *_scores_labels(case))
    assert value == pytest.approx(case["expected"], abs=1e-6)
    # anomalib sets `value` (and logs a warning) exactly when it falls back
    assert bool(undefined) == (case["attributes"]["value"] is not None)


@pytest.mark.parametrize("case", _select("F1Score"))
def test_f1_score(case):
    threshold = case["kwargs"].get("threshold", 0.5)
    # anomalib's inputs are float32; compare in the same float32 values, at a float64 threshold
    _check_value(*_swap(_call(am.f1_score, *_scores_labels(case), threshold), _expected(case)))


@pytest.mark.parametrize("case", _select("PGn") + _select("PBn"))
def test_pgn_pbn(case):
    fn = am.pgn if case["metric"] == "PGn" else am.pbn
    kwargs = {k: v for k, v in case["kwargs"].items() if k in ("fnr", "fpr")}
    expected = _expected(case)
    if isinstance(expected, dict):  # a name-only difference (prefix): the value is anomalib's
        expected = case["expected"]
    _check_value(*_swap(_call(fn, *_scores_labels(case), **kwargs), expected))


@pytest.mark.parametrize("case", _select("MinMax"))
def test_min_max(case):
    values = np.concatenate(
        [np.asarray(b[case["fields"][0]], np.float32).reshape(-1) for b in case["batches"]]
    )
    assert list(am.min_max(values)) == pytest.approx(case["expected"], abs=0)


@pytest.mark.parametrize("case", _select("BinaryPrecisionRecallCurve"))
def test_precision_recall_curve(case):
    scores, labels = _scores_labels(case)
    (p, r, t), undefined = _call(am.precision_recall_curve, scores, labels)
    exp = case["expected"]
    if case.get("deliberate_difference"):  # no positives: recall undefined -> nan
        assert undefined and np.isnan(r[:-1]).all()
        np.testing.assert_allclose(p, exp["precision"], atol=1e-6)
        return
    np.testing.assert_allclose(p, exp["precision"], atol=1e-6)
    np.testing.assert_allclose(r, exp["recall"], atol=1e-6)
    np.testing.assert_allclose(t, np.atleast_1d(exp["thresholds"]), atol=1e-6)


@pytest.mark.parametrize("case", _select("AnomalyScoreDistribution"))
def test_score_distribution(case):
    scores = np.concatenate([np.asarray(b["anomaly_scores"], np.float32) for b in case["batches"]])
    maps = None
    if "anomaly_maps" in case["batches"][0]:
        maps = np.concatenate([np.asarray(b["anomaly_maps"], np.float32) for b in case["batches"]])
    d = am.score_distribution(scores, maps)
    exp = case["expected"]
    assert d.image_mean == pytest.approx(exp["image_mean"], abs=1e-6)
    assert d.image_std == pytest.approx(exp["image_std"], abs=1e-6)
    if maps is not None:
        np.testing.assert_allclose(d.pixel_mean, exp["pixel_mean"], atol=1e-6)
        np.testing.assert_allclose(d.pixel_std, exp["pixel_std"], atol=1e-6)


def _swap(result, expected):
    value, undefined = result
    return value, expected, undefined


def test_every_score_level_case_is_covered():
    covered = {
        "AUROC",
        "AUPR",
        "F1Max",
        "F1AdaptiveThreshold",
        "F1Score",
        "PGn",
        "PBn",
        "MinMax",
        "BinaryPrecisionRecallCurve",
        "AnomalyScoreDistribution",
    }
    n = sum(1 for c in CASES if c["metric"] in covered and "thresholds" not in c["kwargs"])
    # every non-binned score-level case of the file is parametrised above (the core has no
    # binned mode; binned cases go through the torch adapter)
    assert n == 79
    assert len(CASES) == 120
