"""Figure helpers (anomalib's ``anomalib.metrics.utils``), drawn with matplotlib.

Both return ``(figure, axes)`` as anomalib's do; figures are made on their own Agg canvas
(no pyplot state, nothing shown). They need the ``plot`` extra.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ._figures import _plotting

__all__ = ["plot_metric_curve", "plot_score_histogram"]


def plot_score_histogram(
    scores: Tensor,
    labels: Tensor,
    bins: int = 30,
    good_color: str = "skyblue",
    bad_color: str = "salmon",
    xlabel: str = "Score",
    ylabel: str = "Relative Count",
    title: str = "Score Histogram",
    legend_labels: tuple[str, str] = ("Good", "Bad"),
) -> tuple[Any, Any]:
    """Density histograms of the scores of good (label 0) and bad (label 1) samples.

    Drawn by :func:`anomaly_metrics.plotting.plot_score_histogram` (both classes on the same
    bin edges).

    Returns
    -------
    tuple
        ``(figure, axes)``.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch.utils import plot_score_histogram
    >>> fig, ax = plot_score_histogram(torch.tensor([0.1, 0.2, 0.8, 0.9]), torch.tensor([0, 0, 1, 1]), bins=4)
    >>> ax.get_title()
    'Score Histogram'
    """
    fig = _plotting().plot_score_histogram(
        scores.detach().cpu().numpy(),
        labels.detach().cpu().numpy(),
        bins=bins,
        colors=(good_color, bad_color),
        xlabel=xlabel,
        ylabel=ylabel,
        title=title,
        legend_labels=legend_labels,
    )
    return fig, fig.axes[0]


def plot_metric_curve(
    x_vals: Tensor,
    y_vals: Tensor,
    auc: Tensor,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    xlabel: str,
    ylabel: str,
    loc: str,
    title: str,
    metric_name: str = "AUC",
    sample_points: int = 1000,
) -> tuple[Any, Any]:
    """One curve (dark orange) with ``"{metric_name}: {auc:0.2f}"`` in the legend.

    Curves with more than `sample_points` points are thinned by index (first and last point
    kept), as anomalib does.

    Returns
    -------
    tuple
        ``(figure, axes)``.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch.utils import plot_metric_curve
    >>> x = torch.linspace(0, 1, 5)
    >>> fig, ax = plot_metric_curve(x, x, torch.tensor(0.5), (0, 1), (0, 1), "FPR", "TPR", "lower right", "ROC")
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['AUC: 0.50']
    """
    _plotting()  # the clear error when matplotlib is missing
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    x = x_vals.detach().cpu().reshape(-1)
    y = y_vals.detach().cpu().reshape(-1)
    n = int(x.shape[0])
    if sample_points < n:
        step = max(n // sample_points, 1)
        idx = [0, *range(0, n, step), n - 1]
        x, y = x[idx], y[idx]
    fig = Figure()
    FigureCanvasAgg(fig)
    axis = fig.add_subplot()
    value = float(auc.detach().cpu()) if isinstance(auc, Tensor) else float(auc)
    axis.plot(x.numpy(), y.numpy(), color="darkorange", lw=2, label=f"{metric_name}: {value:0.2f}")
    axis.set_xlim(xlim)
    axis.set_ylim(ylim)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.legend(loc=loc)
    axis.set_title(title)
    return fig, axis
