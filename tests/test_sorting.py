"""The sort behind the counting primitive: NumPy's or the compiled radix sort, chosen per process.

References: ``np.sort`` (a comparison sort) for the radix kernels; scikit-learn and the
brute-force references of :mod:`anomaly_metrics.testing` for the metrics, computed with each
method forced through ``ANOMALY_METRICS_SORT``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

import anomaly_metrics as am
from anomaly_metrics import _sorting
from anomaly_metrics.testing import reference_aupro

SPECIAL = [0.0, -0.0, np.inf, -np.inf, 1e-45, -1e-45, 3.4e38, -3.4e38, 1.0, -1.0]


@st.composite
def float32_arrays(draw):
    n = draw(st.integers(0, 3000))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["normal", "ties", "one-octave", "equal", "special"]))
    if kind == "normal":
        values = rng.standard_normal(n) * 10.0 ** draw(st.integers(-30, 30))
    elif kind == "ties":
        values = rng.integers(-5, 6, n).astype(np.float64) / 4
    elif kind == "one-octave":  # the top digits shared: their passes are skipped
        values = 1.0 + rng.random(n)
    elif kind == "equal":
        values = np.full(n, draw(st.sampled_from(SPECIAL)))
    else:
        values = rng.choice(SPECIAL, n)
    return values.astype(np.float32)


@settings(max_examples=120, deadline=None)
@given(values=float32_arrays())
def test_radix_sort_of_float32_equals_np_sort(values):
    got = values.copy()
    _sorting._radix_sort_float32_kernel(got, np.empty(values.shape[0], np.uint32))
    np.testing.assert_array_equal(got, np.sort(values))  # (-0.0 == 0.0)
    # the same bit patterns, each as often: nothing lost or changed on the way
    np.testing.assert_array_equal(np.sort(got.view(np.uint32)), np.sort(values.view(np.uint32)))
    # -0.0 before 0.0 (they compare equal; the radix sort orders their bits)
    zeros = got[got == 0].view(np.uint32)
    assert np.all(np.diff((zeros == 0).astype(np.int8)) >= 0)


@settings(max_examples=120, deadline=None)
@given(
    n=st.integers(0, 3000),
    distinct=st.sampled_from([1, 2, 300, 1 << 32]),
    seed=st.integers(0, 2**32 - 1),
)
def test_radix_sort_of_packed_keys_equals_np_sort(n, distinct, seed):
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, distinct, n, dtype=np.uint64) * np.uint64((1 << 32) // distinct)
    packed = (keys << np.uint64(32)) | np.arange(n, dtype=np.uint64)
    got = packed.copy()
    _sorting._radix_sort_packed_kernel(got, np.empty_like(got))
    np.testing.assert_array_equal(got, np.sort(packed))


@pytest.mark.parametrize("method", ["numpy", "radix"])
def test_public_sorts_take_the_method_given(method):
    rng = np.random.default_rng(3)
    values = rng.standard_normal(20_000).astype(np.float32)
    got = values.copy()
    _sorting.sort_values(got, method=method)
    np.testing.assert_array_equal(got, np.sort(values))
    packed = (rng.integers(0, 99, 20_000).astype(np.uint64) << np.uint64(32)) | np.arange(
        20_000, dtype=np.uint64
    )
    got_p = packed.copy()
    _sorting.sort_packed(got_p, method=method)
    np.testing.assert_array_equal(got_p, np.sort(packed))
    wide = rng.standard_normal(20_000)  # float64: always NumPy's sort
    got_w = wide.copy()
    _sorting.sort_values(got_w, method=method)
    np.testing.assert_array_equal(got_w, np.sort(wide))


def test_sort_method_follows_the_environment(monkeypatch):
    for forced in ("numpy", "radix"):
        monkeypatch.setenv(_sorting.SORT_ENV_VAR, forced)
        assert _sorting.sort_method() == forced
        assert _sorting.sort_method("packed") == forced
    monkeypatch.setenv(_sorting.SORT_ENV_VAR, "auto")
    first = _sorting.sort_method()
    assert first in ("numpy", "radix")
    assert _sorting.sort_method() == first  # timed once, then kept
    monkeypatch.setenv(_sorting.SORT_ENV_VAR, "quick")
    with pytest.raises(ValueError, match=r"ANOMALY_METRICS_SORT must be one of .*'quick'"):
        _sorting.sort_method()


def test_calibration_names_a_method_for_each_kind():
    assert _sorting._calibrate("float32") in ("numpy", "radix")
    assert _sorting._calibrate("packed") in ("numpy", "radix")


def _maps(seed, n_images, share):
    """Float32 maps with ties, signed zeros and a few huge values; defects on ``share``."""
    rng = np.random.default_rng(seed)
    maps = np.round(rng.standard_normal((n_images, 64, 64)), 2).astype(np.float32)
    maps[rng.random(maps.shape) < 0.01] = -0.0
    maps[rng.random(maps.shape) < 0.001] = 1e30
    masks = np.zeros(maps.shape, bool)
    for i in range(n_images // 2, n_images):
        r, c = rng.integers(0, 48, 2)
        size = int(64 * np.sqrt(share) * 1.4) if share > 0.1 else 12
        masks[i, r : r + size, c : c + size] = True
    maps[masks] += 1.0
    return maps, masks


@pytest.mark.parametrize("method", ["numpy", "radix"])
@pytest.mark.parametrize("share", [0.05, 0.5])  # rare positives; the dense walk
def test_metrics_are_exact_whichever_sort(monkeypatch, method, share):
    monkeypatch.setenv(_sorting.SORT_ENV_VAR, method)
    maps, masks = _maps(7, 40, share)
    s, y = maps.ravel().astype(np.float64), masks.ravel()
    assert am.auroc(maps, masks) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert am.aupr(maps, masks) == pytest.approx(average_precision_score(y, s), abs=1e-12)
    for limit in (0.3, 1.0):
        assert am.aupro(maps, masks, fpr_limit=limit) == pytest.approx(
            reference_aupro(maps, masks, fpr_limit=limit), abs=1e-9
        )


def test_both_sorts_give_the_same_floats(monkeypatch):
    maps, masks = _maps(11, 40, 0.05)
    got = {}
    for method in ("numpy", "radix"):
        monkeypatch.setenv(_sorting.SORT_ENV_VAR, method)
        got[method] = (
            am.auroc(maps, masks),
            am.aupr(maps, masks),
            am.f1_max(maps, masks),
            am.aupro(maps, masks),
        )
    assert got["numpy"] == got["radix"]


@pytest.mark.parametrize("method", ["numpy", "radix"])
def test_out_of_core_counts_equal_in_memory_whichever_sort(monkeypatch, method):
    from anomaly_metrics import out_of_core
    from anomaly_metrics.out_of_core import ArrayChunks

    monkeypatch.setenv(_sorting.SORT_ENV_VAR, method)
    maps, masks = _maps(13, 40, 0.05)
    source = ArrayChunks(maps, masks, images_per_chunk=7)
    for name in ("auroc", "aupr", "f1_max", "aupro"):
        assert getattr(out_of_core, name)(source) == getattr(am, name)(maps, masks), name
