"""What the protocol runners (:mod:`.protocols`, :mod:`.protocol_loco`) share: the options of
``evaluate --protocol``, the per-run context (reporting, loading, guarded computing) and the
row helpers."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .benchmark_layouts import DEFAULT_GROUP_PATTERN
from .datasets import CategorySpec, Problem
from .readers import LoadedCategory, ReadError, load_category

__all__ = ["Context", "ProtocolOptions", "Rows", "counts", "image_labels"]


@dataclass
class ProtocolOptions:
    """The options of ``evaluate --protocol`` besides the two folders."""

    categories: Sequence[str] | None = None
    resize: str | None = None
    threshold_rule: str | None = None
    threshold_param: float | None = None
    validation: Path | None = None
    binarized: Path | None = None
    segf1_average: str = "pooled"
    group_pattern: str = DEFAULT_GROUP_PATTERN
    split: str = "test_public"
    split_csv: Path | None = None
    workers: int | None = None
    progress: bool = True
    skip_invalid: bool = False


Rows = dict[str, dict[str, Any]]  # subset ("" if none) -> {num_images, num_anomalous, metrics}


@dataclass
class Context:
    """What a protocol function needs: the options and the reporter (:mod:`.protocol_output`)."""

    options: ProtocolOptions
    report: Any
    notes: dict[str, Any] = field(default_factory=dict)  # per-category extras for the output

    def problems(self, problems: Sequence[Problem]) -> None:
        for p in problems:
            self.report.problem(p)

    def blocked(self) -> bool:
        """True once a problem stops the evaluation (all files are still read and checked)."""
        return bool(self.report.problems) and not self.options.skip_invalid

    def load(self, spec: CategorySpec, **kwargs: Any) -> LoadedCategory | None:
        if not spec.entries:
            return None
        o = self.options
        cat, bad = load_category(
            spec, workers=o.workers, progress=o.progress, resize=o.resize, **kwargs
        )
        self.problems(bad)
        return None if cat is None or self.blocked() else cat

    def compute(self, name: str, fn: Callable[[], Rows]) -> Rows | None:
        """Run `fn`, its warnings reported as lines naming the category, its errors as problems."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                rows = fn()
            except (ValueError, TypeError, ReadError) as err:
                self.report.problem(Problem(name, str(err)))
                return None
        for w in caught:
            self.report.warning(name, str(w.message))
        return rows


def image_labels(masks: NDArray[np.bool_]) -> NDArray[np.bool_]:
    return masks.reshape(masks.shape[0], -1).any(axis=1)


def counts(labels: NDArray[np.bool_]) -> dict[str, int]:
    return {"num_images": int(labels.size), "num_anomalous": int(labels.sum())}
