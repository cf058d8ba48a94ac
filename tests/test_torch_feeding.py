"""Every torch class, fed a data set in any way, returns the core function's value on it.

Hypothesis draws a data set (images with 0 to 4 defect regions, normal and anomalous images,
ties, float16/32/64 batches) and a way of feeding it: batch sizes from 1 to N, batches of
only normal or only anomalous images, any order, ``reset()`` midway and feeding again, a
pickle or ``state_dict`` round trip midway. Exact classes return the core function's float on
the batches in the order fed; streaming classes (``bins=``) a value within their certified
bound of it. ``HYPOTHESIS_PROFILE=thorough`` draws many more examples.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from _torch_scenarios import (
    FLOATS,
    METRICS,
    THOROUGH,
    batch,
    check,
    compute,
    feed,
    make_images,
    outcome,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import anomaly_metrics_torch as amt


@pytest.fixture(autouse=True, scope="module")
def _float64_results():
    """Compare with the core's float64 values bit for bit: every result in float64 here."""
    with amt.result_dtype(torch.float64):
        yield


EXAMPLES = 150 if THOROUGH else 6


@st.composite
def feeding_plans(draw):
    """(batches fed before a reset or None, the batches, where a round trip happens, how)."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(1, 8))
    h, w = draw(st.integers(3, 7)), draw(st.integers(3, 7))
    levels = draw(st.sampled_from((2, 5, 10, 64)))
    p = draw(st.sampled_from((0.0, 0.5, 0.8, 1.0)))
    images = make_images(rng, n, h, w, levels, p_anomalous=p)
    order = draw(st.sampled_from(("as drawn", "shuffled", "normal first", "anomalous first")))
    index = np.arange(n)
    if order == "shuffled":
        index = rng.permutation(n)
    elif order != "as drawn":
        key = images[3] if order == "normal first" else ~images[3]
        index = np.argsort(key, kind="stable")
    sizes, start = [], 0
    while start < n:
        sizes.append(draw(st.integers(1, n - start)))
        start += sizes[-1]
    batches, start = [], 0
    for size in sizes:
        part = [a[index[start : start + size]] for a in images]
        batches.append(batch(*part, draw(st.sampled_from(FLOATS))))
        start += size
    before = None
    if draw(st.booleans()):  # some batches fed, then reset()
        before = batches[: draw(st.integers(1, len(batches)))]
    round_trip = draw(st.sampled_from((None, "pickle", "state_dict")))
    at = draw(st.integers(0, len(batches)))
    return before, batches, round_trip, at


def _round_trip(metric, make, how):
    if how == "pickle":
        return pickle.loads(pickle.dumps(metric))
    metric.persistent(True)
    state = metric.state_dict()
    fresh = make()
    fresh.persistent(True)
    fresh.load_state_dict(state)
    return fresh


@pytest.mark.parametrize("name", sorted(METRICS))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(plan=feeding_plans())
def test_any_feeding_gives_the_core_value_on_the_batches_fed(name, plan):
    before, batches, round_trip, at = plan
    make, style, _, _ = METRICS[name]
    if style == "defects":  # streaming AUPIMO: see merge_batches_without_defects
        assume(any(b["gt_mask"].any() for b in batches))
        assume(before is None or any(b["gt_mask"].any() for b in before))
        at = 0  # fed in one go: a part without defects would meet that limitation
    metric = make()
    if before is not None:
        feed(metric, style, before)
        metric.reset()
    feed(metric, style, batches[:at])
    if round_trip is not None:
        metric = _round_trip(metric, make, round_trip)
    feed(metric, style, batches[at:])
    check(name, outcome(lambda: compute(metric, name)), batches)


@pytest.mark.parametrize("name", sorted(METRICS))
def test_nothing_fed_gives_the_core_answer_on_no_data(name):
    metric = METRICS[name][0]()
    check(name, outcome(lambda: compute(metric, name)), [])
