"""Distributed sync: 2 processes (gloo, CPU), each updating different batches of every metric.

One start of 2 processes runs every class; on each rank, ``compute()`` must equal the
single-process result on all the data (the states are gathered by torchmetrics, rank 0's data
first). Uneven batch sizes per rank exercise torchmetrics' padded gather. The processes are
forked (a spawn re-imports torch in each child, which costs tens of seconds on a loaded
machine); they run torch single-threaded, and the core uses no OpenMP.

Every process receives data here; ranks without data, mixed dtypes and other splits are
``test_torch_sync.py``'s.
"""

from __future__ import annotations

import os
import socket
import warnings

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import anomaly_metrics_torch as amt

WORLD = 2
SCORES = ("pred_score", "gt_label")
MAPS = ("anomaly_map", "gt_mask")


def _registry():
    """name -> (factory, update style)."""
    return {
        "AUROC": (lambda: amt.AUROC(fields=SCORES), "scores"),
        "AUPR": (lambda: amt.AUPR(fields=SCORES), "scores"),
        "F1Score": (lambda: amt.F1Score(fields=SCORES, threshold=0.5), "scores"),
        "F1Max": (lambda: amt.F1Max(fields=SCORES), "scores"),
        "F1AdaptiveThreshold": (lambda: amt.F1AdaptiveThreshold(fields=SCORES), "scores"),
        "PGn": (lambda: amt.PGn(fnr=0.1), "scores"),
        "PBn": (lambda: amt.PBn(fpr=0.1), "scores"),
        "MinMax": (lambda: amt.MinMax(fields=["pred_score"]), "scores"),
        "ManualThreshold": (lambda: amt.ManualThreshold(default_value=0.25), "positional"),
        "BinaryPrecisionRecallCurve": (amt.BinaryPrecisionRecallCurve, "positional"),
        "AnomalyScoreDistribution": (amt.AnomalyScoreDistribution, "keyword"),
        "pixel_AUROC": (lambda: amt.AUROC(fields=MAPS), "maps"),
        "pixel_MinMax": (lambda: amt.MinMax(fields=["anomaly_map"]), "maps"),
        "AUPRO": (lambda: amt.AUPRO(fields=MAPS, fpr_limit=0.3), "maps"),
        "PRO": (lambda: amt.PRO(fields=MAPS, threshold=0.5), "maps"),
        "PIMO": (lambda: amt.PIMO(num_thresholds=50), "maps"),
        "AUPIMO": (
            lambda: amt.AUPIMO(num_thresholds=2000, fpr_bounds=(0.05, 0.5), force=True),
            "maps",
        ),
        "AUPIMO_full": (
            lambda: amt.AUPIMO(
                num_thresholds=2000, fpr_bounds=(0.05, 0.5), force=True, return_average=False
            ),
            "maps",
        ),
        # non-strict, and no process sees the field: None everywhere
        "lenient_AUROC": (
            lambda: amt.AUROC(fields=["pred_mask", "gt_mask"], strict=False),
            "scores",
        ),
    }


def _batches(rank):
    """This rank's batches: uneven sizes, both classes on each rank."""
    rng = np.random.default_rng(100 + rank)
    out = []
    for size in (7, 2) if rank == 0 else (4, 9, 1):
        scores = (rng.integers(0, 32, size) / 32).astype(np.float32)
        labels = rng.random(size) < 0.4
        labels[0] = True
        labels[-1] = False if size > 1 else labels[-1]
        n = max(size // 2, 2)
        maps = (rng.integers(0, 64, (n, 6, 8)) / 64).astype(np.float32)
        masks = np.zeros((n, 6, 8), bool)
        masks[1, 1:3, 2:5] = True  # image 0 normal, image 1 anomalous
        if n > 2:
            masks[2:, 4, 1:3] = True
        maps[masks] += 0.3
        out.append(
            {
                "pred_score": torch.from_numpy(scores),
                "gt_label": torch.from_numpy(labels),
                "anomaly_map": torch.from_numpy(maps),
                "gt_mask": torch.from_numpy(masks),
            }
        )
    return out


def _feed(metric, style, batches):
    for b in batches:
        if style == "positional":
            metric.update(b["pred_score"], b["gt_label"])
        elif style == "keyword":
            metric.update(anomaly_scores=b["pred_score"] + 0.5, anomaly_maps=b["anomaly_map"] + 0.5)
        else:
            metric.update(b)


def _plain(value):
    """Results as nested lists of floats (picklable, comparable)."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy().tolist()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _results(rank_batches, ranks):
    """{name: (value, extra attributes)} after feeding the given ranks' batches."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (make, style) in _registry().items():
            metric = make()
            for rank in ranks:
                _feed(metric, style, rank_batches[rank])
            value = metric.compute()
            extra = {
                attr: _plain(getattr(metric, attr))
                for attr in ("threshold", "value")
                if isinstance(getattr(metric, attr, None), torch.Tensor)
            }
            out[name] = (_plain(value), extra)
    return out


def _worker(rank, port, out_dir):
    torch.set_num_threads(1)  # forked: no OpenMP pool inherited from the parent
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        results = _results({rank: _batches(rank)}, [rank])
        torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _equal(a, b, where):
    """Exact equality of nested lists of numbers (nan equal to nan) or None."""
    if a is None or b is None:
        assert a is b, where
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for x, y in zip(a, b):
            _equal(x, y, where)
    else:
        assert a == b or (a != a and b != b), f"{where}: {a!r} != {b!r}"


def test_two_gloo_processes_equal_one_process(tmp_path):
    mp.start_processes(
        _worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD, join=True, start_method="fork"
    )
    everything = {r: _batches(r) for r in range(WORLD)}
    single = _results(everything, list(range(WORLD)))  # rank 0's data first, as gathered
    alone = _results(everything, [0])
    assert alone["AUROC"] != single["AUROC"] and alone["AUPRO"] != single["AUPRO"]  # data differ
    for rank in range(WORLD):
        synced = torch.load(tmp_path / f"rank{rank}.pt", weights_only=False)
        assert synced.keys() == single.keys()
        for name in single:
            (value, extra), (expected, expected_extra) = synced[name], single[name]
            _equal(value, expected, f"rank {rank}: {name}")
            assert extra.keys() == expected_extra.keys()
            for attr in extra:
                _equal(extra[attr], expected_extra[attr], f"rank {rank}: {name}.{attr}")
