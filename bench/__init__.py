"""Benchmark suite of anomaly-metrics: every metric against its peers and the ``np.sort`` floor.

Run ``python -m bench --help``. Modules: :mod:`bench.data` (synthetic MVTec-like sets and their
value layouts), :mod:`bench.reference` (plain reference implementations used as peers),
:mod:`bench.sort_merge` (the plain exact sort-each-class-and-merge peer), :mod:`bench.entries`
(what is measured: a table of (metric, implementation) rows), :mod:`bench.builders` (how each row
is built into a callable), :mod:`bench.machine` (CPU, NumPy SIMD, threads: the report header),
:mod:`bench.worker` (one measurement in a fresh process), :mod:`bench.runner` (the suite),
:mod:`bench.report` (markdown) and :mod:`bench.readme` (the README section).
"""
