"""The shared base of the pixel-level metrics over anomaly maps and masks (PRO, AUPRO, PIMO).

States are the maps ``(N, H, W)`` in their dtype and the masks ``(N, H, W)`` as bool, both
``"cat"``; connected components, curves and areas are computed by the core. With the opt-in
``bins=`` (AUPRO, AUPIMO) the states are summed histograms instead (see ``_binned``).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ._binned import add_binned_states, check_bins, update_binned
from ._checks import as_maps_and_masks
from ._convert import state_pairs, state_to_numpy
from ._sync import SyncedMetric

__all__ = ["_MapMetric"]


class _MapMetric(SyncedMetric):
    """States ``preds`` (maps, dtype as given) and ``target`` (bool masks), ``(N, H, W)``.

    With ``bins`` (classes with a ``_binned_kind``): the histogram states of that kind instead.
    """

    is_differentiable = False
    higher_is_better: bool | None = True
    full_state_update = False
    _binned_kind: str | None = None
    preds: list[Tensor]
    target: list[Tensor]

    def __init__(self, bins: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bins = check_bins(bins, type(self).__name__, self._binned_kind is not None)
        if self.bins is not None:
            add_binned_states(self, self._binned_kind, self.bins)  # type: ignore[arg-type]
            return
        self.add_state("preds", default=[], dist_reduce_fx="cat")
        self.add_state("target", default=[], dist_reduce_fx="cat")

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Append maps and masks: ``(N, H, W)``, ``(N, 1, H, W)`` or ``(H, W)`` each."""
        maps, masks = as_maps_and_masks(preds, target)
        if self.bins is not None:
            update_binned(self, self._binned_kind, self.bins, maps, masks)  # type: ignore[arg-type]
            return
        self.preds.append(maps)
        self.target.append(masks)

    def _arrays(self) -> tuple[Any, Any]:
        return state_to_numpy(self.preds), state_to_numpy(self.target)

    def _batches(self) -> tuple[list[Any], list[Any]]:
        """Maps and masks as lists of per-update arrays (see ``state_pairs``)."""
        return state_pairs(self.preds, self.target)
