"""Out-of-core metrics: the in-memory value to the last bit, from chunks and from .npy files."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from _chunked_data import METRIC_CALLS, PIMO_CALLS, chunks_of, outcome, segmentation_sets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

import anomaly_metrics as am
from anomaly_metrics import out_of_core
from anomaly_metrics.out_of_core import ArrayChunks
from anomaly_metrics.testing import scores_and_labels as ranking_problems

_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _same_as_in_memory(maps, masks, source, calls=METRIC_CALLS):
    for name, kwargs in calls:
        expected = outcome(lambda: getattr(am, name)(maps, masks, **kwargs))  # noqa: B023
        got = outcome(lambda: getattr(out_of_core, name)(source, **kwargs))  # noqa: B023
        assert got == expected, (name, kwargs)


@_SETTINGS
@given(segmentation_sets())
def test_chunks_equal_in_memory(data):
    maps, masks, cuts = data
    _same_as_in_memory(maps, masks, chunks_of(maps, masks, cuts))


@_SETTINGS
@given(segmentation_sets(min_side=8, both_classes=True, max_images=5))
def test_pimo_chunks_equal_in_memory(data):
    maps, masks, cuts = data
    _same_as_in_memory(maps, masks, chunks_of(maps, masks, cuts), PIMO_CALLS)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(segmentation_sets(), st.integers(1, 4))
def test_npy_files_equal_in_memory(tmp_path_factory, data, per_chunk):
    maps, masks, _ = data
    folder = tmp_path_factory.mktemp("npy")
    np.save(folder / "maps.npy", maps)
    np.save(folder / "masks.npy", masks)
    source = ArrayChunks(folder / "maps.npy", folder / "masks.npy", images_per_chunk=per_chunk)
    _same_as_in_memory(maps, masks, source)
    _same_as_in_memory(maps, masks, source, PIMO_CALLS)


@_SETTINGS
@given(ranking_problems(max_size=200), st.lists(st.integers(0, 200), max_size=4))
def test_score_chunks_equal_in_memory(problem, cuts):
    scores, labels = problem
    bounds = sorted({0, scores.size, *(c for c in cuts if c < scores.size)})
    chunks = [(scores[a:b], labels[a:b]) for a, b in itertools.pairwise(bounds)]
    for name in ("auroc", "aupr", "f1_max", "f1_adaptive_threshold"):
        expected = outcome(lambda: getattr(am, name)(scores, labels))  # noqa: B023
        assert outcome(lambda: getattr(out_of_core, name)(chunks)) == expected, name  # noqa: B023


def test_auroc_matches_scikit_learn_and_max_fpr():
    rng = np.random.default_rng(3)
    scores = rng.random(500).astype(np.float32)
    labels = rng.random(500) < 0.2
    chunks = [(scores[i : i + 77], labels[i : i + 77]) for i in range(0, 500, 77)]
    assert out_of_core.auroc(chunks) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert out_of_core.auroc(chunks, max_fpr=0.3) == am.auroc(scores, labels, max_fpr=0.3)


def test_pair_of_arrays_and_memmap(tmp_path):
    rng = np.random.default_rng(0)
    maps = rng.random((6, 9, 7)).astype(np.float32)
    masks = np.zeros(maps.shape, bool)
    masks[3:, 2:5, 1:4] = True
    np.save(tmp_path / "m.npy", maps)
    memmap = np.load(tmp_path / "m.npy", mmap_mode="r")
    for source in ((maps, masks), (str(tmp_path / "m.npy"), masks), (memmap, masks)):
        assert out_of_core.aupro(source) == am.aupro(maps, masks)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # AUPIMO's default bounds are out of reach: nan
            assert repr(out_of_core.evaluate(source)) == repr(am.evaluate(maps, masks))


def test_reads_two_times_and_reports_progress():
    rng = np.random.default_rng(1)
    maps = rng.random((4, 8, 8))
    masks = np.zeros(maps.shape, bool)
    masks[2:, 1:4, 1:4] = True
    reads = []

    def progress(name, total):
        reads.append((name, total))
        return lambda: None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out_of_core.evaluate(ArrayChunks(maps, masks, images_per_chunk=3), progress=progress)
    assert reads == [("read 1/2", 2), ("read 2/2", 2)]


def test_one_shot_source_points_to_streaming():
    maps = np.zeros((2, 4, 4))
    masks = np.zeros((2, 4, 4), bool)
    with pytest.raises(TypeError, match=r"re-iterable.*streaming"):
        out_of_core.auroc(x for x in [(maps, masks)])
    with pytest.raises(TypeError, match="one-shot list_iterator"):
        out_of_core.aupro(iter([(maps, masks)]))


@pytest.mark.parametrize(
    ("source", "error", "match"),
    [
        ([], ValueError, "at least one chunk"),
        ([np.zeros(3)], TypeError, "pairs, got ndarray as chunk 0"),
        (np.zeros((2, 4, 4)), TypeError, "got a single ndarray"),
        (3, TypeError, "got int"),
        (
            [(np.zeros((1, 4, 4)), np.zeros((1, 4, 4))), (np.zeros((1, 5, 4)), np.ones((1, 5, 4)))],
            ValueError,
            "same image size",
        ),
        ([(np.zeros((1, 4, 4)), np.full((1, 4, 4), 2))], ValueError, "masks"),
        ((np.zeros((2, 4, 4)), np.zeros((3, 4, 4))), ValueError, "same number of images"),
    ],
)
def test_errors(source, error, match):
    with pytest.raises(error, match=match):
        out_of_core.aupro(source)


def test_array_chunks_errors():
    with pytest.raises(ValueError, match="images_per_chunk"):
        ArrayChunks(np.zeros((2, 3, 3)), np.zeros((2, 3, 3)), images_per_chunk=0)
    with pytest.raises(TypeError, match="`masks` must be an ndarray"):
        ArrayChunks(np.zeros((2, 3, 3)), [[0]])
    assert len(ArrayChunks(np.zeros((5, 3, 3)), np.zeros((5, 3, 3)), images_per_chunk=2)) == 3


def test_options_are_checked_before_reading():
    bad = [(np.zeros((1, 4, 4)), np.zeros((1, 4, 4)))]
    with pytest.raises(ValueError, match="max_fpr"):
        out_of_core.auroc(bad, max_fpr=2.0)
    with pytest.raises(ValueError, match="fpr_limit"):
        out_of_core.aupro(bad, fpr_limit=0.0)
    with pytest.raises(TypeError, match="num_thresholds"):
        out_of_core.aupimo(bad, num_thresholds=1.5)
    with pytest.raises(ValueError, match="metric"):
        out_of_core.evaluate(bad, metrics=["nope"])
    with pytest.raises(ValueError, match="threshold"):
        out_of_core.pro(bad, threshold=float("nan"))


def _reference_gaps(u, values):
    """Ties and gaps of `values` against ascending distinct `u`, from the definition."""
    at = np.searchsorted(u, values.astype(np.float64), side="left")
    inside = at < u.size
    tie = np.zeros(values.size, bool)
    tie[inside] = u[at[inside]] == values[inside].astype(np.float64)
    eq = np.bincount(at[tie], minlength=u.size)
    gap = np.bincount(at[~tie], minlength=u.size + 1)
    return eq, gap


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_gap_counts_in_place_over_chunks_and_threads(n_threads):
    from anomaly_metrics._chunked_counts import GapCounts
    from anomaly_metrics._parallel import SCORES_PER_WORKER, threads

    rng = np.random.default_rng(5)
    n = 2 * SCORES_PER_WORKER + 12_345  # enough values for several worker spans
    values = (rng.integers(0, 3000, n) / 997.0).astype(np.float32)
    labels = rng.random(n) < 0.01
    u = np.unique(values[labels].astype(np.float64))[5:-5]  # values fall below and above too
    counter = GapCounts(u)
    with threads(n_threads):
        for a, b in ((0, 1000), (1000, n - 7), (n - 7, n)):  # chunks of very different sizes
            counter.count([(values[a:b], labels[a:b])])
    eq, gap = counter.totals()
    want_eq, want_gap = _reference_gaps(u, values[~labels])
    np.testing.assert_array_equal(eq, want_eq)
    np.testing.assert_array_equal(gap, want_gap)
    assert eq.dtype == gap.dtype == np.int64


def test_block_counts_are_widened_when_merged():
    from anomaly_metrics._chunked_source import merge_parts

    big = np.array([2**31 - 1, 5], np.int32)
    merged = merge_parts({"sum_eq": big}, {"sum_eq": big.copy()})
    assert merged["sum_eq"].dtype == np.int64
    assert merged["sum_eq"].tolist() == [2**32 - 2, 10]
    again = merge_parts(merged, {"sum_eq": big})
    assert again["sum_eq"].tolist() == [3 * (2**31 - 1), 15]


def test_aupro_floor_that_fails_its_check_reads_again(monkeypatch):
    import anomaly_metrics._chunked_metrics as chunked
    from anomaly_metrics._chunked_source import LocalRunner

    rng = np.random.default_rng(11)
    maps = rng.random((6, 16, 16)).astype(np.float32)
    masks = np.zeros(maps.shape, bool)
    masks[3:, 4:9, 5:11] = True
    maps[masks] += 0.2
    want = am.aupro(maps, masks, fpr_limit=(0.05, 0.3))
    reads = []

    def progress(name, total):
        reads.append(name)
        return lambda: None

    source = ArrayChunks(maps, masks, images_per_chunk=2)
    assert out_of_core.aupro(source, fpr_limit=(0.05, 0.3)) == want  # the sampled floor holds
    # a floor far too high (a poor sample): the counts fail the check, every positive is counted
    monkeypatch.setattr(chunked, "background_floor", lambda *a: float(maps.max()))
    runner = LocalRunner(source, "maps", on_pass=progress)
    assert chunked.aupro(runner, (0.05, 0.3), False) == want
    assert reads == ["positives", "count", "positives again", "count"]
