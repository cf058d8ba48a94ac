"""Shared pieces of the strategies: the guarded hypothesis import, settings, argument checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

try:
    from hypothesis import HealthCheck, settings
    from hypothesis import strategies as st  # noqa: F401 (re-exported to the strategy modules)
except ImportError as error:  # pragma: no cover - exercised in a subprocess without hypothesis
    raise ImportError(
        "anomaly_metrics.testing's strategies need hypothesis: "
        'pip install "anomaly-metrics[testing]"'
    ) from error


#: Settings for a property test that runs in a few seconds with the default strategy sizes:
#: 40 examples, no deadline (the first call of a compiled implementation is slow), and the
#: health checks about slow data generation off. Use as a decorator above ``@given``. Also
#: registered as the profile ``"anomaly-metrics-fast"`` (``settings.load_profile(...)``).
fast_settings = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large),
)
settings.register_profile("anomaly-metrics-fast", fast_settings)


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"`{name}` must be an integer >= {low}, got {value!r}.")


def _check_range(low_name: str, low: int, high_name: str, high: int, floor: int) -> None:
    _check_int(low_name, low, floor)
    _check_int(high_name, high, floor)
    if high < low:
        raise ValueError(f"`{high_name}` must be >= `{low_name}` ({low}), got {high}.")


def _check_choices(name: str, values: Sequence[Any], allowed: Sequence[Any]) -> tuple[Any, ...]:
    values = tuple(values)
    if not values or any(v not in allowed for v in values):
        raise ValueError(f"`{name}` must be a non-empty subset of {allowed}, got {values}.")
    return values


def _check_dtypes(name: str, dtypes: Sequence[Any], allowed: Sequence[Any]) -> tuple[Any, ...]:
    try:
        values = tuple(np.dtype(d).type for d in dtypes)
    except TypeError as error:
        raise ValueError(f"`{name}` must be NumPy dtypes, got {dtypes!r}.") from error
    return _check_choices(name, values, allowed)
