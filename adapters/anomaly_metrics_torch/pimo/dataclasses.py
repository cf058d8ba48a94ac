"""PIMO and AUPIMO results (anomalib's ``anomalib.metrics.pimo.dataclasses``).

Both are NamedTuples (fixed fields, unpackable) that also carry every field, property and
method of anomalib's dataclasses, with the same meanings. Each has one field more than
anomalib's, ``image_classes`` (1 anomalous, 0 normal), last and optional: built with
anomalib's arguments it is deduced as anomalib deduces it (PIMO) or as anomalib documents it
(AUPIMO: anomalib's property inverts it).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from .functional import thresh_at_shared_fpr_level

__all__ = ["AUPIMOResult", "PIMOResult"]


class _PIMOFields(NamedTuple):
    thresholds: Tensor
    shared_fpr: Tensor
    per_image_tprs: Tensor
    image_classes: Tensor


class PIMOResult(_PIMOFields):
    """Per-image overlap curves (the result of :class:`~anomaly_metrics_torch.PIMO`).

    Parameters
    ----------
    thresholds : Tensor of shape (K,)
        Ascending thresholds.
    shared_fpr : Tensor of shape (K,)
        Mean FPR of the normal images at each threshold (descending).
    per_image_tprs : Tensor of shape (N, K)
        Each image's TPR at each threshold; nan rows for normal images.
    image_classes : Tensor of shape (N,), optional
        1 anomalous, 0 normal (int32); deduced from the nan rows of `per_image_tprs` when
        omitted, as anomalib does.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch.pimo import PIMOResult
    >>> tprs = torch.tensor([[1.0, 0.5, 0.0], [float("nan")] * 3])
    >>> r = PIMOResult(torch.tensor([0.1, 0.5, 0.9]), torch.tensor([1.0, 0.125, 0.0]), tprs)
    >>> r.num_images, r.num_threshsholds, r.image_classes.tolist()
    (2, 3, [1, 0])
    >>> r.thresh_at(0.125)
    (1, 0.5, 0.125)
    """

    __slots__ = ()

    def __new__(
        cls,
        thresholds: Tensor,
        shared_fpr: Tensor,
        per_image_tprs: Tensor,
        image_classes: Tensor | None = None,
    ) -> PIMOResult:
        if thresholds.ndim == 0 and shared_fpr.ndim == 0:
            # torchmetrics squeezes one-element results: a one-point curve of one image
            thresholds, shared_fpr = thresholds.reshape(1), shared_fpr.reshape(1)
            per_image_tprs = per_image_tprs.reshape(-1, 1)
        if image_classes is not None and image_classes.ndim == 0:
            image_classes = image_classes.reshape(1)
        if image_classes is None:
            image_classes = (~torch.isnan(per_image_tprs)).any(dim=1).to(torch.int32)
        if thresholds.shape != shared_fpr.shape or thresholds.ndim != 1:
            raise TypeError(
                "Invalid PIMOResult: `thresholds` and `shared_fpr` must have the same shape "
                f"(K,), got {tuple(thresholds.shape)} and {tuple(shared_fpr.shape)}."
            )
        if per_image_tprs.ndim != 2 or per_image_tprs.shape[1] != thresholds.shape[0]:
            raise TypeError(
                "Invalid PIMOResult: `per_image_tprs` must have shape (N, K) with K = "
                f"{thresholds.shape[0]}, got {tuple(per_image_tprs.shape)}."
            )
        return super().__new__(cls, thresholds, shared_fpr, per_image_tprs, image_classes)

    @property
    def num_threshsholds(self) -> int:
        """Number of thresholds K (anomalib's spelling)."""
        return int(self.thresholds.shape[0])

    @property
    def num_thresholds(self) -> int:
        """Number of thresholds K."""
        return int(self.thresholds.shape[0])

    @property
    def num_images(self) -> int:
        """Number of images N."""
        return int(self.per_image_tprs.shape[0])

    def thresh_at(self, fpr_level: float) -> tuple[int, float, float]:
        """``(index, threshold, shared FPR there)`` of the point nearest `fpr_level`.

        See :func:`anomaly_metrics_torch.pimo.functional.thresh_at_shared_fpr_level`.
        """
        idx, thresh, fpr = thresh_at_shared_fpr_level(self.thresholds, self.shared_fpr, fpr_level)
        return idx, float(thresh), float(fpr)


class _AUPIMOFields(NamedTuple):
    fpr_lower_bound: float
    fpr_upper_bound: float
    num_thresholds: int | None
    thresh_lower_bound: float
    thresh_upper_bound: float
    aupimos: Tensor
    image_classes: Tensor


class AUPIMOResult(_AUPIMOFields):
    """Per-image AUPIMO scores and the integration range (anomalib's fields and methods).

    Parameters
    ----------
    fpr_lower_bound, fpr_upper_bound : float
        The shared-FPR integration range.
    num_thresholds : int or None
        Number of curve points used in the integral (not the PIMO curve's thresholds).
    thresh_lower_bound, thresh_upper_bound : float
        The thresholds at the upper and at the lower FPR bound, in that order.
    aupimos : Tensor of shape (N,)
        AUPIMO per image, nan for normal images.
    image_classes : Tensor of shape (N,), optional
        1 anomalous, 0 normal (int32); deduced from `aupimos` (not nan: anomalous) when
        omitted. anomalib's property of that name is inverted; this one is not.

    Examples
    --------
    >>> import torch
    >>> from anomaly_metrics_torch.pimo import AUPIMOResult
    >>> r = AUPIMOResult(1e-5, 1e-4, 40, 0.7, 0.9, torch.tensor([0.25, float("nan")]))
    >>> r.fpr_bounds, r.thresh_bounds, r.num_images, r.image_classes.tolist()
    ((1e-05, 0.0001), (0.7, 0.9), 2, [1, 0])
    >>> r.num_normal_images, r.num_anomalous_images
    (1, 1)
    """

    __slots__ = ()

    def __new__(
        cls,
        fpr_lower_bound: float,
        fpr_upper_bound: float,
        num_thresholds: int | None,
        thresh_lower_bound: float,
        thresh_upper_bound: float,
        aupimos: Tensor,
        image_classes: Tensor | None = None,
    ) -> AUPIMOResult:
        if not 0 <= fpr_lower_bound < fpr_upper_bound <= 1:
            raise TypeError(
                "Invalid AUPIMOResult: the FPR bounds must satisfy 0 <= lower < upper <= 1, got "
                f"({fpr_lower_bound}, {fpr_upper_bound})."
            )
        undefined = math.isnan(thresh_lower_bound) and math.isnan(thresh_upper_bound)
        if not (thresh_lower_bound < thresh_upper_bound or undefined):  # nan: no normal image
            raise TypeError(
                "Invalid AUPIMOResult: `thresh_lower_bound` must be below `thresh_upper_bound`, "
                f"got ({thresh_lower_bound}, {thresh_upper_bound})."
            )
        aupimos = aupimos.reshape(-1)  # torchmetrics squeezes the result of one image
        if image_classes is not None:
            image_classes = image_classes.reshape(-1)
        if image_classes is None:
            image_classes = (~torch.isnan(aupimos)).to(torch.int32)
        return super().__new__(
            cls,
            fpr_lower_bound,
            fpr_upper_bound,
            num_thresholds,
            thresh_lower_bound,
            thresh_upper_bound,
            aupimos,
            image_classes,
        )

    @property
    def num_images(self) -> int:
        """Number of images N."""
        return int(self.aupimos.shape[0])

    @property
    def num_normal_images(self) -> int:
        """How many images have no anomalous pixel."""
        return int((self.image_classes == 0).sum())

    @property
    def num_anomalous_images(self) -> int:
        """How many images have at least one anomalous pixel."""
        return int((self.image_classes == 1).sum())

    @property
    def fpr_bounds(self) -> tuple[float, float]:
        """``(fpr_lower_bound, fpr_upper_bound)``."""
        return self.fpr_lower_bound, self.fpr_upper_bound

    @property
    def thresh_bounds(self) -> tuple[float, float]:
        """``(thresh_lower_bound, thresh_upper_bound)``: the thresholds at the upper and lower
        FPR bound."""
        return self.thresh_lower_bound, self.thresh_upper_bound

    @classmethod
    def from_pimo_result(
        cls,
        pimo_result: PIMOResult,
        fpr_bounds: tuple[float, float],
        num_thresholds_auc: int,
        aupimos: Tensor,
    ) -> AUPIMOResult:
        """The result for `aupimos` computed from `pimo_result` over `fpr_bounds`.

        The threshold bounds are the thresholds of `pimo_result` nearest the FPR bounds (see
        :meth:`PIMOResult.thresh_at`); image classes come from `pimo_result`.

        Raises
        ------
        TypeError
            As anomalib: one score per curve, nan exactly for the normal images.

        Examples
        --------
        >>> import torch
        >>> from anomaly_metrics_torch.pimo import AUPIMOResult, PIMOResult
        >>> tprs = torch.tensor([[1.0, 0.5, 0.0], [float("nan")] * 3])
        >>> pimo = PIMOResult(torch.tensor([0.125, 0.5, 0.875]), torch.tensor([1.0, 0.125, 0.0]), tprs)
        >>> r = AUPIMOResult.from_pimo_result(pimo, (0.0, 0.125), 2, torch.tensor([0.3, float("nan")]))
        >>> r.thresh_bounds
        (0.5, 0.875)
        """
        aupimos = torch.as_tensor(aupimos)
        n = pimo_result.per_image_tprs.shape[0]
        if aupimos.shape[0] != n:
            raise TypeError(
                f"Invalid AUPIMOResult: there are {n} PIMO curves but {aupimos.shape[0]} "
                "AUPIMO scores."
            )
        classes = pimo_result.image_classes.to(aupimos.device)
        if not torch.isnan(aupimos[classes == 0]).all():
            raise TypeError("Expected all normal images to have nan AUPIMOs, got some values.")
        if torch.isnan(aupimos[classes == 1]).any():
            raise TypeError("Expected every anomalous image to have an AUPIMO, got nan.")
        lo, hi = (float(x) for x in fpr_bounds)
        _, thresh_lo, _ = pimo_result.thresh_at(hi)
        _, thresh_hi, _ = pimo_result.thresh_at(lo)
        return cls(lo, hi, num_thresholds_auc, thresh_lo, thresh_hi, aupimos, classes)
