"""``Trainer.test`` with ``strategy="ddp"`` on 2 CPU processes (gloo) and uneven shares.

The 13 test images do not divide by the world size: without Lightning's distributed sampler,
rank 0 gets 9 images (batches of 4, 4, 1) and rank 1 gets 4 (one batch). The processes are
forked here and Lightning joins them into its process group (``LOCAL_RANK`` and
``WORLD_SIZE`` tell it the processes already exist). Every rank must log, for every image and
pixel metric of our Evaluator, the core function's value on all predictions in rank order.
A non-strict metric whose field only rank 0's batches carry is logged by both ranks (the
Evaluator agrees across ranks on whether to log it), one that no batch feeds by none.
"""

from __future__ import annotations

import os
import pickle
import warnings

import lightning.pytorch as pl
import numpy as np
import torch
from _torch_scenarios import free_port, run_processes
from test_torch_lightning import _Images, _Model
from torch.utils.data import DataLoader, Subset

import anomaly_metrics as am
import anomaly_metrics_torch as amt
from anomaly_metrics_torch import Evaluator

WORLD = 2
SHARES = (range(0, 9), range(9, 13))
IMAGE = ["pred_score", "gt_label"]
PIXEL = ["anomaly_map", "gt_mask"]


def _evaluator():
    return Evaluator(
        test_metrics=[
            amt.AUROC(fields=IMAGE, prefix="image_"),
            amt.F1Max(fields=IMAGE, prefix="image_"),
            amt.F1AdaptiveThreshold(fields=IMAGE, prefix="image_"),
            amt.PGn(fnr=0.2, prefix="image_"),
            amt.AUROC(fields=PIXEL, prefix="pixel_", strict=False),
            amt.AUPR(fields=PIXEL, prefix="pixel_"),
            amt.AUPRO(fields=PIXEL, prefix="pixel_", fpr_limit=0.3),
            amt.PRO(fields=PIXEL, prefix="pixel_", threshold=0.0),
            amt.AUROC(fields=PIXEL, prefix="streaming_pixel_", bins=16),
            # only rank 0's batches have pred_mask: logged by both ranks, from rank 0's data
            amt.F1Score(fields=["pred_mask", "gt_mask"], prefix="pixel_", strict=False),
            # no batch has pred_label on any rank: not logged anywhere
            amt.F1Score(fields=["pred_label", "gt_label"], prefix="image_", strict=False),
        ]
    )


class _Model0(_Model):
    """Writes a ``pred_mask`` into the batches of rank 0 only."""

    def test_step(self, batch, batch_idx):
        super().test_step(batch, batch_idx)
        if self.global_rank == 0:
            batch["pred_mask"] = batch["anomaly_map"] >= 0.0


def _expected(a, rank0):
    pred_mask = rank0["anomaly_map"] >= 0.0
    return {
        "image_AUROC": am.auroc(a["pred_score"], a["gt_label"]),
        "image_F1Max": am.f1_max(a["pred_score"], a["gt_label"]),
        "image_F1AdaptiveThreshold": am.f1_adaptive_threshold(a["pred_score"], a["gt_label"]),
        "image_PG20": am.pgn(a["pred_score"], a["gt_label"], fnr=0.2),
        "pixel_AUROC": am.auroc(a["anomaly_map"], a["gt_mask"]),
        "pixel_AUPR": am.aupr(a["anomaly_map"], a["gt_mask"]),
        "pixel_AUPRO": am.aupro(a["anomaly_map"], a["gt_mask"], fpr_limit=0.3),
        "pixel_PRO": am.pro(a["anomaly_map"], a["gt_mask"], threshold=0.0),
        "pixel_F1Score": am.f1_score(pred_mask, rank0["gt_mask"], threshold=0.5),
    }


def _worker(rank, port, out_dir):
    torch.set_num_threads(1)
    amt.set_result_dtype(torch.float64)  # compared with the core's float64 values bit for bit
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        WORLD_SIZE=str(WORLD),
        NODE_RANK="0",
        LOCAL_RANK=str(rank),
        RANK=str(rank),
    )
    warnings.filterwarnings("ignore")
    model = _Model0(_evaluator())
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=WORLD,
        strategy="ddp",
        use_distributed_sampler=False,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    loader = DataLoader(Subset(_Images(13, 5), SHARES[rank]), batch_size=4)
    (logged,) = trainer.test(model, dataloaders=loader)
    callback = {k: float(v) for k, v in trainer.callback_metrics.items()}
    with open(os.path.join(out_dir, f"rank{rank}.pkl"), "wb") as f:
        pickle.dump((logged, callback, model.arrays()), f)
    torch.distributed.destroy_process_group()


def test_ddp_trainer_with_uneven_shares_logs_the_single_process_values(tmp_path):
    run_processes(_worker, (free_port(), str(tmp_path)), WORLD, timeout=150)
    ranks = []
    for rank in range(WORLD):
        with open(tmp_path / f"rank{rank}.pkl", "rb") as f:
            ranks.append(pickle.load(f))
    assert [len(r[2]["pred_score"]) for r in ranks] == [9, 4]
    everything = {k: np.concatenate([r[2][k] for r in ranks]) for k in ranks[0][2]}
    expected = _expected(everything, ranks[0][2])
    alone = am.auroc(ranks[0][2]["pred_score"], ranks[0][2]["gt_label"])
    assert alone != expected["image_AUROC"]  # rank 1's images change the value
    streaming = [r[0].pop("streaming_pixel_AUROC") for r in ranks]
    assert streaming[0] == streaming[1]  # the ranks agree
    assert abs(streaming[0] - expected["pixel_AUROC"]) < 1e-3
    for rank, (logged, callback, _) in enumerate(ranks):
        assert set(logged) == set(expected), rank
        for name, value in expected.items():
            assert logged[name] == value, (rank, name, logged[name], value)
            assert callback[name] == value, (rank, name)
