"""The shared base of the score-level metrics (AUROC, AUPR, PR curve, F1, thresholds, PGn/PBn).

``_PairMetric`` keeps the inputs as given in ``"cat"`` list states (scores in their dtype,
labels as bool) and every compute is exact. Two opt-in modes replace those states: ``bins=``
(AUROC, AUPR, F1Max, F1AdaptiveThreshold) keeps a summed histogram (see ``_binned``);
``thresholds=`` (AUROC, AUPR, BinaryPrecisionRecallCurve, F1AdaptiveThreshold: where
torchmetrics and anomalib accept it) keeps torchmetrics' confusion counts at fixed thresholds
(see ``_thresholded``).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ._binned import add_binned_states, check_bins, histogram_of, update_binned
from ._checks import as_scores_and_labels
from ._convert import state_pairs, state_to_numpy, to_result
from ._sync import SyncedMetric
from ._thresholded import add_confmat_state, as_thresholds, update_confmat

__all__ = ["_PairMetric", "check_curve_options"]


def check_curve_options(ignore_index: Any, normalization: Any = None) -> int | None:
    """Check torchmetrics' curve options; scores are never transformed. Returns ignore_index."""
    if normalization not in (None, "sigmoid"):
        raise ValueError(
            f"`normalization` must be None or 'sigmoid', got {normalization!r} (scores are "
            "never transformed)."
        )
    if ignore_index is not None and (
        isinstance(ignore_index, bool) or not isinstance(ignore_index, int)
    ):
        raise TypeError(f"`ignore_index` must be None or an int, got {ignore_index!r}.")
    return ignore_index


class _PairMetric(SyncedMetric):
    """States ``preds`` (flat, dtype as given) and ``target`` (flat bool), both ``"cat"``.

    With ``bins`` (classes whose ``_binnable`` is True): one ``histogram`` state instead, int64
    ``(2, 2**bins)``, summed across processes. With ``thresholds`` (classes whose
    ``_thresholdable`` is True): one ``confmat`` state, int64 ``(K, 2, 2)``, summed.
    """

    is_differentiable = False
    higher_is_better: bool | None = True
    full_state_update = False
    _binnable = False
    _thresholdable = False
    preds: list[Tensor]
    target: list[Tensor]
    thresholds: Tensor | None

    def __init__(
        self,
        ignore_index: int | None = None,
        bins: int | None = None,
        thresholds: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ignore_index = ignore_index
        self.bins = check_bins(bins, type(self).__name__, self._binnable)
        given = as_thresholds(thresholds)
        if given is not None and not self._thresholdable:
            raise ValueError(
                f"`thresholds` must be None for {type(self).__name__}, got {thresholds!r}."
            )
        if given is not None and self.bins is not None:
            raise ValueError("`thresholds` and `bins` cannot both be given: choose one mode.")
        if given is not None:
            add_confmat_state(self, given)
            return
        self.thresholds = None
        if self.bins is not None:
            add_binned_states(self, "ranking", self.bins)
            return
        self.add_state("preds", default=[], dist_reduce_fx="cat")
        self.add_state("target", default=[], dist_reduce_fx="cat")

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Append a batch of scores and 0/1 labels (any matching shapes; flattened)."""
        p, t = as_scores_and_labels(preds, target, ignore_index=self.ignore_index)
        if self.thresholds is not None:
            update_confmat(self, p, t)
            return
        if self.bins is not None:
            update_binned(self, "ranking", self.bins, p, t)
            return
        self.preds.append(p)
        self.target.append(t)

    def _finalise_binned(self, finalise: Any) -> Any:
        """Finalise the histogram state; keep the certified bound in ``error_bound``."""
        value, bound = finalise(histogram_of(self, "ranking"))
        self.error_bound = to_result(bound, self.device)
        return value

    def _arrays(self) -> tuple[Any, Any]:
        return state_to_numpy(self.preds), state_to_numpy(self.target)

    def _batches(self) -> tuple[list[Any], list[Any]]:
        """Scores and labels as lists of per-update arrays (see ``state_pairs``)."""
        return state_pairs(self.preds, self.target)
