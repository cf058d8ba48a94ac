"""The dtype of floating results: float32 by default (as anomalib), float64 on request.

anomalib returns float32 tensors for float32 inputs (AUROC, AUPR, F1, AUPRO, PRO, thresholds,
...). The core computes every value in float64; ``compute()`` rounds it to the result dtype at
the very end, so the default is a drop-in and ``set_result_dtype(torch.float64)`` (or the
``result_dtype`` context manager) gives every digit. Where anomalib itself returns float64
(PIMO's rates, AUPIMO, ManualThreshold) results are float64 whatever the setting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor

from ._convert import to_result

__all__ = ["get_result_dtype", "result", "result_dtype", "set_result_dtype"]

_ALLOWED = (torch.float32, torch.float64)
_state = {"dtype": torch.float32}


def _check(dtype: Any) -> torch.dtype:
    if dtype not in _ALLOWED:
        raise ValueError(f"`dtype` must be torch.float32 or torch.float64, got {dtype!r}.")
    return dtype  # type: ignore[no-any-return]


def set_result_dtype(dtype: torch.dtype) -> None:
    """Set the dtype of floating metric results for the whole process.

    Parameters
    ----------
    dtype : torch.float32 or torch.float64
        float32 (the default) rounds the float64 value of the core once, at the end, as
        anomalib returns it; float64 keeps every digit.

    Raises
    ------
    ValueError
        Any other dtype.

    Examples
    --------
    >>> import torch
    >>> import anomaly_metrics_torch as amt
    >>> amt.set_result_dtype(torch.float64)
    >>> amt.get_result_dtype()
    torch.float64
    >>> amt.set_result_dtype(torch.float32)
    """
    _state["dtype"] = _check(dtype)


def get_result_dtype() -> torch.dtype:
    """The dtype of floating metric results (see :func:`set_result_dtype`).

    Examples
    --------
    >>> import anomaly_metrics_torch as amt
    >>> amt.get_result_dtype()
    torch.float32
    """
    return _state["dtype"]


@contextmanager
def result_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Use `dtype` for floating results inside a ``with`` block, then restore the setting.

    Examples
    --------
    >>> import torch
    >>> import anomaly_metrics_torch as amt
    >>> auroc = amt.AUROC(fields=["pred_score", "gt_label"])
    >>> auroc.update({"pred_score": torch.tensor([0.1, 0.3, 0.2]), "gt_label": torch.tensor([0, 1, 1])})
    >>> with amt.result_dtype(torch.float64):
    ...     auroc.compute().dtype
    torch.float64
    """
    previous = _state["dtype"]
    _state["dtype"] = _check(dtype)
    try:
        yield
    finally:
        _state["dtype"] = previous


def result(value: Any, device: torch.device | str) -> Tensor:
    """A core result as a tensor of the current result dtype on `device`."""
    return to_result(value, device, _state["dtype"])
