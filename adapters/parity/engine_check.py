"""An anomalib model trained and tested with our ``Evaluator`` (optional; ``make parity``).

Runs only in an environment with anomalib 2.7.0 (``.venv-parity``); it is not part of the
test-suite (importing this module imports nothing heavy). It writes a tiny synthetic ``Folder``
dataset (grey 64x64 images; anomalous ones carry a bright square, with its mask), builds a
``Padim(pre_trained=False, evaluator=Evaluator(...))`` with our Evaluator and our metrics,
runs ``Engine.fit`` and ``Engine.test`` on the CPU, and checks that:

- anomalib accepted our Evaluator (``isinstance(evaluator, anomalib.metrics.Evaluator)``, so
  the model constructor did not fall back to its default) and the model holds it;
- every test metric of ours was logged under its name with a finite value in [0, 1];
- the same metrics recomputed with anomalib's own classes on the batches the Evaluator saw
  give the same numbers (within float32 rounding).

Usage: ``python adapters/parity/engine_check.py [--root DIR]``; exit status 0 when every check
holds.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

IMAGE_FIELDS = ["pred_score", "gt_label"]
PIXEL_FIELDS = ["anomaly_map", "gt_mask"]


def write_dataset(root: Path, n_good: int = 12, n_bad: int = 6, size: int = 64) -> None:
    """Grey noise images (good/), the same with a bright square (bad/) and its mask."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for sub in ("good", "bad", "mask"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n_good):
        img = (rng.normal(120, 8, (size, size, 3))).clip(0, 255).astype(np.uint8)
        Image.fromarray(img).save(root / "good" / f"{i:03d}.png")
    for i in range(n_bad):
        img = (rng.normal(120, 8, (size, size, 3))).clip(0, 255).astype(np.uint8)
        mask = np.zeros((size, size), np.uint8)
        r, c = rng.integers(8, size - 24, 2)
        img[r : r + 16, c : c + 16] = 250
        mask[r : r + 16, c : c + 16] = 255
        Image.fromarray(img).save(root / "bad" / f"{i:03d}.png")
        Image.fromarray(mask).save(root / "mask" / f"{i:03d}.png")


class _Recorder:
    """Collects the test batches the Evaluator sees (for the recomputation with anomalib)."""

    def __init__(self) -> None:
        self.batches: list[Any] = []


def run(root: Path) -> list[str]:
    """Fit and test Padim with our Evaluator; return the failed checks (empty: all hold)."""
    from anomalib.data import Folder
    from anomalib.engine import Engine
    from anomalib.metrics import AUPRO as TheirAUPRO
    from anomalib.metrics import AUROC as TheirAUROC
    from anomalib.metrics import Evaluator as TheirEvaluator
    from anomalib.metrics import F1Max as TheirF1Max
    from anomalib.models import Padim

    import anomaly_metrics_torch as amt

    write_dataset(root / "data")
    recorder = _Recorder()

    class RecordingEvaluator(amt.Evaluator):
        def on_test_batch_end(
            self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
        ):
            recorder.batches.append(batch)
            super().on_test_batch_end(trainer, pl_module, outputs, batch, batch_idx, dataloader_idx)

    ours = [
        amt.AUROC(fields=IMAGE_FIELDS, prefix="image_"),
        amt.F1Max(fields=IMAGE_FIELDS, prefix="image_"),
        amt.AUROC(fields=PIXEL_FIELDS, prefix="pixel_"),
        amt.AUPRO(fields=PIXEL_FIELDS, prefix="pixel_"),
    ]
    evaluator = RecordingEvaluator(test_metrics=ours)
    failures = []
    if not isinstance(evaluator, TheirEvaluator):
        failures.append("our Evaluator is not an instance of anomalib's")
    datamodule = Folder(
        name="synthetic",
        root=root / "data",
        normal_dir="good",
        abnormal_dir="bad",
        mask_dir="mask",
        train_batch_size=4,
        eval_batch_size=4,
        num_workers=0,
        seed=0,
    )
    model = Padim(pre_trained=False, evaluator=evaluator, visualizer=False)
    if model.evaluator is not evaluator:
        failures.append("Padim did not keep our Evaluator")
    engine = Engine(
        accelerator="cpu",
        devices=1,
        default_root_dir=root / "results",
        logger=False,
        enable_progress_bar=False,
    )
    engine.fit(model=model, datamodule=datamodule)
    results = engine.test(model=model, datamodule=datamodule)[0]
    print("logged:", {k: round(float(v), 6) for k, v in results.items()})
    for metric in ours:
        value = results.get(metric.name)
        if value is None or not (0.0 <= float(value) <= 1.0) or math.isnan(float(value)):
            failures.append(f"{metric.name} not logged as a value in [0, 1]: {value}")
    theirs = {
        "image_AUROC": TheirAUROC(fields=IMAGE_FIELDS, prefix="image_"),
        "image_F1Max": TheirF1Max(fields=IMAGE_FIELDS, prefix="image_"),
        "pixel_AUROC": TheirAUROC(fields=PIXEL_FIELDS, prefix="pixel_"),
        "pixel_AUPRO": TheirAUPRO(fields=PIXEL_FIELDS, prefix="pixel_"),
    }
    tolerance = {"pixel_AUPRO": 1e-4}
    for name, metric in theirs.items():
        for batch in recorder.batches:
            metric.update(batch)
        want = float(metric.compute())
        got = float(results.get(name, math.nan))
        print(f"{name}: ours {got:.7f}, anomalib {want:.7f}")
        if not abs(got - want) <= tolerance.get(name, 2e-6):
            failures.append(f"{name}: ours {got} != anomalib {want}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="working folder (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.root:
        failures = run(Path(args.root))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            failures = run(Path(tmp))
    for line in failures:
        print("FAILED:", line)
    print("engine check:", "ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
