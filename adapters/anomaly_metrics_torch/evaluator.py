"""`Evaluator`: a Lightning callback that updates metrics from batches and logs them by name.

When anomalib is installed, ``Evaluator`` is a subclass of ``anomalib.metrics.Evaluator``, so
anomalib accepts it wherever it accepts its own (``isinstance`` checks in model constructors,
``evaluator=``). The base is chosen when this module is first imported (on first access to
``anomaly_metrics_torch.Evaluator``): :func:`evaluator_bases` asks ``importlib`` whether a
top-level ``anomalib`` package exists (``find_spec``, which imports nothing) and only then
imports ``anomalib.metrics.evaluator``. Without anomalib (or if importing it fails) the bases are
``nn.Module`` and Lightning's ``Callback``, as anomalib's own. Every method anomalib's
Evaluator defines is overridden here, so its behaviour is this module's either way.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Sequence
from typing import Any

from torch import nn
from torchmetrics import Metric

try:
    from lightning.pytorch import Callback, LightningModule, Trainer
except ImportError as err:  # pragma: no cover - exercised without the extra only
    raise ImportError(
        "anomaly_metrics_torch.Evaluator needs Lightning: pip install 'anomaly-metrics[lightning]'"
    ) from err

from ._base import AnomalibMetric, updated_anywhere

__all__ = ["Evaluator"]

logger = logging.getLogger(__name__)


def evaluator_bases(package: str = "anomalib") -> tuple[type, ...]:
    """The bases of :class:`Evaluator`: `package`'s Evaluator when importable, else ours.

    Parameters
    ----------
    package : str, default "anomalib"
        The top-level package to look for; its ``<package>.metrics.evaluator`` module must
        define ``Evaluator``.

    Returns
    -------
    tuple of type
        ``(<package>.metrics.evaluator.Evaluator,)`` when `package` is installed and imports,
        ``(torch.nn.Module, lightning.pytorch.Callback)`` otherwise. Nothing is imported when
        `package` is not installed.

    Examples
    --------
    >>> from anomaly_metrics_torch.evaluator import evaluator_bases
    >>> [b.__name__ for b in evaluator_bases("no_such_package_here")]
    ['Module', 'Callback']
    """
    if importlib.util.find_spec(package) is None:
        return (nn.Module, Callback)
    try:
        module = importlib.import_module(f"{package}.metrics.evaluator")
        base = module.Evaluator
    except Exception as err:  # an install that does not import: work without it
        logger.warning("%s is installed but its Evaluator does not import (%s).", package, err)
        return (nn.Module, Callback)
    if not (isinstance(base, type) and issubclass(base, nn.Module)):
        return (nn.Module, Callback)
    return (base,)


class Evaluator(*evaluator_bases()):  # type: ignore[misc]
    """Update metrics from every validation / test batch and log them at the end of the epoch.

    anomalib's ``Evaluator``: an ``nn.Module`` (assign it to the LightningModule, so the metrics
    move with the model and Lightning can find them) and a Lightning ``Callback`` (return it
    from ``configure_callbacks`` or pass it to the Trainer).

    Parameters
    ----------
    val_metrics, test_metrics : AnomalibMetric or sequence of them, optional
        Metrics updated with ``metric.update(batch)`` after each validation / test batch and
        logged as ``self.log(metric.name, metric)`` at the end of the epoch (Lightning then
        computes and resets them).
    compute_on_cpu : bool, default True
        On a single device, sets ``compute_on_cpu`` on every metric, so their list states move
        to host memory after each update. With several devices metrics stay on their devices
        and torchmetrics syncs them.

    Raises
    ------
    TypeError
        Metrics that are neither a metric nor a sequence.

    Notes
    -----
    A subclass of ``anomalib.metrics.Evaluator`` when anomalib is installed (see the module
    docstring), so anomalib models accept it. A non-strict metric that received nothing during the epoch is not logged (its ``compute``
    would return None).

    Examples
    --------
    >>> from anomaly_metrics_torch import AUROC, F1Score, Evaluator
    >>> evaluator = Evaluator(
    ...     test_metrics=[
    ...         AUROC(fields=["pred_score", "gt_label"], prefix="image_"),
    ...         AUROC(fields=["anomaly_map", "gt_mask"], prefix="pixel_", strict=False),
    ...     ]
    ... )
    >>> [metric.name for metric in evaluator.test_metrics]
    ['image_AUROC', 'pixel_AUROC']
    """

    def __init__(
        self,
        val_metrics: AnomalibMetric | Sequence[AnomalibMetric] | None = None,
        test_metrics: AnomalibMetric | Sequence[AnomalibMetric] | None = None,
        compute_on_cpu: bool = True,
    ) -> None:
        nn.Module.__init__(self)  # not anomalib's __init__ when it is the base
        self.val_metrics = nn.ModuleList(self.validate_metrics(val_metrics))
        self.test_metrics = nn.ModuleList(self.validate_metrics(test_metrics))
        self.compute_on_cpu = compute_on_cpu

    @staticmethod
    def validate_metrics(
        metrics: AnomalibMetric | Sequence[AnomalibMetric] | None,
    ) -> Sequence[AnomalibMetric]:
        """A list of metrics from None, one metric or a sequence of them."""
        if metrics is None:
            return []
        if isinstance(metrics, (AnomalibMetric, Metric)):
            return [metrics]  # type: ignore[list-item]
        if not isinstance(metrics, Sequence):
            raise TypeError(
                "`metrics` must be an AnomalibMetric or a list of AnomalibMetrics, got "
                f"{type(metrics).__name__}."
            )
        return metrics

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Move list states to the CPU after each update on single-device runs."""
        del pl_module, stage
        if trainer.num_devices > 1:
            if self.compute_on_cpu:
                logger.warning(
                    "Number of devices is greater than 1: metrics stay on their devices."
                )
        elif self.compute_on_cpu:
            self.metrics_to_cpu(self.val_metrics)
            self.metrics_to_cpu(self.test_metrics)

    def on_validation_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Update every validation metric from `batch`."""
        del trainer, pl_module, outputs, batch_idx, dataloader_idx
        for metric in self.val_metrics:
            metric.update(batch)

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Log every validation metric under its name."""
        del pl_module
        self._log_metrics(trainer, self.val_metrics)

    def on_test_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Update every test metric from `batch`."""
        del trainer, pl_module, outputs, batch_idx, dataloader_idx
        for metric in self.test_metrics:
            metric.update(batch)

    def on_test_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Log every test metric under its name."""
        del pl_module
        self._log_metrics(trainer, self.test_metrics)

    def _log_metrics(self, trainer: Trainer, metrics: nn.ModuleList) -> None:
        for metric in metrics:
            if not getattr(metric, "strict", True) and not updated_anywhere(metric):
                continue  # the same decision in every process (each syncs in compute)
            if trainer.barebones:  # Lightning disables self.log: compute and record directly
                value = metric.compute()
                trainer.callback_metrics[metric.name] = value
                trainer.logged_metrics[metric.name] = value
                metric.reset()
            else:
                self.log(metric.name, metric)  # type: ignore[attr-defined]  # set by Lightning

    def metrics_to_cpu(self, metrics: Metric | Sequence[Any] | nn.ModuleList) -> None:
        """Set ``compute_on_cpu = True`` on a metric or, recursively, a list of them."""
        if isinstance(metrics, Metric):
            metrics.compute_on_cpu = True
        elif isinstance(metrics, (list, tuple, nn.ModuleList)):
            for metric in metrics:
                self.metrics_to_cpu(metric)
        else:
            raise TypeError(
                f"`metrics` must be a Metric or a list of metrics, got {type(metrics).__name__}."
            )
