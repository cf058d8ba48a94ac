"""Exactness beyond 2**31 scores: AUROC, AP and F1-max against closed forms from per-level counts.

``python -m bench.exactness`` (default ``--n 2**31+12345``, about 11 GB of memory and a few
minutes) draws that many scores on 256 quantized levels (``level / 255`` as float32; most of the
mass on a few levels, so that single levels hold hundreds of millions of values) with labels
whose rate grows with the level, counts positives and negatives per level with ``np.bincount``
(int64, independent of the library), and computes with Python's exact rationals:

* AUROC = sum over levels of ``P_l * (N_below + N_l / 2)`` / ``(P * N)``;
* AP = sum over levels of ``P_l / P`` times the precision at threshold ``level``;
* F1-max = the largest ``2 TP / (P + TP + FP)`` over the thresholds.

The library's float64 results must equal the correctly rounded exact values to within 2 units
in the last place, with the default threads and with one thread (where a single worker counts
more than 2**31 values and its counters must be int64). Exit status 1 when one does not. Not a
unit test: it needs the memory and the minutes; it is the benchmark's check that the int32
working counters of the counting primitive never change an int64 total.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from fractions import Fraction

import numpy as np

LEVELS = 256


def _size(text: str) -> int:
    """``2**31+12345`` or ``1000``."""
    total = 0
    for term in text.split("+"):
        base, _, exp = term.partition("**")
        total += int(base) ** int(exp) if exp else int(base)
    return total


def make_set(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(scores, labels, positives per level, negatives per level), written a chunk at a time."""
    rng = np.random.default_rng(seed)
    p_level = np.full(LEVELS, 0.4 / (LEVELS - 4))
    p_level[[0, 1, 128, 255]] = [0.35, 0.15, 0.05, 0.05]  # heavy levels
    p_level /= p_level.sum()
    rate = np.linspace(0.01, 0.6, LEVELS)  # positive share grows with the level
    scores = np.empty(n, np.float32)
    labels = np.empty(n, np.bool_)
    pos = np.zeros(LEVELS, np.int64)
    neg = np.zeros(LEVELS, np.int64)
    step = 1 << 26
    for a in range(0, n, step):
        b = min(n, a + step)
        lv = rng.choice(LEVELS, size=b - a, p=p_level).astype(np.int64)
        y = rng.random(b - a) < rate[lv]
        scores[a:b] = (lv / (LEVELS - 1)).astype(np.float32)
        labels[a:b] = y
        pos += np.bincount(lv[y], minlength=LEVELS)
        neg += np.bincount(lv[~y], minlength=LEVELS)
    return scores, labels, pos, neg


def exact_values(pos: np.ndarray, neg: np.ndarray) -> dict[str, Fraction]:
    """The three metrics as exact rationals from the per-level counts (ascending levels)."""
    p_tot, n_tot = int(pos.sum()), int(neg.sum())
    below = 0
    auc_num = Fraction(0)
    for p, q in zip(pos.tolist(), neg.tolist()):
        auc_num += p * (below + Fraction(q, 2))
        below += q
    ap = Fraction(0)
    best = Fraction(0)
    tp = fp = 0
    for p, q in zip(pos.tolist()[::-1], neg.tolist()[::-1]):  # descending thresholds
        tp += p
        fp += q
        if p + q == 0:
            continue
        if p:
            ap += Fraction(p, p_tot) * Fraction(tp, tp + fp)
        best = max(best, Fraction(2 * tp, p_tot + tp + fp))
    return {"auroc": auc_num / (p_tot * n_tot), "aupr": ap, "f1_max": best}


def _ulps(value: float, exact: Fraction) -> float:
    """Distance from ``value`` to ``exact`` in units of the last place of the rounded exact."""
    target = float(exact)
    return abs(Fraction(value) - exact) / Fraction(math.ulp(target))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.exactness", description=__doc__)
    parser.add_argument("--n", type=_size, default=_size("2**31+12345"), help="number of scores")
    args = parser.parse_args(argv)
    import anomaly_metrics as am

    t0 = time.perf_counter()
    scores, labels, pos, neg = make_set(args.n)
    print(
        f"{args.n:,} scores, {int(pos.sum()):,} positive; set made in {time.perf_counter() - t0:.0f} s"
    )
    exact = exact_values(pos, neg)
    ok = True
    for threads in (None, 1):
        with am.threads(threads) if threads else contextlib.nullcontext():
            for name, fn in (("auroc", am.auroc), ("aupr", am.aupr), ("f1_max", am.f1_max)):
                t0 = time.perf_counter()
                value = float(fn(scores, labels))
                ulps = _ulps(value, exact[name])
                good = ulps <= 2
                ok &= good
                print(
                    f"threads={threads or am.get_num_threads()} {name:7s} {value!r:22} exact "
                    f"{float(exact[name])!r:22} {float(ulps):.2f} ulp "
                    f"{'ok' if good else 'FAIL'} ({time.perf_counter() - t0:.0f} s)",
                    flush=True,
                )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
