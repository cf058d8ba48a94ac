"""Suite-wide settings.

The core's private ``*_batches`` paths (used by the torch classes) concatenate batches that
hold fewer than ``_validation._CONCATENATE_BELOW`` values in all, where one copy is cheaper
than a call per batch. The test inputs are small, so the threshold is set to 0 here: every
batched test then exercises the per-batch path. ``test_small_batches_are_concatenated`` (in
``test_ranking.py``) restores it to cover the concatenating path.
"""

import pytest

from anomaly_metrics import _validation


@pytest.fixture(autouse=True, scope="session")
def _per_batch_paths():
    saved = _validation._CONCATENATE_BELOW
    _validation._CONCATENATE_BELOW = 0
    yield
    _validation._CONCATENATE_BELOW = saved
