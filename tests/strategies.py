"""Hypothesis strategies for ranking problems: ties, all-equal, one class, dtypes."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

SCORE_DTYPES = (np.float16, np.float32, np.float64, np.int32, np.int64)
LABEL_KINDS = ("bool", "int", "float")


@st.composite
def ranking_problems(draw, *, min_size=1, max_size=300, both_classes=False, dtypes=SCORE_DTYPES):
    """(scores, labels) with heavy ties (few distinct values), any dtype, labels of any kind."""
    n = draw(st.integers(min_size, max_size))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    dtype = draw(st.sampled_from(dtypes))
    style = draw(st.sampled_from(("ties", "continuous", "all-equal", "integers", "wide")))
    if style == "ties":
        scores = rng.integers(0, draw(st.integers(1, 8)), n) / 8.0
    elif style == "continuous":
        scores = rng.normal(size=n)
    elif style == "all-equal":
        scores = np.full(n, 0.25)
    elif style == "integers":
        scores = rng.integers(-5, 5, n).astype(np.float64)
    else:
        scores = rng.normal(size=n) * 10.0 ** rng.integers(-3, 4, n)
    if np.dtype(dtype).kind in "iu":
        scores = np.round(scores * 8)
    scores = scores.astype(dtype)
    p = draw(st.sampled_from((0.0, 0.03, 0.3, 0.5, 0.9, 1.0)))
    labels = rng.random(n) < p
    if both_classes:
        if n < 2:
            n = 2
            scores = np.resize(scores, 2)
            labels = np.resize(labels, 2)
        labels[0], labels[-1] = True, False
    kind = draw(st.sampled_from(LABEL_KINDS))
    if kind == "int":
        labels = labels.astype(np.int64)
    elif kind == "float":
        labels = labels.astype(np.float32)
    return scores, labels
