"""The library's warning category and the helpers that emit warnings at the caller's line."""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["UndefinedMetricWarning", "warn_advice", "warn_undefined"]

# Frames of these packages are skipped too: a torch adapter's compute() is called through
# torchmetrics' wrappers, and the warning should still name the user's line.
_WRAPPER_PARTS = tuple(f"{os.sep}{name}{os.sep}" for name in ("torchmetrics", "torch"))

_PACKAGE_DIRS = (
    os.path.dirname(os.path.abspath(__file__)),
    # the torch adapter reports through the core too; skip its frames as well
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "adapters"),
)


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined for the data given (e.g. one class only); its value is ``nan``.

    Examples
    --------
    >>> import warnings
    >>> import anomaly_metrics as am
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     value = am.auroc([0.1, 0.9], [0, 0])
    >>> value
    nan
    >>> caught[0].category.__name__
    'UndefinedMetricWarning'
    """


def _stacklevel() -> int:
    """Stack level of the first frame outside this library (so the warning names the user's line)."""
    level = 1
    frame = sys._getframe(1)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        inside = filename.startswith(_PACKAGE_DIRS) or "anomaly_metrics_torch" in filename
        if not inside and not any(part in filename for part in _WRAPPER_PARTS):
            return level
        frame = frame.f_back
        level += 1
    return 1


def warn_undefined(message: str) -> None:
    """Emit :class:`UndefinedMetricWarning` pointing at the first caller outside the library."""
    warnings.warn(message, UndefinedMetricWarning, stacklevel=_stacklevel())


def warn_advice(message: str) -> None:
    """Emit a plain ``UserWarning`` (advice on a defined result) at the first caller outside."""
    warnings.warn(message, UserWarning, stacklevel=_stacklevel())
