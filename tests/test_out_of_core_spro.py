"""Out-of-core AU-sPRO: the in-memory value to the last bit from any chunking, and its errors."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from _chunked_data import outcome
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anomaly_metrics as am
from anomaly_metrics import out_of_core
from anomaly_metrics.testing import loco_channels

_LIMITS = st.sampled_from((0.05, 0.3, 1.0, (0.01, 0.05, 0.1, 0.3, 1.0)))


@st.composite
def _chunked(draw, problem):
    """Chunks of the problem: cut points, maps as an array or a list, pairs or triples."""
    maps, channels, sats = problem
    n = len(maps)
    inner = draw(st.lists(st.integers(1, max(1, n - 1)), max_size=3)) if n > 1 else []
    cuts = sorted({0, n, *inner})
    as_array = draw(st.booleans())
    chunks = []
    for a, b in itertools.pairwise(cuts):
        m = np.stack(maps[a:b]) if as_array else list(maps[a:b])
        if sats is None and draw(st.booleans()):
            chunks.append((m, channels[a:b]))
        else:
            areas = (
                sats[a:b] if sats is not None else [[c.sum() for c in ch] for ch in channels[a:b]]
            )
            chunks.append((m, channels[a:b], areas))
    return chunks


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loco_channels(max_images=5, max_side=7, max_channels=3), _LIMITS, st.data())
def test_chunks_equal_in_memory(problem, limit, data):
    maps, channels, sats = problem
    chunks = data.draw(_chunked(problem))
    expected = outcome(lambda: am.auspro(maps, channels, saturation_areas=sats, fpr_limit=limit))
    assert outcome(lambda: out_of_core.auspro(chunks, fpr_limit=limit)) == expected


def test_larger_set_with_many_distinct_scores_equals_in_memory():
    # overlapping channels of several blobs, images without channels, float32 scores with few
    # ties: many distinct positive scores, and a background floor that the in-memory code uses
    rng = np.random.default_rng(7)
    n, h, w = 9, 24, 20
    maps = rng.random((n, h, w)).astype(np.float32)
    channels, sats = [], []
    for i in range(n):
        c = 0 if i % 3 == 0 else int(rng.integers(1, 4))
        ch = rng.random((c, h, w)) < 0.05
        ch[:, 3:7, 4:9] |= rng.random((c, 4, 5)) < 0.8
        ch[:, 0, 0] = True
        channels.append(ch)
        sats.append(np.array([int(0.5 * k.sum()) if j % 2 else 30.0 for j, k in enumerate(ch)]))
    maps[np.stack([ch.any(axis=0) if len(ch) else np.zeros((h, w), bool) for ch in channels])] += (
        0.3
    )
    for limit in (0.05, (0.01, 0.3, 1.0)):
        want = am.auspro(maps, channels, saturation_areas=sats, fpr_limit=limit)
        for step in (1, 2, 4, n):
            chunks = [
                (maps[a : a + step], channels[a : a + step], sats[a : a + step])
                for a in range(0, n, step)
            ]
            assert out_of_core.auspro(chunks, fpr_limit=limit) == want


def test_undefined_warns_as_in_memory():
    maps = np.random.default_rng(0).random((2, 3, 3))
    no_channel = [np.zeros((0, 3, 3), bool), None]
    with pytest.warns(am.UndefinedMetricWarning, match="No defect channel"):
        assert np.isnan(out_of_core.auspro([(maps[:1], no_channel[:1]), (maps[1:], [None])]))
    everything = [np.ones((1, 3, 3), bool)] * 2
    with pytest.warns(am.UndefinedMetricWarning, match="No pixel outside the channels"):
        got = out_of_core.auspro([(maps, everything)], fpr_limit=(0.1, 1.0))
    assert all(np.isnan(v) for v in got)


def test_one_shot_source_is_refused():
    maps = np.zeros((1, 2, 2))
    chunk = (maps, [np.ones((1, 2, 2), bool)])
    with pytest.raises(TypeError, match=r"re-iterable.*one-shot generator"):
        out_of_core.auspro(c for c in [chunk])
    with pytest.raises(TypeError, match="one-shot list_iterator"):
        out_of_core.auspro(iter([chunk]))


_MAPS = np.zeros((2, 2, 2))
_CH = [np.ones((1, 2, 2), bool), None]


@pytest.mark.parametrize(
    ("source", "error", "match"),
    [
        ([], ValueError, "at least one chunk"),
        ([(_MAPS,)], TypeError, r"pairs or \(anomaly_maps, channels, saturation_areas\) triples, "),
        ([(_MAPS, _CH, None, 1)], TypeError, "got a tuple of 4 as chunk 0"),
        ([(_MAPS, _CH), _MAPS], TypeError, "got ndarray as chunk 1"),
        (_MAPS, TypeError, "got ndarray"),
        (3, TypeError, "got int"),
        (
            [(_MAPS, _CH[:1])],
            ValueError,
            r"`channels` must hold one channel stack per map \(2\), got 1",
        ),
        (
            [(_MAPS, _CH, [[1.0]])],
            ValueError,
            r"`saturation_areas` must hold one entry per map \(2\)",
        ),
        (
            [(_MAPS, _CH, [[1.0, 2.0], []])],
            ValueError,
            r"`saturation_areas\[0\]` must hold one area",
        ),
        ([(_MAPS, np.ones((2, 1, 2, 2), bool))], TypeError, "`channels` must be a list"),
        (
            [(_MAPS, [np.ones((1, 3, 2), bool), None])],
            ValueError,
            r"`channels\[0\]` must have shape",
        ),
        ([(_MAPS, [np.zeros((1, 2, 2), bool), None])], ValueError, "at least one defect pixel"),
        ([(np.full((1, 2, 2), np.nan), _CH[:1])], ValueError, "anomaly_maps"),
    ],
)
def test_errors(source, error, match):
    with pytest.raises(error, match=match):
        out_of_core.auspro(source)


def test_error_in_a_later_chunk_and_limits_checked_first():
    good = (_MAPS, _CH)
    with pytest.raises(ValueError, match=r"channels\[1\]"):
        out_of_core.auspro([good, (_MAPS, [None, np.ones((1, 2, 3), bool)])])
    with pytest.raises(ValueError, match="fpr_limit"):
        out_of_core.auspro([good], fpr_limit=0.0)
    with pytest.raises(ValueError, match="fpr_limit"):
        out_of_core.auspro([good], fpr_limit=[])


def test_a_pair_of_arrays_is_not_taken_for_maps_and_masks():
    # (maps, channels) as the whole source is one chunk too few levels deep: refused clearly
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError, match="pairs or"):
            out_of_core.auspro((_MAPS, _CH))
