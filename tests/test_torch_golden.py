"""All 120 golden cases of anomalib 2.7.0, run through the torch classes the way anomalib ran them.

Each case is replayed as recorded: the class built with the recorded keyword arguments, the
batches given in order (as Mapping batches for ``"batch"`` updates), then ``compute()``. The
expected value is anomalib's, except where the case is flagged as a deliberate difference: then
the intended value (``reimpl_expected``), or, where the file cannot state it, the core function's
value on the same data together with a hand-derived number. Binned cases (``thresholds=``) must
be rejected at construction: only exact computation is implemented.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import anomaly_metrics as am
import anomaly_metrics_torch as amt

GOLDEN = Path(__file__).resolve().parent / "data" / "golden-anomalib-2.7.0.json"
CASES = json.loads(GOLDEN.read_text())["cases"]

# 'convention' flags of the golden file that the core's documented conventions decide otherwise (the classes follow
# the core, and the tests of the core check its decision)
CORE_DECIDED = {
    "aupr-one-class-pos": "AUPR without negatives is 1.0, as anomalib",
}

# Flagged as anomalib bugs with no stated value: the value of a correct computation, by hand.
HAND = {
    # the all-defect 3x3 image is one region (anomalib's CPU labelling drops it); float64
    # numpy/scipy value quoted by the golden file
    "aupro-all-foreground-image": 0.390946502,
    # regions: 3/9 of the all-defect image, 1 and 1/2 of the others -> (1/3 + 1 + 1/2) / 3
    "pro-all-foreground-image": 11 / 18,
}


def _core(case):
    """The core function this case's class calls, applied to the concatenated inputs."""
    kw = case["kwargs"]
    fns = {
        "AUROC": am.auroc,
        "AUPR": am.aupr,
        "F1Score": lambda s, y: am.f1_score(s, y, kw.get("threshold", 0.5)),
        "F1Max": am.f1_max,
        "F1AdaptiveThreshold": am.f1_adaptive_threshold,
        "PGn": lambda s, y: am.pgn(s, y, kw["fnr"]),
        "PBn": lambda s, y: am.pbn(s, y, kw["fpr"]),
        "AUPRO": lambda m, k: am.aupro(m, k, fpr_limit=kw["fpr_limit"]),
        "PRO": lambda m, k: am.pro(m, k, kw.get("threshold", 0.5)),
        "BinaryPrecisionRecallCurve": am.precision_recall_curve,
        "AUPIMO": lambda m, k: (
            am.aupimo(
                m,
                k,
                fpr_bounds=tuple(kw["fpr_bounds"]),
                num_thresholds=kw["num_thresholds"],
                force=kw.get("force", False),
            ).mean
        ),
    }
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        return fns[case["metric"]](*_core_arrays(case))


TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64}


def _num(v):
    if isinstance(v, str):
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[v]
    if isinstance(v, list):
        return [_num(x) for x in v]
    return v


def _tensor(case, field, value):
    return torch.tensor(_num(value), dtype=TORCH_DTYPES[case["dtypes"][field]])


def _kwargs(case):
    kwargs = dict(case["kwargs"])
    if "fpr_bounds" in kwargs:
        kwargs["fpr_bounds"] = tuple(kwargs["fpr_bounds"])
    return kwargs


