"""Benchmark suite of anomaly-metrics: every metric against its peers and the ``np.sort`` floor.

Run ``python -m bench --help``. Modules: :mod:`bench.data` (synthetic MVTec-like sets),
:mod:`bench.reference` (plain reference implementations used as peers), :mod:`bench.entries`
(what is measured), :mod:`bench.worker` (one measurement in a fresh process), :mod:`bench.runner`
(the suite) and :mod:`bench.report` (markdown and the README section).
"""
