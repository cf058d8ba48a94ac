"""The one thread policy: the cap, its environment variable, and the same numbers on 1 thread."""

from __future__ import annotations

import warnings
from itertools import pairwise

import numpy as np
import pytest

import anomaly_metrics as am
from anomaly_metrics import _counts, _parallel, _validation
from anomaly_metrics.streaming import _bins


def test_default_cap_is_cpu_count_at_most_8(monkeypatch):
    monkeypatch.delenv(_parallel.ENV_VAR, raising=False)
    monkeypatch.setattr(_parallel.os, "cpu_count", lambda: 64)
    assert am.get_num_threads() == 8
    monkeypatch.setattr(_parallel.os, "cpu_count", lambda: None)
    assert am.get_num_threads() == 1


def test_environment_variable_caps_threads(monkeypatch):
    monkeypatch.setenv(_parallel.ENV_VAR, "3")
    assert am.get_num_threads() == 3
    with am.threads(1):  # the function wins over the variable
        assert am.get_num_threads() == 1
    assert am.get_num_threads() == 3


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5"])
def test_bad_environment_variable_is_a_clear_error(monkeypatch, bad):
    monkeypatch.setenv(_parallel.ENV_VAR, bad)
    with pytest.raises(ValueError, match="ANOMALY_METRICS_NUM_THREADS"):
        am.get_num_threads()


@pytest.mark.parametrize("bad", [0, -1, 1.0, True, "2"])
def test_set_num_threads_rejects_non_positive_ints(bad):
    with pytest.raises(ValueError, match="`n` must be a positive int"):
        am.set_num_threads(bad)


def test_set_num_threads_returns_previous_setting():
    first = am.set_num_threads(2)
    try:
        assert am.set_num_threads(5) == 2
        assert am.get_num_threads() == 5
    finally:
        am.set_num_threads(first)


def test_run_tasks_never_exceeds_the_cap(monkeypatch):
    import threading

    active, peak, lock = 0, 0, threading.Lock()

    def task(_):
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        threading.Event().wait(0.01)
        with lock:
            active -= 1

    with am.threads(2):
        _parallel.run_tasks(task, range(12))
    assert 1 <= peak <= 2


def _all_metrics(maps, masks):
    flat_s, flat_y = maps.reshape(-1), masks.reshape(-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (
            am.auroc(flat_s, flat_y),
            am.aupr(flat_s, flat_y),
            am.f1_max(flat_s, flat_y),
            am.aupro(maps, masks),
            am.pro(maps, masks, 0.6),
            tuple(
                am.aupimo(
                    maps, masks, fpr_bounds=(1e-2, 1e-1), num_thresholds=None
                ).per_image.tolist()
            ),
            tuple(am.aupimo(maps, masks, fpr_bounds=(1e-2, 1e-1)).per_image.tolist()),
            tuple(am.ranking_histogram(flat_s, flat_y, bits=12).ravel().tolist()),
            tuple(am.connected_components(masks).ravel().tolist()),
        )


def test_one_thread_gives_the_same_numbers_as_many(monkeypatch):
    rng = np.random.default_rng(11)
    maps = rng.random((24, 64, 64)).astype(np.float32)
    masks = np.zeros(maps.shape, bool)
    masks[12:, 20:40, 10:30] = True
    masks[12:, 50:55, 50:60] = True
    maps[masks] += 0.4
    maps[:, ::5] = np.round(maps[:, ::5], 2)  # ties across classes
    # small work sizes per worker, so that every threaded path really splits
    for module, name in [
        (_counts, "SCORES_PER_WORKER"),
        (_bins, "HISTOGRAM_PER_WORKER"),
        (_parallel, "PIXELS_PER_WORKER"),
        (_validation, "PIXELS_PER_WORKER"),
    ]:
        monkeypatch.setattr(module, name, 1000)
    with am.threads(1):
        single = _all_metrics(maps, masks)
    with am.threads(4):
        many = _all_metrics(maps, masks)
    # repr: nan == nan, and every float compared to the last digit
    assert repr(single) == repr(many)


def test_int64_working_counters_give_the_same_counts_as_int32(monkeypatch):
    # a worker that counts 2**31 values or more keeps int64 counters; lower the switch so that
    # small inputs take that path too, with small sort buffers (several sorts and merges)
    rng = np.random.default_rng(5)
    scores = np.round(rng.random(50_000), 3).astype(np.float32)
    labels = rng.random(50_000) < 0.2
    levels = np.unique(scores[labels]).astype(np.float64)
    monkeypatch.setattr(_counts, "_SORT_CHUNK", 1 << 10)
    monkeypatch.setattr(_counts, "_SORT_CHUNK_MAX", 1 << 11)
    monkeypatch.setattr(_counts, "SCORES_PER_WORKER", 1000)
    results = {}
    for switch in (1 << 31, 1):
        monkeypatch.setattr(_counts, "_INT32_COUNTS_BELOW", switch)
        with am.threads(2):
            results[switch] = _counts._count_into_gaps([(scores, labels)], False, levels)
    neg = scores[~labels].astype(np.float64)
    expected_eq = np.array([np.count_nonzero(neg == v) for v in levels])
    edges = np.concatenate(([-np.inf], levels, [np.inf]))
    expected_gap = np.array([np.count_nonzero((neg > a) & (neg < b)) for a, b in pairwise(edges)])
    for eq, gap in results.values():
        assert eq.dtype == gap.dtype == np.int64
        np.testing.assert_array_equal(eq, expected_eq)
        np.testing.assert_array_equal(gap, expected_gap)


@pytest.mark.parametrize("method", ["numpy", "radix"])
def test_sort_buffers_grow_with_the_levels_and_hold_at_most_a_quarter_of_the_values(
    monkeypatch, method
):
    # the counting primitive's sort buffer: 8 values per level within [2**20, 2**22], and all
    # workers' buffers together at most a quarter of the values (so more threads, smaller ones);
    # the radix sort's scratch array is as long as its buffer: half as many values in each
    monkeypatch.setenv("ANOMALY_METRICS_SORT", method)
    seen = []
    real = _counts._count_span_into

    def spy(pieces, which, u, eq, gap, dtype, sort_chunk=None, *rest):
        seen.append(sort_chunk)
        return real(pieces, which, u, eq, gap, dtype, sort_chunk, *rest)

    monkeypatch.setattr(_counts, "_count_span_into", spy)
    rng = np.random.default_rng(3)
    values = rng.random(1 << 23).astype(np.float32)
    labels = np.zeros(values.size, bool)
    for n_levels, workers, expected in [
        (1000, 1, 1 << 20),  # few levels: the smallest buffer
        (200_000, 1, 8 * 200_000),  # 8 per level
        (300_000, 1, (1 << 23) // 4),  # 8 per level would be 2.4M: a quarter of the 8M values
        (300_000, 2, 1 << 20),  # two workers: a quarter over two, the smallest buffer
        (300_000, 4, 1 << 20),  # four: never below the smallest buffer
    ]:
        seen.clear()
        levels = np.sort(rng.random(n_levels)).astype(np.float32).astype(np.float64)
        with am.threads(workers):
            _counts._count_into_gaps([(values, labels)], False, levels)
        if method == "radix":
            expected //= 2
        assert set(seen) == {expected}, (n_levels, workers, seen)