def _run(case):
    """Replay the case; return (result, metric, UndefinedMetricWarning messages)."""
    cls = getattr(amt, case["metric"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if case["update"] == "batch":
            metric = cls(fields=case["fields"], **_kwargs(case))
        else:
            metric = cls(**_kwargs(case))
        for batch in case["batches"]:
            tensors = {f: _tensor(case, f, v) for f, v in batch.items()}
            if case["update"] == "batch":
                metric.update(tensors)
            elif case["update"] == "positional":
                metric.update(*[tensors[f] for f in case["fields"]])
            else:
                metric.update(**tensors)
        result = metric.compute()
    undefined = [
        str(w.message) for w in caught if issubclass(w.category, am.UndefinedMetricWarning)
    ]
    return result, metric, undefined


def _core_arrays(case):
    """The concatenated inputs as NumPy arrays (for the core function)."""
    out = []
    for field in case["fields"]:
        parts = [np.asarray(_num(b[field]), dtype=case["dtypes"][field]) for b in case["batches"]]
        out.append(np.concatenate(parts) if parts[0].ndim else np.stack(parts))
    return out


def _close(actual, expected, atol):
    a = actual.detach().cpu().numpy() if isinstance(actual, torch.Tensor) else np.asarray(actual)
    e = np.asarray(_num(expected), dtype=np.float64)
    np.testing.assert_allclose(a.astype(np.float64), e.reshape(a.shape), atol=atol, rtol=0)


def _field(result, key):
    """A named part of a structured result: 'precision', 'pimo.thresholds', 'aupimo.aupimos'."""
    if isinstance(result, tuple) and len(result) == 2 and "." in key:  # (PIMOResult, AUPIMOResult)
        part, name = key.split(".")
        return getattr(result[0 if part == "pimo" else 1], name)
    names = {
        "precision": 0,
        "recall": 1,
        "thresholds": 2,
        "image_mean": 0,
        "image_std": 1,
        "pixel_mean": 2,
        "pixel_std": 3,
    }
    if hasattr(result, "_fields"):
        return getattr(result, key)
    return result[names[key]]


def _flatten(expected, prefix=""):
    for key, value in expected.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{key}.")
        else:
            yield prefix + key, value


def _ids(metric_names):
    return [pytest.param(c, id=c["id"]) for c in CASES if c["metric"] in metric_names]


BINNED = [c for c in CASES if "thresholds" in c["kwargs"]]
EXACT = [c for c in CASES if "thresholds" not in c["kwargs"]]


def test_every_case_is_replayed():
    assert len(CASES) == 120
    assert len(BINNED) == 5 and len(EXACT) == 115
    assert {c["metric"] for c in CASES} <= set(amt.__all__)


@pytest.mark.parametrize("case", [pytest.param(c, id=c["id"]) for c in BINNED])
def test_fixed_threshold_cases_equal_anomalib(case):
    """torchmetrics' ``thresholds=`` mode: anomalib's value, in anomalib's dtype (float32)."""
    result, metric, undefined = _run(case)
    assert result.dtype == torch.float32
    _close(result, case["expected"], 1e-7)
    for name, value in (case.get("attributes") or {}).items():
        if value is not None:
            _close(getattr(metric, name), value, 1e-7)
    if case["id"].endswith("no-anomalous"):  # anomalib logs its fallback; ours warns
        assert undefined


@pytest.mark.parametrize("case", [pytest.param(c, id=c["id"]) for c in EXACT])
def test_golden_case(case):
    diff = case.get("deliberate_difference")
    expected = case["expected"]
    intended = None if diff is None else diff.get("reimpl_expected")
    atol = 1e-5 if case["metric"] in ("AUPRO", "PRO") else 1e-6

    if isinstance(expected, dict) and "raises" in expected and diff is None:
        exc = {"RuntimeError": RuntimeError, "ValueError": ValueError}[expected["raises"]]
        with pytest.raises(exc):
            _run(case)
        return

    if diff is not None and (diff["basis"] == "convention" or intended is None):
        _check_against_the_core(case, intended)
        return

    result, metric, undefined = _run(case)

    if isinstance(intended, dict):  # a difference in some named parts (name, image classes)
        overrides = dict(intended)
        if "name" in overrides:
            assert metric.name == overrides.pop("name")
        for key, value in _flatten(expected) if isinstance(expected, dict) else ():
            want = overrides.get(key, value)
            got = _field(result, key)
            if key.endswith(("num_normal_images", "num_anomalous_images", "num_thresholds")):
                assert got == want, key
            else:
                _close(got, want, atol)
        if not isinstance(expected, dict):
            _close(result, expected, atol)
        return

    want = expected if intended is None else intended
    if isinstance(want, dict):  # structured results (curves, distributions, PIMO)
        for key, value in _flatten(want):
            _close(_field(result, key), value, atol)
    else:
        _close(result, want, atol)
        if isinstance(_num(want), float) and math.isnan(_num(want)):
            assert undefined, "nan comes with UndefinedMetricWarning"

    for name, value in (case.get("attributes") or {}).items():
        if value is None:  # anomalib leaves it unset; ours may set it
            continue
        if name == "name":
            assert metric.name == value
        elif diff is None:  # attributes of a deliberately different value are not anomalib's
            _close(getattr(metric, name), value, atol)


def _check_against_the_core(case, intended):
    """A difference the golden file cannot pin down: the class does what the core does."""
    try:
        reference = _core(case)
    except (ValueError, RuntimeError) as err:
        with pytest.raises(type(err), match=re.escape(str(err))):
            _run(case)
        assert case["id"] in CORE_DECIDED
        return
    result, _, undefined = _run(case)
    if isinstance(reference, tuple):  # PR curve without positives: recall is nan
        for mine, theirs in zip(result, reference):
            np.testing.assert_array_equal(mine.numpy(), theirs)
        _close(result[0], case["expected"]["precision"], 1e-6)
        assert np.isnan(result[1][:-1].numpy()).all() and undefined
        return
    # the core's float64 value, rounded once to the result's dtype (float32 by default)
    rounded = float(torch.tensor(reference, dtype=result.dtype))
    assert float(result) == rounded or (math.isnan(reference) and math.isnan(float(result)))
    if math.isnan(reference):
        assert undefined, "nan comes with UndefinedMetricWarning"
    if case["id"] in HAND:
        assert float(result) == pytest.approx(HAND[case["id"]], abs=1e-6)
    elif case["id"] not in CORE_DECIDED:
        _close(result, intended, 1e-6)
