"""``evaluate`` as passes over chunks: every metric from two reads of the data.

Pass 1 gathers, in one read, what every metric needs from each chunk (the positives and their
region weights, each image's maximum and label, the normal images' range and the anomalous
images' defect pixels); pass 2 counts the negatives into the positives' gaps and, for AUPIMO,
the normal scores against the linspace thresholds. Each value is the one
:func:`anomaly_metrics.evaluate` returns on the concatenation (shared by the out-of-core and
the Dask functions).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import _chunked_metrics as cm
from . import _chunked_pimo as cp
from ._chunked_counts import GapCounts, distinct_levels
from ._counts import _binary_levels, _Levels
from ._evaluate import _IMAGE_COUNTS, _PIXEL_COUNTS, METRICS, _from_levels, _prefixed
from ._groups import _group_index, _grouped
from ._pgn_pbn import pbn, pgn
from ._pro import _aupro_from_levels
from ._validation import check_scores
from ._warnings import warn_undefined

_AUPIMO = {"fpr_bounds": (1e-5, 1e-4), "num_thresholds": 300_000}


def stage_both(values: NDArray[Any], labels: NDArray[np.bool_], *stages: Any) -> dict[str, Any]:
    """Several stages on one read of a chunk; keys get a ``@i`` suffix (merge rules unchanged)."""
    out: dict[str, Any] = {}
    for i, (stage, params) in enumerate(stages):
        if stage is not None:
            out.update({f"{k}@{i}": v for k, v in stage(values, labels, *params).items()})
    return out


def _split(part: dict[str, Any], i: int) -> dict[str, Any]:
    tag = f"@{i}"
    return {k[: -len(tag)]: v for k, v in part.items() if k.endswith(tag)}


def stage_gaps_if(values: NDArray[Any], labels: NDArray[np.bool_], u: Any) -> dict[str, Any]:
    """:func:`cm.stage_gaps`, or nothing to count (``u`` is None)."""
    if u is None:
        return {}
    return cm.count_gaps([(values.reshape(-1), labels.reshape(-1))], u)


def _image_metrics(
    part: dict[str, Any], image_scores: Any, groups: Any, wanted: list[str], out: dict[str, float]
) -> None:
    labels = np.concatenate(part["cat_image_label"])
    n = labels.size
    if image_scores is None:
        scores = np.concatenate(part["cat_image_max"])
    else:
        scores = check_scores(image_scores, "image_scores").reshape(-1)
        if scores.shape != (n,):
            raise ValueError(
                f"`image_scores` must hold one score per image, shape ({n},), got shape "
                f"{np.shape(image_scores)}."
            )
    if groups is not None:
        names, inv = _group_index(groups, n)
        sample = _grouped(scores, labels, names, inv, "max")
        assert sample.labels is not None
        scores, labels = sample.scores, sample.labels
    if _IMAGE_COUNTS.intersection(wanted):
        _from_levels(_binary_levels(scores, labels), "image", wanted, out)
    if "pgn" in wanted:
        out["pgn"] = _prefixed("pgn", pgn, scores, labels)
    if "pbn" in wanted:
        out["pbn"] = _prefixed("pbn", pbn, scores, labels)


def _aupimo_pass1(part: dict[str, Any]) -> Any:
    """(Images, linspace setup) or the error message when AUPIMO is undefined for the data."""
    try:
        im = cp.Images(part)
        if im.normal.size == 0 or im.anomalous.size == 0:
            return im, None  # undefined: nan with the in-memory warning
        if not im.hi > im.lo:  # every normal pixel ties: no lower bound is reachable
            raise cp._unreachable_error(
                _AUPIMO["fpr_bounds"][0], im.n_normal_pixels, im.n_normal_pixels
            )
        return im, cp.linspace_setup(im, _AUPIMO["num_thresholds"])
    except (ValueError, RuntimeError) as err:
        return str(err)


def evaluate(
    runner: Any,
    wanted: list[str],
    limit: float,
    image_scores: Any,
    groups: Any,
) -> dict[str, float]:
    """``evaluate`` of the runner's chunks; options are checked by the caller."""
    out: dict[str, float] = {}
    images = bool(_IMAGE_COUNTS.intersection(wanted) or {"pgn", "pbn"}.intersection(wanted))
    pixels = bool(_PIXEL_COUNTS.intersection(wanted))
    aupro = "aupro" in wanted
    aupimo = "aupimo" in wanted
    first = runner.map_reduce(
        "read 1/2",
        stage_both,
        (cm.stage_positives, (aupro, True)),
        (cp.stage_images if aupimo else None, (False,)),
    )
    p1 = _split(first, 0)
    cm.check_image_size(p1)
    if images:
        _image_metrics(p1, image_scores, groups, wanted, out)
    elif groups is not None:
        _group_index(groups, int(sum(x.size for x in p1["cat_image_label"])))
    if image_scores is not None and not images:
        _image_metrics(p1, image_scores, None, [], {})  # still validate them
    pim = _aupimo_pass1(_split(first, 1)) if aupimo else None
    del first  # its lists are p1's or now concatenated in `pim`
    n_neg = int(p1["sum_neg"])
    levels: dict[str, Any] = {}
    if pixels:
        levels["u"], levels["n_p"], levels["w_p"], n_pos = distinct_levels(p1, aupro)
    counting = bool(pixels and levels["u"].shape[0] and n_neg)
    target: Any = None
    if counting:
        target = (
            GapCounts(levels["u"]) if getattr(runner, "counts_in_place", False) else levels["u"]
        )
    second: dict[str, Any] = {}
    counts_normal = isinstance(pim, tuple) and pim[1] is not None
    if counting or counts_normal:
        second = runner.map_reduce(
            "read 2/2",
            stage_both,
            (stage_gaps_if, (target,)),
            (
                cp.stage_linspace_counts if counts_normal else None,
                pim[1] if counts_normal else (),
            ),
        )
    if pixels:
        m = levels["u"].shape[0]
        if isinstance(target, GapCounts):
            levels["eq"], levels["gap"] = target.totals()
        elif counting:
            p2 = _split(second, 0)
            levels["eq"], levels["gap"] = p2["sum_eq"], p2["sum_gap"]
        elif m:
            levels["eq"], levels["gap"] = np.zeros(m, np.int64), np.zeros(m + 1, np.int64)
        else:
            levels["eq"], levels["gap"] = np.zeros(0, np.int64), np.array([n_neg], np.int64)
        del target
        lv = _Levels(
            levels["u"], levels["n_p"], levels.get("w_p"), levels["eq"], levels["gap"], n_pos, n_neg
        )
        del levels  # (the per-level counts: the metrics read them without cumulating)
        _from_levels(lv, "pixel", wanted, out)
        if aupro:
            n_regions = int(p1["sum_regions"])
            out["aupro"] = float(_prefixed("aupro", _aupro_from_levels, lv, n_regions, limit))
    if aupimo:
        out["aupimo"] = _aupimo_value(pim, _split(second, 1))
    return {m: out[m] for m in METRICS if m in out}


def _aupimo_value(pim: Any, part: dict[str, Any]) -> float:
    if isinstance(pim, str):
        warn_undefined(f"aupimo: {pim} (nan).")
        return float("nan")
    im, setup = pim
    lo, hi = _AUPIMO["fpr_bounds"]
    k = _AUPIMO["num_thresholds"]
    if setup is None:
        return float(_prefixed("aupimo", cp._aupimo_without_a_class, im.classes, lo, hi).mean)
    try:
        result = _prefixed("aupimo", cp.aupimo_linspace_finish, im, part, setup, lo, hi, k, False)
    except (ValueError, RuntimeError) as err:
        warn_undefined(f"aupimo: {err} (nan).")
        return float("nan")
    return float(result.mean)
