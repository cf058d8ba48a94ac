"""anomalib's figure methods on the torch classes: generate_figure (AUROC, AUPR, AUPRO), plot."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

import anomaly_metrics as am
from anomaly_metrics_torch import AUPR, AUPRO, AUROC, AnomalyScoreDistribution

SCORES = torch.tensor([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
LABELS = torch.tensor([0, 0, 1, 1, 0, 1])


def _png_bytes(fig) -> int:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return len(buf.getvalue())


def _legend(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


@pytest.mark.parametrize(
    ("cls", "kind", "core", "xlabel"),
    [(AUROC, "ROC", am.auroc, "False Positive Rate"), (AUPR, "PR", am.aupr, "Recall")],
)
def test_generate_figure_of_score_metrics(cls, kind, core, xlabel):
    metric = cls(fields=["pred_score", "gt_label"])
    metric.update({"pred_score": SCORES[:3], "gt_label": LABELS[:3]})
    metric.update({"pred_score": SCORES[3:], "gt_label": LABELS[3:]})
    fig, title = metric.generate_figure()
    assert title == kind
    ax = fig.axes[0]
    assert ax.get_xlabel() == xlabel
    value = core(SCORES.numpy(), LABELS.numpy())
    assert any(f"{value:.2f}" in text for text in _legend(fig))
    assert _png_bytes(fig) > 1000


def test_generate_figure_of_aupro():
    rng = np.random.default_rng(0)
    masks = np.zeros((4, 16, 16), bool)
    masks[1, 2:6, 3:8] = True
    masks[2, 10:14, 10:12] = True
    maps = rng.random((4, 16, 16)).astype(np.float32) + masks
    metric = AUPRO(fields=["anomaly_map", "gt_mask"], fpr_limit=0.3)
    metric.update({"anomaly_map": torch.from_numpy(maps), "gt_mask": torch.from_numpy(masks)})
    fig, title = metric.generate_figure()
    assert title == "PRO"
    ax = fig.axes[0]
    assert ax.get_xlim()[1] == pytest.approx(0.3)
    value = am.aupro(maps, masks)
    assert any(f"{value:.2f}" in text for text in _legend(fig))


def test_generate_figure_needs_data_and_exact_mode():
    with pytest.raises(ValueError, match="no data to draw"):
        AUROC(fields=["pred_score", "gt_label"]).generate_figure()
    binned = AUROC(fields=["pred_score", "gt_label"], bins=12)
    binned.update({"pred_score": SCORES, "gt_label": LABELS})
    with pytest.raises(ValueError, match="without `bins`"):
        binned.generate_figure()


def test_score_distribution_plot():
    dist = AnomalyScoreDistribution()
    with pytest.raises(ValueError, match="No anomaly scores available"):
        dist.plot()
    dist.update(anomaly_scores=SCORES + 0.5)
    with pytest.raises(ValueError, match="No labels available"):
        dist.plot()
    dist.update(labels=LABELS)
    fig, title = dist.plot(bins=4, title="Scores", good_color="green", bad_color="red")
    assert title == "Scores" and fig.axes[0].get_title() == "Scores"
    assert _legend(fig) == ["Good", "Bad"]
    colors = {tuple(np.round(p.get_facecolor()[:3], 3)) for p in fig.axes[0].patches}
    assert (0.0, 0.502, 0.0) in colors and (1.0, 0.0, 0.0) in colors
