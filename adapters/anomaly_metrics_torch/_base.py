"""`AnomalibMetric`: update a metric from the named fields of a batch (anomalib's mixin)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import torch
from torchmetrics import Metric, MetricCollection

__all__ = ["AnomalibMetric", "create_anomalib_metric", "updated_anywhere"]

_M = TypeVar("_M", bound=Metric)
_MISSING = object()


class AnomalibMetric:
    """Mixin that feeds a torchmetrics metric from the fields of a batch.

    Placed before a :class:`torchmetrics.Metric` in the bases (``class AUROC(AnomalibMetric,
    _AUROC)``). ``update(batch)`` reads `fields` from `batch`, by attribute (anomalib's
    ``ImageBatch``, a dataclass, any object) or by key (a dict or other Mapping), and passes
    them positionally, in order, to the metric's own ``update``.

    Parameters
    ----------
    fields : sequence of str, optional
        Names of the batch fields to pass, e.g. ``["pred_score", "gt_label"]``. Defaults to the
        class's ``default_fields``; a class without them requires `fields`.
    prefix : str, default ""
        Prepended to the class name to form :attr:`name`, the key the Evaluator logs under.
    strict : bool, default True
        A field that is missing or None raises ValueError when True; when False the update is
        skipped, and ``compute()`` returns None if nothing was ever added.
    **kwargs
        Passed on to the metric's constructor.

    Raises
    ------
    ValueError
        No `fields` and no ``default_fields``.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch import AUROC
    >>> metric = AUROC(fields=["pred_score", "gt_label"], prefix="image_")
    >>> metric.name
    'image_AUROC'
    >>> metric.update({"pred_score": torch.tensor([0.1, 0.8]), "gt_label": torch.tensor([0, 1])})
    >>> float(metric.compute())
    1.0
    >>> pixel = AUROC(fields=["anomaly_map", "gt_mask"], strict=False)
    >>> pixel.update({"pred_score": torch.tensor([0.1, 0.8])})  # no anomaly_map: skipped
    >>> pixel.update_called
    False
    """

    default_fields: Sequence[str] | None = None

    def __init__(
        self,
        fields: Sequence[str] | None = None,
        prefix: str = "",
        strict: bool = True,
        **kwargs: Any,
    ) -> None:
        fields = fields or self.default_fields
        if fields is None:
            raise ValueError(
                f"Batch fields must be provided for metric {type(self).__name__}. Use the "
                "`fields` argument to specify which fields from the batch object should be used "
                "to update the metric."
            )
        self.fields = fields
        self.prefix = prefix
        self.name = prefix + type(self).__name__
        self.strict = strict
        super().__init__(**kwargs)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not issubclass(cls, (Metric, MetricCollection)):
            raise TypeError(
                f"`{cls.__name__}` must also derive from torchmetrics.Metric or "
                "MetricCollection: put AnomalibMetric first, e.g. "
                f"`class {cls.__name__}(AnomalibMetric, BinaryF1Score)`."
            )

    def update(self, batch: Any, *args: Any, **kwargs: Any) -> None:
        """Update the metric with the fields of `batch` (an object or a Mapping).

        Raises
        ------
        ValueError
            In strict mode, when a field is missing from `batch` or is None.
        """
        values = []
        for key in self.fields:
            if isinstance(batch, Mapping):
                value = batch.get(key, _MISSING)
            else:
                value = getattr(batch, key, _MISSING)
            if value is _MISSING or value is None:
                self._update_count -= 1  # type: ignore[attr-defined]  # undo the wrapper's count
                if not self.strict:
                    return
                what = (
                    f"is missing required field: {key}"
                    if value is _MISSING
                    else f"does not have a value for field with name {key}."
                )
                raise ValueError(
                    f"Cannot update metric of type {type(self)}. Passed dataclass instance {what}"
                )
            values.append(value)
        super().update(*values, *args, **kwargs)  # type: ignore[misc]

    def compute(self, *args: Any, **kwargs: Any) -> Any:
        """The metric's value; None in non-strict mode when nothing was ever added."""
        if not self.strict and self._nothing_added():
            return None
        return super().compute(*args, **kwargs)  # type: ignore[misc]

    def _nothing_added(self) -> bool:
        """Not updated here and every state at its default (no data in lists, sums zero).

        After a distributed sync, decided from the synced states alone, so that every process
        returns None or none does; a metric restored from a ``state_dict`` with data computes.
        """
        if self._update_count and not getattr(self, "_is_synced", False):  # type: ignore[attr-defined]
            return False
        for key, default in self._defaults.items():  # type: ignore[attr-defined]
            state = getattr(self, key)
            if isinstance(default, list):
                parts = state if isinstance(state, list) else [state]
                if any(p.numel() for p in parts):
                    return False
            elif not torch.equal(state, default.to(state.device)):
                return False
        return True


def updated_anywhere(metric: Metric) -> bool:
    """Whether `metric` was updated in this process or, in a distributed run, in any process.

    One ``max`` all-reduce of a flag when torch.distributed is initialised (every process
    must call it, as it must call ``compute``), so that the processes agree on whether to
    compute and log a metric that some of them never updated.
    """
    flag = bool(metric.update_called)
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return flag
    group = metric.process_group or torch.distributed.group.WORLD
    t = torch.tensor([int(flag)], device=metric.device)
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX, group=group)
    return bool(t.item())


def create_anomalib_metric(metric_cls: type[_M]) -> type[_M]:
    """Wrap any torchmetrics Metric class so that it updates from batch fields.

    Parameters
    ----------
    metric_cls : type
        A subclass of :class:`torchmetrics.Metric`.

    Returns
    -------
    type
        ``type(metric_cls.__name__, (AnomalibMetric, metric_cls), {})``: same name and
        constructor, plus `fields`, `prefix` and `strict` (see :class:`AnomalibMetric`).

    Raises
    ------
    TypeError
        `metric_cls` is not a Metric subclass.

    Examples
    --------
    >>> import torch
    >>> from torchmetrics.classification import BinaryAccuracy
    >>> from anomaly_metrics_torch import create_anomalib_metric
    >>> Accuracy = create_anomalib_metric(BinaryAccuracy)
    >>> acc = Accuracy(fields=["pred_label", "gt_label"], prefix="image_")
    >>> acc.name
    'image_BinaryAccuracy'
    >>> acc.update({"pred_label": torch.tensor([1, 0, 1]), "gt_label": torch.tensor([1, 0, 0])})
    >>> round(float(acc.compute()), 4)
    0.6667
    """
    if not (isinstance(metric_cls, type) and issubclass(metric_cls, Metric)):
        raise TypeError(
            f"`metric_cls` must be a subclass of torchmetrics.Metric, got {metric_cls!r}."
        )
    return type(metric_cls.__name__, (AnomalibMetric, metric_cls), {})  # type: ignore[return-value]
