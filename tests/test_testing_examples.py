"""What ``anomaly_metrics.testing`` is for, run as tests: other implementations against the oracles.

- scikit-learn's ``roc_auc_score`` and torchmetrics' ``BinaryAUROC`` (updated batch by batch)
  pass the AUROC property;
- two AU-PRO implementations with a planted bug (``>`` instead of ``>=``; dividing by the last
  FPR reached instead of the limit, the old anomalib normalisation) fail it, and hypothesis
  shrinks each failure to a two-pixel counterexample, printed in the test output (``-s`` or
  ``-rP`` shows it).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from sklearn.metrics import roc_auc_score
from torchmetrics.classification import BinaryAUROC

import anomaly_metrics_torch as amt
from anomaly_metrics.testing import (
    assert_metric_close,
    batches,
    fast_settings,
    maps_and_masks,
    reference_aupro,
    reference_auroc,
    reference_labels,
    scores_and_labels,
)

# torchmetrics treats scores outside [0, 1] as logits (a sigmoid per update): keep them inside.
PROBABILITIES = scores_and_labels(
    both_classes=True, max_size=120, unit_interval=True, dtypes=(np.float32,)
)


@fast_settings
@given(PROBABILITIES)
def test_scikit_learn_roc_auc_score_matches_the_oracle(problem):
    scores, labels = problem
    assert_metric_close(
        roc_auc_score(labels, scores), reference_auroc(scores, labels), atol=1e-6, name="AUROC"
    )


@fast_settings
@given(batches(PROBABILITIES, max_batches=4))
def test_torchmetrics_binary_auroc_matches_the_oracle_batch_by_batch(split):
    scores, labels = split.whole
    metric = BinaryAUROC()
    for batch_scores, batch_labels in split.batches:
        metric.update(
            torch.from_numpy(batch_scores), torch.from_numpy(batch_labels.astype(np.int64))
        )
    assert_metric_close(metric.compute(), reference_auroc(scores, labels), atol=1e-6, name="AUROC")


# Defined AU-PRO problems: at least one region and one background pixel.
AUPRO_PROBLEMS = maps_and_masks(
    max_images=3, max_side=8, require_anomalous=True, require_background=True
)


@fast_settings
@given(
    batches(
        maps_and_masks(
            max_images=5,
            max_side=8,
            dtypes=(np.float32, np.float64),
            require_anomalous=True,
            require_background=True,
        )
    )
)
def test_our_torch_aupro_matches_the_oracle_batch_by_batch(split):
    maps, masks = split.whole
    metric = amt.AUPRO(fields=["anomaly_map", "gt_mask"], fpr_limit=0.3)
    for batch_maps, batch_masks in split.batches:
        metric.update(
            {"anomaly_map": torch.from_numpy(batch_maps), "gt_mask": torch.from_numpy(batch_masks)}
        )
    with amt.result_dtype(torch.float64):  # every digit (the drop-in default is float32)
        value = metric.compute()
    assert_metric_close(value, reference_aupro(maps, masks, 0.3), atol=1e-9, name="AU-PRO")


def aupro_under_test(maps, masks, fpr_limit=0.3, *, strict=False, divide_by_reached=False):
    """An AU-PRO written threshold by threshold, with two bugs that can be switched on.

    ``strict``: a pixel is positive iff ``score > t`` (the curve loses its point at the lowest
    score). ``divide_by_reached``: no interpolation at the limit, and the area is divided by the
    last FPR reached below it instead of the limit.
    """
    maps = np.asarray(maps, np.float64)
    labels = reference_labels(masks)
    regions = [labels == k for k in range(1, int(labels.max()) + 1)]
    background = labels == 0
    fpr, pro = [0.0], [0.0]
    for t in np.unique(maps)[::-1]:
        above = maps > t if strict else maps >= t
        fpr.append(np.count_nonzero(above & background) / np.count_nonzero(background))
        pro.append(np.mean([np.count_nonzero(above & r) / np.count_nonzero(r) for r in regions]))
    fpr, pro = np.array(fpr), np.array(pro)
    inside = fpr <= fpr_limit
    x, y = fpr[inside], pro[inside]
    if divide_by_reached:
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(np.trapezoid(y, x) / x[-1])
    if not inside.all():  # the segment that crosses the limit, cut there
        j = int(np.argmin(inside))
        y_cut = pro[j - 1] + (pro[j] - pro[j - 1]) * (fpr_limit - fpr[j - 1]) / (
            fpr[j] - fpr[j - 1]
        )
        x, y = np.append(x, fpr_limit), np.append(y, y_cut)
    return float(np.trapezoid(y, x) / fpr_limit)


def run_aupro_property(candidate, failures, **bug):
    """Run the AU-PRO property on `candidate`, appending each failing example to `failures`.

    Derandomized (a fixed seed) and without the example database, so the run is the same
    everywhere. On a failure hypothesis shrinks it and replays the minimal example last.
    """

    @settings(
        derandomize=True,
        database=None,
        max_examples=200,
        deadline=None,
        suppress_health_check=(HealthCheck.too_slow,),
    )
    @given(AUPRO_PROBLEMS)
    def aupro_matches_the_oracle(problem):
        maps, masks = problem
        try:
            assert_metric_close(
                candidate(maps, masks, 0.3, **bug), reference_aupro(maps, masks, 0.3), name="AU-PRO"
            )
        except AssertionError:
            failures.append(problem)
            raise

    aupro_matches_the_oracle()


def test_the_aupro_under_test_without_a_bug_passes():
    failures = []
    run_aupro_property(aupro_under_test, failures)
    assert failures == []


@pytest.mark.parametrize("bug", ["strict", "divide_by_reached"])
def test_a_planted_aupro_bug_is_caught_with_a_small_counterexample(bug):
    failures = []
    with pytest.raises(AssertionError) as caught:
        run_aupro_property(aupro_under_test, failures, **{bug: True})
    assert "aupro_matches_the_oracle(" in "\n".join(getattr(caught.value, "__notes__", []))
    maps, masks = failures[-1]  # the shrunk example, replayed last
    print(f"\n{bug}: {caught.value}\nshrunk counterexample:\nmaps={maps!r}\nmasks={masks!r}")
    assert maps.shape[0] == 1 and maps.size <= 4


def test_the_readme_example_runs():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Verify your own implementation", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(code, namespace)
    namespace["test_my_aupro"]()
