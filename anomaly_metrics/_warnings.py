"""The library's warning category and the helpers that emit warnings at the caller's line."""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["UndefinedMetricWarning", "register_wrapper_dirs", "warn_advice", "warn_undefined"]

# Frames from these directories are the library's own: the warning names the first frame
# outside them. Adapters add theirs (and those of the frameworks they are called through) with
# `register_wrapper_dirs`; the core knows no adapter.
_LIBRARY_DIRS: list[str] = [os.path.dirname(os.path.abspath(__file__)) + os.sep]


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


def register_wrapper_dirs(*directories: str) -> None:
    """Treat frames from `directories` as the library's own when a warning looks for its caller.

    An adapter that calls the core (and the frameworks it is called through, such as a metric
    base class that wraps ``compute``) registers its directories once, at import, so that an
    :class:`UndefinedMetricWarning` still names the user's line. Registering a directory twice
    has no effect.

    Parameters
    ----------
    *directories : str
        Package directories (a module's ``os.path.dirname(__file__)``).

    Examples
    --------
    >>> import os, anomaly_metrics as am
    >>> am.register_wrapper_dirs(os.path.dirname(am.__file__))
    """
    for d in directories:
        path = os.path.join(os.path.abspath(d), "")
        if path not in _LIBRARY_DIRS:
            _LIBRARY_DIRS.append(path)


def _stacklevel() -> int:
    """Stack level of the first frame outside the library (so the warning names the user's line)."""
    level = 1
    frame = sys._getframe(1)
    dirs = tuple(_LIBRARY_DIRS)
    while frame is not None:
        if not os.path.abspath(frame.f_code.co_filename).startswith(dirs):
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
