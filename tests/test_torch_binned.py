"""The adapter's opt-in streaming mode (``bins=``): values, bounds, state size, gloo sync.

Binned classes must return exactly the core's ``*_from_histogram`` value for the same data, stay
within the reported ``error_bound`` of the exact classes, keep a state whose size does not grow
with the number of updates, and give on every rank of a 2-process gloo run the same result as
one process that saw all the data.
"""

from __future__ import annotations

import os
import socket
import warnings

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import anomaly_metrics as am
import anomaly_metrics_torch as amt

SCORES = ("pred_score", "gt_label")
MAPS = ("anomaly_map", "gt_mask")
BITS = 16


@pytest.fixture(autouse=True, scope="module")
def _float64_results():
    """Compare with the core's float64 values bit for bit: every result in float64 here."""
    with amt.result_dtype(torch.float64):
        yield


def _batches(seed, sizes):
    """Batches with both classes: scores/labels, and 8x8 maps whose regions have 1, 4 or 8 px.

    Region sizes and the image size are powers of two, so every float64 weight of the AU-PRO and
    AUPIMO histograms is a dyadic number and their sums are exact in any order.
    """
    rng = np.random.default_rng(seed)
    out = []
    for size in sizes:
        scores = (rng.integers(0, 512, size) / 512).astype(np.float32)
        labels = rng.random(size) < 0.4
        labels[0], labels[-1] = True, False
        n = max(size // 2, 2)
        maps = rng.random((n, 8, 8)).astype(np.float32)
        masks = np.zeros((n, 8, 8), bool)
        masks[1, 1:3, 2:4] = True  # 4 px; image 0 stays normal
        masks[1, 6, 6] = True  # 1 px
        if n > 2:
            masks[2:, 4:6, 0:4] = True  # 8 px
        maps[masks] += 0.5
        out.append(
            {
                "pred_score": torch.from_numpy(scores),
                "gt_label": torch.from_numpy(labels),
                "anomaly_map": torch.from_numpy(maps),
                "gt_mask": torch.from_numpy(masks),
            }
        )
    return out


def _registry(bins):
    return {
        "AUROC": lambda: amt.AUROC(fields=SCORES, bins=bins),
        "AUPR": lambda: amt.AUPR(fields=SCORES, bins=bins),
        "F1Max": lambda: amt.F1Max(fields=SCORES, bins=bins),
        "F1AdaptiveThreshold": lambda: amt.F1AdaptiveThreshold(fields=SCORES, bins=bins),
        "pixel_AUROC": lambda: amt.AUROC(fields=MAPS, bins=bins),
        "AUPRO": lambda: amt.AUPRO(fields=MAPS, fpr_limit=0.3, bins=bins),
        "AUPIMO": lambda: amt.AUPIMO(fpr_bounds=(0.05, 0.5), num_thresholds=None, bins=bins),
    }


def _results(batches, bins=BITS):
    """{name: (value, error_bound or None, threshold or None)} as floats."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, make in _registry(bins).items():
            metric = make()
            for b in batches:
                metric.update(b)
            value = float(metric.compute())
            bound = getattr(metric, "error_bound", None)
            threshold = getattr(metric, "threshold", None)
            out[name] = (
                value,
                None if bound is None else float(bound),
                None if threshold is None else float(threshold),
            )
    return out


def _arrays(batches, scores, labels):
    return (
        np.concatenate([b[scores].numpy().reshape(len(b[scores]), -1) for b in batches]).reshape(
            -1, *batches[0][scores].shape[1:]
        ),
        np.concatenate([b[labels].numpy() for b in batches]),
    )


def test_binned_classes_equal_the_core_and_stay_within_bound():
    batches = _batches(0, (7, 12, 5))
    s = np.concatenate([b["pred_score"].numpy() for b in batches])
    y = np.concatenate([b["gt_label"].numpy() for b in batches])
    maps = np.concatenate([b["anomaly_map"].numpy() for b in batches])
    masks = np.concatenate([b["gt_mask"].numpy() for b in batches])
    got = _results(batches)
    exact = _results(batches, bins=None)
    h = am.ranking_histogram(s, y, bits=BITS)
    hp = am.ranking_histogram(maps, masks, bits=BITS)
    t = am.f1_adaptive_threshold_from_histogram(h)
    aupimo = am.aupimo_from_histogram(
        am.pimo_histogram(maps, masks, bits=BITS), fpr_bounds=(0.05, 0.5)
    )
    core = {
        "AUROC": tuple(am.auroc_from_histogram(h)),
        "AUPR": tuple(am.aupr_from_histogram(h)),
        "F1Max": tuple(am.f1_max_from_histogram(h)),
        "F1AdaptiveThreshold": (t.threshold, t.f1_error_bound),
        "pixel_AUROC": tuple(am.auroc_from_histogram(hp)),
        "AUPRO": tuple(am.aupro_from_histogram(am.pro_histogram(maps, masks, bits=BITS))),
        "AUPIMO": (aupimo.mean, aupimo.error_bound),
    }
    for name, (value, bound) in core.items():
        assert got[name][:2] == (value, bound), name
    assert got["F1Max"][2] == t.threshold
    for name in ("AUROC", "AUPR", "F1Max", "pixel_AUROC", "AUPRO", "AUPIMO"):
        assert abs(got[name][0] - exact[name][0]) <= got[name][1], name
    assert got["F1Max"][0] <= exact["F1Max"][0] <= got["F1Max"][0] + got["F1Max"][1]


def test_state_size_does_not_grow_and_reset_clears():
    def state_bytes(metric):
        return sum(
            v.numel() * v.element_size()
            for k in metric._defaults
            for v in ([getattr(metric, k)] if isinstance(getattr(metric, k), torch.Tensor) else [])
        )

    for make in (
        lambda: amt.AUROC(fields=MAPS, bins=12),
        lambda: amt.AUPRO(fields=MAPS, bins=12),
    ):
        sizes = []
        for n_updates in (10, 1000):
            metric = make()
            batch = _batches(1, (4,))[0]
            for _ in range(n_updates):
                metric.update(batch)
            sizes.append(state_bytes(metric))
        assert sizes[0] == sizes[1]
        metric.reset()
        assert all(int(getattr(metric, k).abs().sum()) == 0 for k in metric._defaults)


def test_aupimo_fed_normal_images_first_one_at_a_time():
    """Most MVTec AD loaders yield ``test/good`` first: a batch of normal images only must update.

    256 x 256 images: every normal weight is a dyadic fraction, so one image per update and one
    update of everything give the same state bit for bit; 3 normal images reach the default
    lower FPR bound 1e-5 of the exact AUPIMO.
    """
    rng = np.random.default_rng(7)
    maps = rng.random((6, 256, 256)).astype(np.float32)
    masks = np.zeros(maps.shape, bool)
    masks[3, 10:40, 20:90] = True
    masks[4, 100:103, 5:7] = True
    masks[5, 200:256, 0:256] = True
    maps[masks] += 0.3
    order = [0, 1, 3, 2, 4, 5]  # normal, normal, anomalous, normal, anomalous, anomalous
    one = amt.AUPIMO(fields=["anomaly_map", "gt_mask"], bins=20)
    for i in order:
        one.update(
            {
                "anomaly_map": torch.from_numpy(maps[i : i + 1]),
                "gt_mask": torch.from_numpy(masks[i : i + 1]),
            }
        )
    value = one.compute()
    whole = amt.AUPIMO(fields=["anomaly_map", "gt_mask"], bins=20)
    whole.update(
        {"anomaly_map": torch.from_numpy(maps[order]), "gt_mask": torch.from_numpy(masks[order])}
    )
    assert torch.equal(value, whole.compute())
    assert torch.equal(one.error_bound, whole.error_bound)
    exact = am.aupimo(maps[order], masks[order], num_thresholds=None).mean
    assert abs(float(value) - exact) <= float(one.error_bound)


BAD = [
    (lambda: amt.AUROC(fields=SCORES, bins=0), ValueError, "`bins` must be None (exact) or an int"),
    (lambda: amt.AUROC(fields=SCORES, bins=25), ValueError, "got 25"),
    (lambda: amt.AUPR(fields=SCORES, bins=2.5), TypeError, "`bins` must be None"),
    (lambda: amt.F1Score(fields=SCORES, bins=20), ValueError, "no binned mode"),
    (lambda: amt.PGn(bins=20), ValueError, "no binned mode"),
    (lambda: amt.BinaryPrecisionRecallCurve(bins=20), ValueError, "no binned mode"),
    (lambda: amt.PRO(fields=MAPS, bins=20), ValueError, "no binned mode"),
    (lambda: amt.PIMO(num_thresholds=10, bins=20), ValueError, "no binned mode"),
    (lambda: amt.AUPIMO(bins=20, return_average=False), ValueError, "`return_average` must be"),
]


@pytest.mark.parametrize(("make", "exc", "msg"), BAD)
def test_bad_bins(make, exc, msg):
    with pytest.raises(exc) as info:
        make()
    assert msg in str(info.value)


# --------------------------------------------------------------------------------------------
# two gloo processes


WORLD = 2


def _rank_batches(rank):
    return _batches(200 + rank, (7, 2) if rank == 0 else (4, 9, 1))


def _worker(rank, port, out_dir):
    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        torch.save(_results(_rank_batches(rank)), os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_processes_equal_one_process(tmp_path):
    """Summed histograms: every rank returns exactly the one-process value (and bound)."""
    mp.start_processes(
        _worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD, join=True, start_method="fork"
    )
    single = _results(_rank_batches(0) + _rank_batches(1))  # rank 0's data first, as gathered
    alone = _results(_rank_batches(0))
    assert alone["AUROC"] != single["AUROC"] and alone["AUPRO"] != single["AUPRO"]
    for rank in range(WORLD):
        synced = torch.load(tmp_path / f"rank{rank}.pt", weights_only=False)
        assert synced == single, rank
