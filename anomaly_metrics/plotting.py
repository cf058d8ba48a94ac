"""Figures of the curves behind the metrics (needs matplotlib: the ``plot`` extra).

Each function computes its curve with the library's exact functions, draws it and returns a
:class:`matplotlib.figure.Figure`. Figures are built with matplotlib's object-oriented API on an
Agg canvas: nothing here touches ``pyplot``, changes the global backend or calls ``show()``, so
the functions are safe in scripts, servers, threads and notebooks (where a returned figure is
displayed as the cell's value). Pass ``ax=`` to draw into an existing axes instead.

Axis labels and titles follow anomalib's ``generate_figure`` / ``plot`` (ROC, PR, PRO,
Score Histogram), so figures logged through the torch adapter look the same.

``import anomaly_metrics.plotting`` does not import matplotlib; the first figure does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ._counts import _binary_counts
from ._curves import _roc_polyline
from ._pimo import aupimo, pimo_curves
from ._pro import aupro, pro_curve
from ._ranking import _aupr_from_counts, _auroc_from_counts
from ._validation import check_fraction, check_scores_and_labels
from ._warnings import warn_undefined

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_pimo", "plot_pr", "plot_pro", "plot_roc", "plot_score_histogram"]

_CURVE_COLOR = "darkorange"
_BASELINE_COLOR = "navy"
_MAX_POINTS = 2000


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6.4, 4.8)) -> tuple[Figure, Axes]:
    """The figure and axes to draw on: `ax`'s, or a new figure on its own Agg canvas."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "anomaly_metrics.plotting needs matplotlib: pip install 'anomaly-metrics[plot]'"
        ) from err
    if ax is not None:
        return ax.get_figure(), ax  # type: ignore[return-value]
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _thin(
    x: NDArray[np.float64], y: NDArray[np.float64], max_points: int = _MAX_POINTS
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """At most `max_points` vertices of a polyline, evenly spaced by index, ends kept."""
    n = x.shape[0]
    if n <= max_points:
        return x, y
    idx = np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
    return x[idx], y[idx]


def plot_roc(
    scores: Any,
    labels: Any,
    *,
    ax: Axes | None = None,
    title: str = "ROC",
    label: str = "AUROC",
) -> Figure:
    """Receiver operating characteristic curve with its area in the legend.

    Parameters
    ----------
    scores : array-like of shape (...)
        Anomaly scores (image scores, or anomaly maps for the pixel curve); finite.
    labels : array-like, same shape as `scores`
        1 / True for anomalous, 0 / False for normal.
    ax : matplotlib Axes, optional
        Draw into this axes; by default a new figure is made.
    title, label : str
        Axes title and the legend's metric name (``"AUROC: 0.93"``).

    Returns
    -------
    matplotlib.figure.Figure
        x axis "False Positive Rate", y axis "True Positive Rate", the chance diagonal dashed.

    Raises
    ------
    TypeError, ValueError
        Bad inputs, as :func:`anomaly_metrics.auroc`.

    Warns
    -----
    UndefinedMetricWarning
        One class only (the curve cannot be drawn; the figure holds the empty axes).

    Examples
    --------
    >>> from anomaly_metrics.plotting import plot_roc
    >>> fig = plot_roc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    >>> ax = fig.axes[0]
    >>> ax.get_title(), ax.get_xlabel(), ax.get_legend().get_texts()[0].get_text()
    ('ROC', 'False Positive Rate', 'AUROC: 0.75')
    """
    s, y = check_scores_and_labels(scores, labels)
    c = _binary_counts(s, y)
    fig, axes = _axes(ax)
    area = _auroc_from_counts(c)
    if c.n_pos and c.n_neg:
        x, tp = _roc_polyline(c)
        fx, fy = _thin(x / c.n_neg, tp / c.n_pos)
        axes.plot(fx, fy, color=_CURVE_COLOR, lw=2, label=f"{label}: {area:0.2f}")
    axes.plot([0, 1], [0, 1], color=_BASELINE_COLOR, lw=2, linestyle="--")
    axes.set(xlim=(0, 1), ylim=(0, 1.02), title=title)
    axes.set_xlabel("False Positive Rate")
    axes.set_ylabel("True Positive Rate")
    if c.n_pos and c.n_neg:
        axes.legend(loc="lower right")
    return fig


def plot_pr(
    scores: Any,
    labels: Any,
    *,
    ax: Axes | None = None,
    title: str = "PR",
    label: str = "AUPR",
) -> Figure:
    """Precision-recall curve (the step-wise average precision's steps), area in the legend.

    The curve is drawn at every distinct score of the anomalous samples, where recall changes:
    precision at each recall level is the one that average precision (the area in the legend,
    :func:`anomaly_metrics.aupr`) weights it with. A dashed line marks the prevalence, the
    precision of a detector with no ranking information.

    Parameters
    ----------
    scores : array-like of shape (...)
        Anomaly scores; finite.
    labels : array-like, same shape as `scores`
        1 / True for anomalous, 0 / False for normal.
    ax : matplotlib Axes, optional
        Draw into this axes; by default a new figure is made.
    title, label : str
        Axes title and the legend's metric name.

    Returns
    -------
    matplotlib.figure.Figure
        x axis "Recall", y axis "Precision".

    Raises
    ------
    TypeError, ValueError
        Bad inputs, as :func:`anomaly_metrics.aupr`.

    Warns
    -----
    UndefinedMetricWarning
        No anomalous sample (nothing to draw).

    Examples
    --------
    >>> from anomaly_metrics.plotting import plot_pr
    >>> fig = plot_pr([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1])
    >>> ax = fig.axes[0]
    >>> ax.get_title(), ax.get_xlabel(), ax.get_ylabel()
    ('PR', 'Recall', 'Precision')
    """
    s, y = check_scores_and_labels(scores, labels)
    c = _binary_counts(s, y)
    fig, axes = _axes(ax)
    area = _aupr_from_counts(c)
    if c.n_pos:
        tp = c.tp.astype(np.float64)
        recall = np.concatenate(([0.0], tp / c.n_pos))
        precision = np.concatenate(([1.0], tp / (tp + c.fp)))
        fx, fy = _thin(recall, precision)
        axes.step(fx, fy, where="pre", color=_CURVE_COLOR, lw=2, label=f"{label}: {area:0.2f}")
        prevalence = c.n_pos / (c.n_pos + c.n_neg)
        axes.axhline(prevalence, color=_BASELINE_COLOR, lw=2, linestyle="--")
        axes.legend(loc="best")
    axes.set(xlim=(0, 1), ylim=(0, 1.02), title=title)
    axes.set_xlabel("Recall")
    axes.set_ylabel("Precision")
    return fig


def plot_pro(
    anomaly_maps: Any,
    masks: Any,
    *,
    fpr_limit: float = 0.3,
    ax: Axes | None = None,
    title: str = "PRO",
) -> Figure:
    """Per-region overlap curve up to `fpr_limit`, with AU-PRO in the legend.

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Anomaly maps; finite.
    masks : array-like, same shape
        Ground truth, bool or 0/1.
    fpr_limit : float in (0, 1], default 0.3
        The curve is drawn (and integrated) up to this false positive rate.
    ax : matplotlib Axes, optional
        Draw into this axes; by default a new figure is made.
    title : str
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        x axis "Global FPR" (0 to `fpr_limit`), y axis "Averaged Per-Region TPR".

    Raises
    ------
    TypeError, ValueError
        Bad inputs, as :func:`anomaly_metrics.aupro`.

    Warns
    -----
    UndefinedMetricWarning
        No defect region or no background pixel (nothing to draw).

    Examples
    --------
    >>> import numpy as np
    >>> from anomaly_metrics.plotting import plot_pro
    >>> maps = np.array([[[0.5, 0.9], [0.2, 0.1]]])
    >>> fig = plot_pro(maps, maps == 0.5, fpr_limit=1.0)
    >>> ax = fig.axes[0]
    >>> ax.get_xlabel(), ax.get_ylabel(), ax.get_legend().get_texts()[0].get_text()
    ('Global FPR', 'Averaged Per-Region TPR', 'AUPRO: 0.67')
    """
    limit = check_fraction(fpr_limit, "fpr_limit", low_open=True)
    curve = pro_curve(anomaly_maps, masks, fpr_limit=limit)
    fig, axes = _axes(ax)
    if curve.fpr.size and np.isfinite(curve.pro).all():
        area = aupro(anomaly_maps, masks, fpr_limit=limit)
        fx, fy = _thin(np.asarray(curve.fpr, float), np.asarray(curve.pro, float))
        axes.plot(fx, fy, color=_CURVE_COLOR, lw=2, label=f"AUPRO: {area:0.2f}")
        axes.legend(loc="lower right")
    axes.set(xlim=(0, limit), ylim=(0, 1.02), title=title)
    axes.set_xlabel("Global FPR")
    axes.set_ylabel("Averaged Per-Region TPR")
    return fig


def plot_pimo(
    anomaly_maps: Any,
    masks: Any,
    *,
    fpr_bounds: tuple[float, float] = (1e-5, 1e-4),
    num_thresholds: int | None = 300_000,
    highlight: int = 3,
    image_names: Sequence[str] | None = None,
    ax: Axes | None = None,
    title: str = "PIMO",
) -> Figure:
    """Per-image overlap curves of the anomalous images against the shared FPR (log axis).

    Every anomalous image's curve is drawn thin and grey; `highlight` of them (the lowest,
    the median and the highest AUPIMO, and more quantiles when asked) are drawn in colour with
    their AUPIMO in the legend. The integration range `fpr_bounds` is shaded.

    Parameters
    ----------
    anomaly_maps : array-like of shape (N, H, W), (N, 1, H, W) or (H, W)
        Anomaly maps; finite. At least one normal and one anomalous image.
    masks : array-like, same shape
        Ground truth, bool or 0/1.
    fpr_bounds : (float, float), default (1e-5, 1e-4)
        The AUPIMO integration range, shaded.
    num_thresholds : int or None, default 300_000
        As :func:`anomaly_metrics.aupimo` (None: the exact curves).
    highlight : int, default 3
        How many images to emphasise.
    image_names : sequence of str, optional
        One name per image, for the legend (default: the image's index).
    ax : matplotlib Axes, optional
        Draw into this axes; by default a new figure is made.
    title : str
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        x axis "Shared FPR" (log scale), y axis "Per-Image Overlap (TPR)".

    Raises
    ------
    TypeError, ValueError
        As :func:`anomaly_metrics.aupimo` (e.g. no normal image).

    Examples
    --------
    >>> import numpy as np
    >>> from anomaly_metrics.plotting import plot_pimo
    >>> rng = np.random.default_rng(0)
    >>> maps = rng.random((4, 64, 64))
    >>> masks = np.zeros(maps.shape, bool)
    >>> masks[2:, 20:30, 20:30] = True
    >>> maps[masks] += 0.5
    >>> fig = plot_pimo(maps, masks, fpr_bounds=(1e-3, 1e-2), num_thresholds=None)
    >>> ax = fig.axes[0]
    >>> ax.get_title(), ax.get_xscale(), ax.get_xlabel()
    ('PIMO', 'log', 'Shared FPR')
    """
    result = aupimo(anomaly_maps, masks, fpr_bounds=fpr_bounds, num_thresholds=num_thresholds)
    curves = pimo_curves(anomaly_maps, masks, num_thresholds=num_thresholds)
    n_images = result.per_image.shape[0]
    if image_names is None:
        names = [f"image {i}" for i in range(n_images)]
    else:
        names = [str(n) for n in image_names]
        if len(names) != n_images:
            raise ValueError(
                f"`image_names` must hold one name per image ({n_images}), got {len(names)}."
            )
    fig, axes = _axes(ax)
    lo, hi = result.fpr_bounds
    axes.axvspan(lo, hi, color="tab:blue", alpha=0.12, lw=0, label="AUPIMO range")
    fpr = np.asarray(curves.shared_fpr, np.float64)
    tpr = np.asarray(curves.per_image_tpr, np.float64)
    anomalous = np.flatnonzero(np.asarray(curves.image_classes) == 1)
    keep = fpr > 0
    idx = np.flatnonzero(keep)
    if idx.size > _MAX_POINTS:
        idx = idx[np.unique(np.linspace(0, idx.size - 1, _MAX_POINTS).round().astype(int))]
    x = fpr[idx]
    for i in anomalous[:200]:
        axes.plot(x, tpr[i, idx], color="0.75", lw=0.6, zorder=1)
    per_image = np.asarray(result.per_image, np.float64)
    scored = anomalous[np.argsort(per_image[anomalous], kind="stable")]
    if highlight > 0 and scored.size:
        picks = np.unique(np.linspace(0, scored.size - 1, min(highlight, scored.size)).round())
        colors = ["tab:red", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink"]
        for k, p in enumerate(picks[::-1].astype(int)):
            i = scored[p]
            axes.plot(
                x,
                tpr[i, idx],
                color=colors[k % len(colors)],
                lw=2,
                zorder=3,
                label=f"{names[i]}: AUPIMO {per_image[i]:0.2f}",
            )
    axes.set_xscale("log")
    if x.size:
        axes.set_xlim(max(float(x.min()), min(lo, 1e-6) / 10), 1.0)
    axes.set_ylim(0, 1.02)
    axes.set_title(title)
    axes.set_xlabel("Shared FPR")
    axes.set_ylabel("Per-Image Overlap (TPR)")
    axes.legend(loc="lower right", fontsize="small")
    return fig


def plot_score_histogram(
    scores: Any,
    labels: Any,
    *,
    bins: int = 30,
    ax: Axes | None = None,
    title: str = "Score Histogram",
    legend_labels: Sequence[str] = ("Good", "Bad"),
    xlabel: str = "Score",
    ylabel: str = "Relative Count",
    colors: Sequence[str] = ("skyblue", "salmon"),
) -> Figure:
    """Histograms (density) of the scores of normal vs. anomalous samples, overlaid.

    Parameters
    ----------
    scores : array-like of shape (...)
        Anomaly scores (e.g. one per image); finite.
    labels : array-like, same shape as `scores`
        1 / True for anomalous, 0 / False for normal.
    bins : int, default 30
        Number of bins, shared by both classes.
    ax : matplotlib Axes, optional
        Draw into this axes; by default a new figure is made.
    title, legend_labels, xlabel, ylabel : str
        Text of the figure (anomalib's defaults).
    colors : (str, str), default ("skyblue", "salmon")
        Colours of the normal and the anomalous histogram.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError, ValueError
        Bad inputs, as :func:`anomaly_metrics.auroc`, or `bins` < 1.

    Warns
    -----
    UndefinedMetricWarning
        A class is missing (only the other one is drawn).

    Examples
    --------
    >>> from anomaly_metrics.plotting import plot_score_histogram
    >>> fig = plot_score_histogram([0.1, 0.2, 0.3, 0.7, 0.9], [0, 0, 0, 1, 1], bins=5)
    >>> ax = fig.axes[0]
    >>> ax.get_title(), [t.get_text() for t in ax.get_legend().get_texts()]
    ('Score Histogram', ['Good', 'Bad'])
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"`bins` must be a positive integer, got {bins!r}.")
    s, y = check_scores_and_labels(scores, labels)
    fig, axes = _axes(ax)
    edges = np.histogram_bin_edges(s.astype(np.float64, copy=False), bins=int(bins))
    for cls, name, color in (
        (False, legend_labels[0], colors[0]),
        (True, legend_labels[1], colors[1]),
    ):
        part = s[y == cls]
        if part.size == 0:
            warn_undefined(f"No {'anomalous' if cls else 'normal'} samples: '{name}' is not drawn.")
            continue
        axes.hist(part, bins=edges, density=True, alpha=0.7, color=color, label=name)
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.legend()
    return fig
