"""The error table of the score-level functions: exception type and message for each bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import anomaly_metrics as am

S = [0.1, 0.4, 0.35, 0.8]
Y = [0, 0, 1, 1]

RANKING = [am.auroc, am.aupr, am.f1_max, am.f1_adaptive_threshold, am.f1_score, am.pgn, am.pbn]
RANKING += [am.roc_curve, am.precision_recall_curve]

BAD_INPUTS = [
    # (scores, labels, exception, message fragment)
    ([0.1, np.nan, 0.3], [0, 1, 1], ValueError, "`scores` must be finite, got 1 NaN"),
    ([0.1, np.inf, 0.3], [0, 1, 1], ValueError, "0 NaN and 1 infinite"),
    ([], [], ValueError, "`scores` must not be empty"),
    ([0.1, 0.2], [0, 2], ValueError, "`labels` must be bool or all 0 or 1, got value(s) [2]"),
    ([0.1, 0.2], [0, 255], ValueError, "pass `labels > 0`"),
    ([0.1, 0.2], [0.0, 0.5], ValueError, "`labels` must be bool or all 0 or 1"),
    ([0.1, 0.2], [-1, 1], ValueError, "`labels` must be bool or all 0 or 1"),
    ([0.1, 0.2, 0.3], [0, 1], ValueError, "must have the same shape, got (3,) and (2,)"),
    (["a", "b"], [0, 1], TypeError, "`scores` must hold real numbers"),
    ([0.1, 0.2], ["a", "b"], TypeError, "`labels` must be bool or numbers"),
    (None, [0, 1], TypeError, "`scores` must be an array-like of numbers, got None"),
    ([1 + 2j, 3j], [0, 1], TypeError, "`scores` must hold real numbers"),
    ([[0.1, 0.2], [0.3]], [0, 1], TypeError, "`scores` must be an array-like"),
]


@pytest.mark.parametrize("fn", RANKING, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("scores", "labels", "exc", "msg"), BAD_INPUTS)
def test_bad_inputs(fn, scores, labels, exc, msg):
    with pytest.raises(exc) as info:
        fn(scores, labels)
    assert msg in str(info.value)


BAD_OPTIONS = [
    (lambda: am.auroc(S, Y, max_fpr=0.0), ValueError, "`max_fpr` must be in (0, 1], got 0.0"),
    (lambda: am.auroc(S, Y, max_fpr=1.5), ValueError, "`max_fpr` must be in (0, 1]"),
    (lambda: am.auroc(S, Y, max_fpr="a"), TypeError, "`max_fpr` must be a real number"),
    (lambda: am.pgn(S, Y, fnr=-0.1), ValueError, "`fnr` must be in [0, 1], got -0.1"),
    (lambda: am.pbn(S, Y, fpr=1.1), ValueError, "`fpr` must be in [0, 1], got 1.1"),
    (lambda: am.f1_score(S, Y, threshold=np.nan), ValueError, "`threshold` must be finite"),
    (lambda: am.f1_score(S, Y, threshold=None), TypeError, "`threshold` must be a real number"),
    (lambda: am.auc([0, 1], [0]), ValueError, "`x` and `y` must have the same length"),
    (lambda: am.auc([0], [0]), ValueError, "at least 2 points"),
    (lambda: am.auc([0, 1, 0.5], [0, 1, 1]), ValueError, "`x` must be monotonic"),
    (lambda: am.auc([0, 1], [0, 1], x_max=2), ValueError, "`x_max` must be within [0.0, 1.0]"),
    (lambda: am.min_max([]), ValueError, "`values` must not be empty"),
    (lambda: am.min_max([1.0, np.nan]), ValueError, "`values` must be finite"),
    (lambda: am.normalize_min_max(S, 0.5, 1.0, 0.0), ValueError, "`min` must be <= `max`"),
    (lambda: am.normalize_min_max(S, np.inf, 0.0, 1.0), ValueError, "`threshold` must be finite"),
    (lambda: am.score_distribution(), ValueError, "Pass `image_scores`, `anomaly_maps` or both"),
    (lambda: am.score_distribution([1.0, 0.0]), ValueError, "`image_scores` must be > 0"),
    (lambda: am.score_distribution(anomaly_maps=[1.0, 2.0]), ValueError, "(N, H, W)"),
]


@pytest.mark.parametrize(("call", "exc", "msg"), BAD_OPTIONS)
def test_bad_options(call, exc, msg):
    with pytest.raises(exc) as info:
        call()
    assert msg in str(info.value)


def test_torch_tensor_is_refused_with_a_hint():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="anomaly_metrics_torch"):
        am.auroc(torch.tensor(S), torch.tensor(Y))


@pytest.mark.parametrize(
    ("scores", "labels"),
    [
        (np.float16([0.1, 0.4, 0.35, 0.8]), np.array(Y, bool)),
        (np.array([1, 4, 3, 8], np.int8), np.array(Y, np.uint8)),
        (np.array([[0.1, 0.4], [0.35, 0.8]]), np.array([[0, 0], [1, 1]], np.float32)),
        (np.array([0.1, 0.4, 0.35, 0.8]), np.array([[0], [0], [1], [1]])),
        (np.array([False, True, True, True]), Y),
    ],
)
def test_accepted_inputs(scores, labels):
    assert 0.0 <= am.auroc(scores, labels) <= 1.0


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout


def test_import_loads_nothing_heavy_and_compiles_nothing():
    # The import time itself (< 0.5 s) is measured by the benchmark, not by a timed test.
    code = (
        "import sys, anomaly_metrics\n"
        "from numba.core.registry import CPUDispatcher\n"
        "heavy = [m for m in ('torch', 'matplotlib', 'sklearn', 'scipy.stats', 'scipy.ndimage',"
        " 'PIL', 'tifffile') if m in sys.modules]\n"
        "compiled = [n for mod in list(sys.modules) if mod.startswith('anomaly_metrics')"
        " for n, f in vars(sys.modules[mod]).items()"
        " if isinstance(f, CPUDispatcher) and f.signatures]\n"
        "print(heavy, compiled)"
    )
    assert _run(code).strip() == "[] []"


def test_second_process_reuses_the_numba_cache():
    code = (
        "import anomaly_metrics as am\n"
        "from anomaly_metrics import _counts\n"
        "am.auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])\n"
        "print(sum(_counts._merge_count_kernel.stats.cache_hits.values()),"
        " sum(_counts._merge_count_kernel.stats.cache_misses.values()))"
    )
    _run(code)  # the first process may compile, and writes the on-disk cache
    hits, misses = map(int, _run(code).split())
    assert hits >= 1 and misses == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, None])
@pytest.mark.parametrize("where", [0, 70_000, -1])
def test_large_maps_finite_check_finds_every_non_finite_value(dtype, bad, where):
    # large contiguous inputs are checked by a threaded one-pass kernel, strided ones by
    # NumPy's reductions: both must see a NaN or infinity anywhere, and pass finite data
    maps = np.random.default_rng(0).random((3, 200, 200)).astype(dtype)
    masks = np.zeros(maps.shape, bool)
    masks[:, :5] = True
    strided = maps[:, :, ::2]  # a view: the non-contiguous path
    if bad is None:
        assert 0.0 <= am.auroc(maps, masks) <= 1.0
        assert 0.0 <= am.auroc(strided, masks[:, :, ::2]) <= 1.0
        return
    maps.reshape(-1)[where] = bad
    with pytest.raises(ValueError, match="must be finite, got"):
        am.auroc(maps, masks)
    maps.reshape(-1)[where] = 0.5
    strided[1, 7, 10] = bad
    with pytest.raises(ValueError, match="must be finite, got"):
        am.auroc(strided, masks[:, :, ::2])
