"""anomaly_metrics.plotting: figures with the expected axes, curves and areas, written as PNG."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

import anomaly_metrics as am
from anomaly_metrics.plotting import plot_pimo, plot_pr, plot_pro, plot_roc, plot_score_histogram


def _batch(seed=0, n=6, size=48):
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, size, size), bool)
    for i in range(n // 2, n):
        y, x = rng.integers(0, size - 12, 2)
        masks[i, y : y + rng.integers(3, 12), x : x + rng.integers(3, 12)] = True
    maps = rng.normal(size=masks.shape) + 2.0 * masks
    return maps, masks


def _png(fig: Figure) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.tell() > 1000
    buf.seek(0)
    with Image.open(buf) as img:
        assert img.format == "PNG"
        return np.asarray(img.convert("L"))


def _axes_text(fig: Figure) -> tuple[str, str, str, list[str]]:
    (ax,) = fig.axes
    legend = ax.get_legend()
    texts = [t.get_text() for t in legend.get_texts()] if legend else []
    return ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), texts


def _curve(fig: Figure, color: str = "darkorange"):
    (ax,) = fig.axes
    (line,) = [ln for ln in ax.get_lines() if ln.get_color() == color]
    return np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)


def test_roc_figure():
    rng = np.random.default_rng(1)
    scores = np.round(rng.normal(size=300), 1)  # ties
    labels = rng.random(300) < 0.3
    scores[labels] += 1.0
    fig = plot_roc(scores, labels)
    assert isinstance(fig, Figure)
    area = am.auroc(scores, labels)
    assert _axes_text(fig) == (
        "ROC",
        "False Positive Rate",
        "True Positive Rate",
        [f"AUROC: {area:0.2f}"],
    )
    x, y = _curve(fig)
    assert (x[0], y[0], x[-1], y[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(x) >= 0) and np.all(np.diff(y) >= 0)
    assert np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2) == pytest.approx(area, abs=1e-12)
    pixels = _png(fig)
    assert pixels.min() < 100 < pixels.max()


def test_pr_figure_steps_integrate_to_average_precision():
    rng = np.random.default_rng(2)
    scores = np.round(rng.normal(size=400), 1)
    labels = rng.random(400) < 0.2
    scores[labels] += 1.0
    fig = plot_pr(scores, labels, title="image PR")
    area = am.aupr(scores, labels)
    assert _axes_text(fig) == ("image PR", "Recall", "Precision", [f"AUPR: {area:0.2f}"])
    recall, precision = _curve(fig)
    assert np.sum(np.diff(recall) * precision[1:]) == pytest.approx(area, abs=1e-12)
    (ax,) = fig.axes
    baseline = [ln for ln in ax.get_lines() if ln.get_color() == "navy"]
    assert baseline and baseline[0].get_ydata()[0] == pytest.approx(labels.mean())
    _png(fig)


def test_pro_figure():
    maps, masks = _batch(n=4, size=20)  # fewer vertices than the thinning limit
    fig = plot_pro(maps, masks, fpr_limit=0.2)
    area = am.aupro(maps, masks, fpr_limit=0.2)
    assert _axes_text(fig) == (
        "PRO",
        "Global FPR",
        "Averaged Per-Region TPR",
        [f"AUPRO: {area:0.2f}"],
    )
    (ax,) = fig.axes
    assert ax.get_xlim() == pytest.approx((0.0, 0.2))
    x, y = _curve(fig)
    assert x[-1] == pytest.approx(0.2)
    assert np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2) / 0.2 == pytest.approx(area, abs=1e-12)
    _png(fig)


def test_pimo_figure():
    maps, masks = _batch(3, n=8, size=64)
    names = [f"img{i}" for i in range(8)]
    fig = plot_pimo(
        maps, masks, fpr_bounds=(1e-3, 1e-2), num_thresholds=None, highlight=2, image_names=names
    )
    title, xlabel, ylabel, legend = _axes_text(fig)
    assert (title, xlabel, ylabel) == ("PIMO", "Shared FPR", "Per-Image Overlap (TPR)")
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    result = am.aupimo(maps, masks, fpr_bounds=(1e-3, 1e-2), num_thresholds=None)
    anomalous = np.flatnonzero(result.image_classes == 1)
    best = anomalous[np.argmax(result.per_image[anomalous])]
    assert legend[0] == "AUPIMO range"
    assert f"img{best}: AUPIMO {result.per_image[best]:0.2f}" in legend
    assert len(legend) == 3  # the range and two highlighted images
    grey = [ln for ln in ax.get_lines() if ln.get_color() == "0.75"]
    assert len(grey) == anomalous.size
    spans = [p for p in ax.patches]
    assert spans  # the shaded integration range
    _png(fig)


def test_pimo_needs_one_name_per_image():
    maps, masks = _batch(3, n=8, size=64)
    with pytest.raises(ValueError, match="one name per image"):
        plot_pimo(maps, masks, fpr_bounds=(1e-3, 1e-2), num_thresholds=None, image_names=["a"])


def test_score_histogram_figure():
    scores = np.array([0.1, 0.2, 0.2, 0.3, 0.7, 0.8, 0.9])
    labels = np.array([0, 0, 0, 0, 1, 1, 1])
    fig = plot_score_histogram(scores, labels, bins=5)
    assert _axes_text(fig) == ("Score Histogram", "Score", "Relative Count", ["Good", "Bad"])
    (ax,) = fig.axes
    assert len(ax.patches) == 10  # 5 bins per class
    _png(fig)


def test_score_histogram_one_class_warns():
    with pytest.warns(am.UndefinedMetricWarning, match="'Bad' is not drawn"):
        fig = plot_score_histogram([0.1, 0.2], [0, 0])
    assert _axes_text(fig)[3] == ["Good"]


def test_roc_one_class_warns_and_draws_axes_only():
    with pytest.warns(am.UndefinedMetricWarning):
        fig = plot_roc([0.1, 0.2, 0.3], [1, 1, 1])
    assert _axes_text(fig)[:3] == ("ROC", "False Positive Rate", "True Positive Rate")
    _png(fig)


def test_draw_into_given_axes():
    fig = Figure()
    axes = fig.subplots(1, 2)
    out = plot_roc([0.1, 0.9, 0.4], [0, 1, 0], ax=axes[0])
    out2 = plot_score_histogram([0.1, 0.9, 0.4], [0, 1, 0], ax=axes[1])
    assert out is fig and out2 is fig
    assert axes[0].get_title() == "ROC" and axes[1].get_title() == "Score Histogram"


def test_long_curves_are_thinned():
    rng = np.random.default_rng(4)
    scores = rng.normal(size=200_000)
    labels = rng.random(200_000) < 0.5
    x, _ = _curve(plot_roc(scores, labels))
    assert 1000 <= x.size <= 2000 and x[0] == 0.0 and x[-1] == 1.0


@pytest.mark.parametrize(
    ("call", "exc", "fragment"),
    [
        (lambda: plot_roc([0.1, np.nan], [0, 1]), ValueError, "`scores` must be finite"),
        (lambda: plot_pr([0.1, 0.2], [0, 2]), ValueError, "`labels` must be bool"),
        (
            lambda: plot_pro(np.zeros((2, 2)), np.zeros((2, 2)), fpr_limit=0),
            ValueError,
            "fpr_limit",
        ),
        (lambda: plot_score_histogram([0.1], [1], bins=0), ValueError, "`bins` must be"),
    ],
)
def test_bad_input(call, exc, fragment):
    with pytest.raises(exc) as info:
        call()
    assert fragment in str(info.value)


def test_no_pyplot_and_lazy_matplotlib():
    code = (
        "import sys\n"
        "import anomaly_metrics, anomaly_metrics.plotting as p\n"
        "assert 'matplotlib' not in sys.modules\n"
        "fig = p.plot_roc([0.1, 0.9, 0.4], [0, 1, 0])\n"
        "fig.savefig(__import__('io').BytesIO(), format='png')\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
