"""A real lightning.Trainer with our Evaluator logs the core functions' values.

A tiny model predicts an image score and an anomaly map for each image; the steps write them
into the batch (as anomalib's models do) and record them; the Evaluator updates its metrics from
the batches and logs them by name at the end of the validation and test epochs. The logged
numbers must equal the core functions on the recorded predictions.
"""

from __future__ import annotations

import sys
import warnings

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

import anomaly_metrics as am
import anomaly_metrics_torch as amt
from anomaly_metrics_torch import Evaluator


@pytest.fixture(autouse=True, scope="module")
def _float64_results():
    """Compare logged values with the core's float64 values: every result in float64 here."""
    with amt.result_dtype(torch.float64):
        yield


class _Images(Dataset):
    """Small images; a bright square is the defect (some images are normal)."""

    def __init__(self, n, seed):
        rng = np.random.default_rng(seed)
        self.images = rng.random((n, 3, 12, 12)).astype(np.float32)
        self.masks = np.zeros((n, 12, 12), np.int64)
        for i in range(n):
            if i % 3:  # two of three images are anomalous
                r, c = rng.integers(0, 8, 2)
                self.masks[i, r : r + 3, c : c + 4] = 1
        self.images += 0.6 * self.masks[:, None] * rng.random((n, 1, 12, 12)).astype(np.float32)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return {
            "image": torch.from_numpy(self.images[i]),
            "gt_mask": torch.from_numpy(self.masks[i]),
            "gt_label": torch.tensor(int(self.masks[i].any())),
        }


class _Model(pl.LightningModule):
    def __init__(self, evaluator):
        super().__init__()
        torch.manual_seed(0)
        self.head = nn.Conv2d(3, 1, 3, padding=1)
        self.evaluator = evaluator
        self.recorded = {"pred_score": [], "anomaly_map": [], "gt_label": [], "gt_mask": []}

    def configure_callbacks(self):
        return [self.evaluator]

    def _predict(self, batch):
        anomaly_map = self.head(batch["image"]).squeeze(1)
        batch["anomaly_map"] = anomaly_map
        batch["pred_score"] = anomaly_map.amax(dim=(1, 2))
        for key in self.recorded:
            self.recorded[key].append(batch[key].detach().cpu().numpy())

    def validation_step(self, batch, batch_idx):
        self._predict(batch)

    def test_step(self, batch, batch_idx):
        self._predict(batch)

    def arrays(self):
        out = {k: np.concatenate(v) for k, v in self.recorded.items()}
        for v in self.recorded.values():
            v.clear()
        return out


def _trainer(**kwargs):
    return pl.Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


def _loader(seed):
    return DataLoader(_Images(14, seed), batch_size=4)  # batches of 4, 4, 4, 2


def _evaluator():
    return Evaluator(
        val_metrics=[
            amt.AUROC(fields=["pred_score", "gt_label"], prefix="image_"),
            amt.F1Max(fields=["pred_score", "gt_label"], prefix="image_"),
            amt.AUPR(fields=["anomaly_map", "gt_mask"], prefix="pixel_", strict=False),
        ],
        test_metrics=[
            amt.AUROC(fields=["pred_score", "gt_label"], prefix="image_"),
            amt.PGn(fnr=0.2, prefix="image_"),
            amt.F1Score(fields=["pred_score", "gt_label"], prefix="image_", threshold=0.2),
            amt.AUROC(fields=["anomaly_map", "gt_mask"], prefix="pixel_", strict=False),
            amt.AUPRO(fields=["anomaly_map", "gt_mask"], prefix="pixel_", fpr_limit=0.3),
            amt.PRO(fields=["anomaly_map", "gt_mask"], prefix="pixel_", threshold=0.0),
            # no batch has pred_mask: skipped and not logged
            amt.F1Score(fields=["pred_mask", "gt_mask"], prefix="pixel_", strict=False),
        ],
    )


def _expected_val(a):
    return {
        "image_AUROC": am.auroc(a["pred_score"], a["gt_label"]),
        "image_F1Max": am.f1_max(a["pred_score"], a["gt_label"]),
        "pixel_AUPR": am.aupr(a["anomaly_map"], a["gt_mask"]),
    }


def _expected_test(a):
    return {
        "image_AUROC": am.auroc(a["pred_score"], a["gt_label"]),
        "image_PG20": am.pgn(a["pred_score"], a["gt_label"], fnr=0.2),
        "image_F1Score": am.f1_score(a["pred_score"], a["gt_label"], threshold=0.2),
        "pixel_AUROC": am.auroc(a["anomaly_map"], a["gt_mask"]),
        "pixel_AUPRO": am.aupro(a["anomaly_map"], a["gt_mask"], fpr_limit=0.3),
        "pixel_PRO": am.pro(a["anomaly_map"], a["gt_mask"], threshold=0.0),
    }


def _check(logged, expected):
    assert set(logged) == set(expected)
    for name, value in expected.items():
        assert float(logged[name]) == pytest.approx(value, rel=1e-12, abs=0), name


@pytest.fixture(autouse=True)
def _quiet_lightning():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*GPU available but not used.*")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")
        yield


def test_trainer_validate_and_test_log_the_core_values():
    model = _Model(_evaluator())
    trainer = _trainer()

    (val_logged,) = trainer.validate(model, dataloaders=_loader(1))
    _check(val_logged, _expected_val(model.arrays()))

    (test_logged,) = trainer.test(model, dataloaders=_loader(2))
    _check(test_logged, _expected_test(model.arrays()))
    assert "pixel_F1Score" not in trainer.callback_metrics

    # Lightning computed and reset the metrics at the end of the epoch; a second test run
    # evaluates the new data only
    (again,) = trainer.test(model, dataloaders=_loader(3))
    _check(again, _expected_test(model.arrays()))
    for metric in model.evaluator.test_metrics:
        assert metric.compute_on_cpu  # single device: list states are moved to the CPU


def test_barebones_trainer_records_values_without_logging():
    model = _Model(_evaluator())
    trainer = _trainer(barebones=True)
    trainer.test(model, dataloaders=_loader(4))
    expected = _expected_test(model.arrays())
    assert set(expected) <= set(trainer.callback_metrics)
    for name, value in expected.items():
        assert float(trainer.callback_metrics[name]) == pytest.approx(value, rel=1e-12, abs=0)
        assert float(trainer.logged_metrics[name]) == pytest.approx(value, rel=1e-12, abs=0)
    assert all(not m.update_called for m in model.evaluator.test_metrics)  # reset after logging


def test_evaluator_accepts_one_metric_or_none_and_rejects_others():
    single = amt.AUROC(fields=["pred_score", "gt_label"])
    evaluator = Evaluator(val_metrics=single)
    assert list(evaluator.val_metrics) == [single] and len(evaluator.test_metrics) == 0
    with pytest.raises(TypeError, match="must be an AnomalibMetric or a list of AnomalibMetrics"):
        Evaluator(test_metrics=5)
    with pytest.raises(TypeError, match="must be a Metric or a list of metrics"):
        evaluator.metrics_to_cpu("AUROC")
    assert isinstance(evaluator, nn.Module) and isinstance(evaluator, pl.Callback)


def test_evaluator_without_lightning_raises_an_install_hint(monkeypatch):
    import importlib

    for name in [m for m in sys.modules if m == "lightning" or m.startswith("lightning.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "lightning", None)
    monkeypatch.delitem(sys.modules, "anomaly_metrics_torch.evaluator")
    with pytest.raises(ImportError, match=r"pip install 'anomaly-metrics\[lightning\]'"):
        importlib.import_module("anomaly_metrics_torch.evaluator")
