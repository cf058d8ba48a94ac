"""Compare anomaly_metrics_torch with anomalib 2.7.0's metrics on random batches (``make parity``).

Runs in an environment that has anomalib 2.7.0 installed (``make parity`` builds one in
``.venv-parity``); it is not part of the test-suite. Both libraries get the same batches (scores
and maps in [0, 1], so anomalib's per-batch sigmoid never triggers; values on a 1/1024 grid, so
ties occur), every metric is computed by both, and the largest difference per metric is
reported, split into "same" (within the tolerance of anomalib's float32 arithmetic) and
"differs". A difference is expected only where the design says so; each is explained in the
printed table:

- F1Score / PRO binarise with ``score >= threshold`` (anomalib: ``>``): they differ when a score
  equals the threshold; trials are run once with scores that avoid the threshold (must agree)
  and once on the grid that contains it (may differ).
- AUPRO: anomalib accumulates in float32, so the gap grows with the pixel count (about 1e-7
  on these small maps; the tolerance allows 1e-4).

The mirrored functional helpers (``pimo.functional``, ``pimo.binary_classification_curve``,
``pimo.utils``, ``binning``, ``pro.pro_score``) and the ``thresholds=`` mode of AUROC, AUPR,
F1AdaptiveThreshold and BinaryPrecisionRecallCurve are compared the same way, on the same
random maps (rows "fn ..." and "thresholds=..."); AUPIMOResult's threshold bounds too.

Usage: ``python adapters/parity/parity.py [--trials N] [--seed S] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from types import SimpleNamespace
from typing import Any

TOLERANCE = {"AUPRO": 1e-4, "AUPIMO": 1e-6, "default": 2e-6}
# differences the design intends (DESIGN.md, deliberate differences)
EXPECTED = {
    "F1Score score@0.5 (grid)": "score >= threshold here, > in anomalib",
    "PRO map@0.5 (grid)": "score >= threshold here, > in anomalib",
}


def _batches(rng: Any, torch: Any, *, avoid: float | None) -> list[SimpleNamespace]:
    """3-5 batches of 2-6 images (12x16 maps, rectangles as defects, some normal images)."""
    out = []
    for _ in range(int(rng.integers(3, 6))):
        b = int(rng.integers(2, 7))
        maps = rng.integers(0, 1024, (b, 12, 16)) / 1024.0
        masks = rng.random(b) < 0.6
        gt_mask = torch.zeros((b, 12, 16), dtype=torch.bool)
        for i in range(b):
            if masks[i]:
                r, c = rng.integers(0, 9), rng.integers(0, 12)
                gt_mask[i, r : r + int(rng.integers(1, 4)), c : c + int(rng.integers(1, 5))] = True
        maps = torch.tensor(maps, dtype=torch.float32)
        maps[gt_mask] = (maps[gt_mask] + 0.35).clamp(max=1.0)
        if avoid is not None:  # keep every value off the threshold
            maps[maps == avoid] = avoid + 1 / 2048
        else:  # put some defect pixels exactly on the 0.5 threshold
            maps[gt_mask & torch.tensor(rng.random((b, 12, 16)) < 0.3)] = 0.5
        score = maps.amax(dim=(1, 2))
        if avoid is None:  # and some image scores
            score[torch.tensor(rng.random(b) < 0.3)] = 0.5
        out.append(
            SimpleNamespace(
                pred_score=score,
                gt_label=gt_mask.flatten(1).any(1),
                anomaly_map=maps,
                gt_mask=gt_mask,
                pred_label=score >= 0.75,
                pred_mask=maps >= 0.75,
            )
        )
    return out


def _metric_pairs(ours: Any, theirs: Any) -> list[tuple[str, Any, Any, str]]:
    """(name, our instance, anomalib's instance, how to read the result)."""
    img = ["pred_score", "gt_label"]
    pix = ["anomaly_map", "gt_mask"]

    def both(cls: str, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        return getattr(ours, cls)(*args, **kwargs), getattr(theirs, cls)(*args, **kwargs)

    pairs = [
        ("AUROC image", *both("AUROC", fields=img), "value"),
        ("AUROC pixel", *both("AUROC", fields=pix), "value"),
        ("AUPR image", *both("AUPR", fields=img), "value"),
        ("AUPR pixel", *both("AUPR", fields=pix), "value"),
        ("F1Score pred_label", *both("F1Score", fields=["pred_label", "gt_label"]), "value"),
        ("F1Score score@0.5", *both("F1Score", fields=img), "value"),
        ("F1Max image", *both("F1Max", fields=img), "f1max"),
        ("F1Max pixel", *both("F1Max", fields=pix), "f1max"),
        ("F1AdaptiveThreshold", *both("F1AdaptiveThreshold", fields=img), "value"),
        ("PGn", *both("PGn", fnr=0.2), "value"),
        ("PBn", *both("PBn", fpr=0.2), "value"),
        ("MinMax", *both("MinMax", fields=["anomaly_map"]), "value"),
        ("AUPRO 0.3", *both("AUPRO", fields=pix, fpr_limit=0.3), "value"),
        ("AUPRO 1.0", *both("AUPRO", fields=pix, fpr_limit=1.0), "value"),
        ("PRO pred_mask", *both("PRO", fields=["pred_mask", "gt_mask"]), "value"),
        ("PRO map@0.5", *both("PRO", fields=pix, threshold=0.5), "value"),
        ("PIMO", *both("PIMO", num_thresholds=2000), "pimo"),
        (
            "AUPIMO",
            *both("AUPIMO", num_thresholds=20000, fpr_bounds=(1e-2, 1e-1), force=True),
            "value",
        ),
        (
            "AUPIMOResult",
            *both(
                "AUPIMO",
                num_thresholds=20000,
                fpr_bounds=(1e-2, 1e-1),
                force=True,
                return_average=False,
            ),
            "aupimo-result",
        ),
    ]
    return pairs + _threshold_pairs(ours, theirs)


def _functional_pairs(batches: list[SimpleNamespace]) -> list[tuple[str, Any, Any]]:
    """(name, our zero-argument call, anomalib's) for the functional helpers on `batches`."""
    import torch
    from anomalib.metrics import binning as their_binning
    from anomalib.metrics import pro as their_pro
    from anomalib.metrics.pimo import binary_classification_curve as their_bcc
    from anomalib.metrics.pimo import functional as their_fn
    from anomalib.metrics.pimo import utils as their_utils
    from anomalib.utils.cv import connected_components_cpu

    from anomaly_metrics_torch import binning as our_binning
    from anomaly_metrics_torch import pro as our_pro
    from anomaly_metrics_torch.pimo import binary_classification_curve as our_bcc
    from anomaly_metrics_torch.pimo import functional as our_fn
    from anomaly_metrics_torch.pimo import utils as our_utils

    maps = torch.cat([b.anomaly_map for b in batches])
    masks = torch.cat([b.gt_mask for b in batches])
    flat_maps, flat_masks = maps.reshape(maps.shape[0], -1), masks.reshape(masks.shape[0], -1)
    thresholds = torch.linspace(0.05, 0.95, 19)
    comps = connected_components_cpu(masks.unsqueeze(1).float()).squeeze(1)
    binary = maps > 0.5 + 1 / 4096  # bool predictions: no threshold question

    def both(name: str, ours: Any, theirs: Any) -> tuple[str, Any, Any]:
        return (name, ours, theirs)

    return [
        both(
            "fn pimo_curves",
            lambda: our_fn.pimo_curves(maps, masks, 500)[:3],
            lambda: their_fn.pimo_curves(maps, masks, 500)[:3],
        ),
        both(
            "fn aupimo_scores",
            lambda: our_fn.aupimo_scores(maps, masks, 5000, (1e-2, 1e-1), True)[4:],
            lambda: their_fn.aupimo_scores(maps, masks, 5000, (1e-2, 1e-1), True)[4:],
        ),
        both(
            "fn binary_classification_curve",
            lambda: our_bcc.binary_classification_curve(flat_maps, flat_masks, thresholds),
            lambda: their_bcc.binary_classification_curve(flat_maps, flat_masks, thresholds),
        ),
        both(
            "fn threshold_and_binclf_curve",
            lambda: our_bcc.threshold_and_binary_classification_curve(
                maps, masks, num_thresholds=50
            ),
            lambda: their_bcc.threshold_and_binary_classification_curve(
                maps, masks, num_thresholds=50
            ),
        ),
        both(
            "fn per_image_tpr/fpr",
            lambda: _rates(
                our_bcc, our_bcc.binary_classification_curve(flat_maps, flat_masks, thresholds)
            ),
            lambda: _rates(
                their_bcc, their_bcc.binary_classification_curve(flat_maps, flat_masks, thresholds)
            ),
        ),
        both(
            "fn thresh_at_shared_fpr_level",
            lambda: _thresh_at(our_fn, their_fn, maps, masks, our=True),
            lambda: _thresh_at(our_fn, their_fn, maps, masks, our=False),
        ),
        both(
            "fn aupimo_normalizing_factor",
            lambda: our_fn.aupimo_normalizing_factor((1e-3, 0.3)),
            lambda: their_fn.aupimo_normalizing_factor((1e-3, 0.3)),
        ),
        both(
            "fn images_classes_from_masks",
            lambda: our_utils.images_classes_from_masks(masks),
            lambda: their_utils.images_classes_from_masks(masks),
        ),
        both(
            "fn thresholds_between_min_and_max",
            lambda: our_binning.thresholds_between_min_and_max(maps, 33),
            lambda: their_binning.thresholds_between_min_and_max(maps, 33),
        ),
        both(
            "fn thresholds_between_0_and_1",
            lambda: our_binning.thresholds_between_0_and_1(17),
            lambda: their_binning.thresholds_between_0_and_1(17),
        ),
        both(
            "fn pro_score (bool predictions)",
            lambda: our_pro.pro_score(binary, comps),
            lambda: their_pro.pro_score(binary, comps),
        ),
    ]


def _rates(module: Any, curves: Any) -> Any:
    return module.per_image_tpr(curves), module.per_image_fpr(curves)


def _thresh_at(our_fn: Any, their_fn: Any, maps: Any, masks: Any, *, our: bool) -> Any:
    """The point nearest three shared-FPR levels, on anomalib's curve (same input for both)."""
    thresholds, shared_fpr, _, _ = their_fn.pimo_curves(maps, masks, 300)
    fn = our_fn if our else their_fn
    return [fn.thresh_at_shared_fpr_level(thresholds, shared_fpr, level) for level in (0.3, 0.05)]


def _flat(value: Any) -> list[float]:
    """Every number in a (nested) result, in order."""
    import torch

    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flat(v)]
    return [float(x) for x in torch.as_tensor(value).reshape(-1).tolist()]


def _threshold_pairs(ours: Any, theirs: Any) -> list[tuple[str, Any, Any, str]]:
    """The classes in torchmetrics' fixed-threshold mode (scores in [0, 1]: no sigmoid)."""
    img = ["pred_score", "gt_label"]
    out = []
    for label, thresholds in (("11", 11), ("list", [0.0, 0.3, 0.5, 0.6, 0.95])):
        for cls in ("AUROC", "AUPR", "F1AdaptiveThreshold"):
            out.append(
                (
                    f"thresholds={label} {cls}",
                    getattr(ours, cls)(fields=img, thresholds=thresholds),
                    getattr(theirs, cls)(fields=img, thresholds=thresholds),
                    "value",
                )
            )
    return out


def _read(kind: str, result: Any, metric: Any) -> list[float]:
    import torch

    if kind == "f1max":
        thr = metric.threshold
        thr = float(thr) if not isinstance(thr, torch.Tensor) else float(thr.reshape(-1)[0])
        return [float(result), thr]
    if kind == "aupimo-result":
        _, aupimo = result
        return [*aupimo.thresh_bounds, *aupimo.fpr_bounds, *aupimo.aupimos.tolist()]
    if kind == "pimo":
        fields = [result.thresholds, result.shared_fpr, result.per_image_tprs]
        return [float(x) for f in fields for x in f.reshape(-1).tolist()]
    return [float(x) for x in torch.as_tensor(result).reshape(-1).tolist()]


def _diff(a: list[float], b: list[float]) -> float:
    if len(a) != len(b):
        return math.inf
    worst = 0.0
    for x, y in zip(a, b):
        if math.isnan(x) and math.isnan(y):
            continue
        worst = max(worst, abs(x - y) if not (math.isnan(x) or math.isnan(y)) else math.inf)
    return worst


def run(trials: int, seed: int) -> dict[str, Any]:
    """Max |ours - anomalib| per metric over `trials` random datasets (twice: grid / off-grid)."""
    import numpy as np
    import torch
    from anomalib import metrics as theirs

    import anomaly_metrics_torch as ours

    rng = np.random.default_rng(seed)
    report: dict[str, dict[str, Any]] = {}
    for trial in range(trials):
        for avoid in (0.5, None):
            batches = _batches(rng, torch, avoid=avoid)
            for name, mine, anomalib_metric, kind in _metric_pairs(ours, theirs):
                key = f"{name} ({'off-threshold' if avoid is not None else 'grid'})"
                entry = report.setdefault(key, {"max_abs_diff": 0.0, "errors": [], "n": 0})
                values = []
                for metric in (mine, anomalib_metric):
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            for batch in batches:
                                metric.update(batch)
                            values.append(_read(kind, metric.compute(), metric))
                    except Exception as err:  # reported, not hidden
                        values.append(type(err).__name__)
                entry["n"] += 1
                if any(isinstance(v, str) for v in values):
                    # both raising the same exception type (e.g. no normal image) agrees
                    if values[0] != values[1]:
                        entry["errors"].append(
                            f"trial {trial}: ours {str(values[0])[:60]}, "
                            f"anomalib {str(values[1])[:60]}"
                        )
                    continue
                entry["max_abs_diff"] = max(entry["max_abs_diff"], _diff(values[0], values[1]))
            for (
                name,
                mine,
                anomalib_call,
            ) in _functional_pairs(batches):
                key = f"{name} ({'off-threshold' if avoid is not None else 'grid'})"
                entry = report.setdefault(key, {"max_abs_diff": 0.0, "errors": [], "n": 0})
                values = []
                for call in (mine, anomalib_call):
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            values.append(_flat(call()))
                    except Exception as err:  # reported, not hidden
                        values.append(type(err).__name__)
                entry["n"] += 1
                if any(isinstance(v, str) for v in values):
                    if values[0] != values[1]:
                        entry["errors"].append(
                            f"trial {trial}: ours {str(values[0])[:60]}, "
                            f"anomalib {str(values[1])[:60]}"
                        )
                    continue
                entry["max_abs_diff"] = max(entry["max_abs_diff"], _diff(values[0], values[1]))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the report here")
    args = parser.parse_args(argv)
    report = run(args.trials, args.seed)
    width = max(len(k) for k in report)
    print(f"{'metric':{width}}  {'n':>3}  {'max |ours - anomalib|':>22}  verdict")
    for key, entry in report.items():
        tol = TOLERANCE.get(key.split()[0], TOLERANCE["default"])
        same = entry["max_abs_diff"] <= tol and not entry["errors"]
        entry["verdict"] = "same" if same else "differs"
        if not same and key in EXPECTED:
            entry["verdict"] = f"differs as designed: {EXPECTED[key]}"
        print(f"{key:{width}}  {entry['n']:>3}  {entry['max_abs_diff']:>22.3g}  {entry['verdict']}")
        for line in entry["errors"][:3]:
            print(f"{'':{width}}       {line}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    unexplained = [k for k, e in report.items() if e["verdict"] == "differs"]
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
