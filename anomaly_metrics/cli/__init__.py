"""The ``anomaly-metrics`` command line (also ``python -m anomaly_metrics``).

``anomaly-metrics evaluate --anomaly-maps DIR --ground-truth DIR [...]``
    evaluates a folder of anomaly maps against ground-truth masks (MVTec AD layout or a flat
    folder), category by category, prints an aligned table with a mean row and writes JSON / CSV
    and plots (:mod:`.evaluate`).
``anomaly-metrics evaluate --protocol NAME ...``
    the official table of a benchmark (``mvtec-ad``, ``mvtec-3d``, ``mvtec-loco``,
    ``mvtec-ad2``, ``visa``, ``real-iad``) from its folder layout (:mod:`.protocols`,
    :mod:`.benchmark_layouts`, :mod:`.protocol_output`); ``--resize-maps`` upsamples maps to
    the mask size (:mod:`.resize`).
``anomaly-metrics demo [--out DIR] [--protocol NAME]``
    writes a small synthetic set (MVTec AD layout, or the protocol's) and evaluates it through
    the same path (:mod:`.demo`, :mod:`.demo_protocols`).
``anomaly-metrics compare RESULT.json RESULT.json [...]``
    compares models on the per-image values of result files written by ``evaluate --per-image``:
    paired tests, Holm-corrected (:mod:`.compare`).

Dataset layouts live in :mod:`.datasets` (one function per layout), file reading and threaded
loading in :mod:`.readers`, argument parsing in :mod:`.parser`. This package is the only part of
``anomaly_metrics`` that touches files. A user's mistake (a missing, unreadable or inconsistent
file) is reported as one line per problem naming the file, with exit status 1, never a
traceback; ``--skip-invalid`` reports the problems as warnings and evaluates what is left. Usage
errors exit with status 2.
"""

from .parser import main

__all__ = ["main"]
