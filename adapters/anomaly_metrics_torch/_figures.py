"""anomalib's figure methods (``generate_figure`` / ``plot``), drawn by ``anomaly_metrics.plotting``.

The classes keep their data as states; these helpers convert them once (the shared helper of
``_convert``) and hand them to the core's plotting functions, which import matplotlib lazily and
never call ``plt.show()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._convert import state_to_numpy

__all__ = ["pair_figure", "pro_figure", "score_histogram_figure"]


def _plotting() -> Any:
    try:
        from anomaly_metrics import plotting
    except ImportError as err:  # pragma: no cover - matplotlib missing
        raise ImportError("Figures need matplotlib: pip install 'anomaly-metrics[plot]'.") from err
    return plotting


def _require_data(metric: Any, *states: str) -> None:
    if getattr(metric, "thresholds", None) is not None:
        raise ValueError(
            f"{type(metric).__name__}(thresholds=...) keeps confusion counts, not the data a "
            "curve is drawn from: create the metric without `thresholds` to draw its figure."
        )
    if metric.bins is not None:
        raise ValueError(
            f"{type(metric).__name__}(bins=...) keeps histograms, not the data a curve is drawn "
            "from: create the metric without `bins` to draw its figure."
        )
    if not all(len(getattr(metric, name)) for name in states):
        raise ValueError(f"{type(metric).__name__} has no data to draw: call update() first.")


def pair_figure(metric: Any, kind: str) -> tuple[Any, str]:
    """``(figure, "ROC")`` or ``(figure, "PR")`` of a score/label metric's data."""
    _require_data(metric, "preds", "target")
    scores, labels = state_to_numpy(metric.preds), state_to_numpy(metric.target)
    plotting = _plotting()
    if kind == "ROC":
        return plotting.plot_roc(scores, labels, title="ROC", label="AUROC"), "ROC"
    return plotting.plot_pr(scores, labels, title="PR", label="AUPR"), "PR"


def pro_figure(metric: Any, fpr_limit: float) -> tuple[Any, str]:
    """``(figure, "PRO")``: the PRO curve up to `fpr_limit`, with AU-PRO in the legend."""
    _require_data(metric, "preds", "target")
    maps, masks = state_to_numpy(metric.preds), state_to_numpy(metric.target)
    return _plotting().plot_pro(maps, masks, fpr_limit=fpr_limit, title="PRO"), "PRO"


def score_histogram_figure(
    scores_state: Sequence[Any],
    labels_state: Sequence[Any],
    *,
    bins: int,
    colors: tuple[str, str],
    xlabel: str,
    ylabel: str,
    title: str,
    legend_labels: Sequence[str],
) -> tuple[Any, str]:
    """``(figure, title)``: histograms of the image scores of good vs. bad images."""
    if not len(scores_state):
        raise ValueError("No anomaly scores available.")
    if not len(labels_state):
        raise ValueError("No labels available.")
    fig = _plotting().plot_score_histogram(
        state_to_numpy(scores_state),
        state_to_numpy(labels_state),
        bins=bins,
        title=title,
        legend_labels=legend_labels,
        xlabel=xlabel,
        ylabel=ylabel,
        colors=colors,
    )
    return fig, title
