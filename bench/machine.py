"""What a timing depends on: the CPU, NumPy's SIMD dispatch, the threads, the load.

Ratios to ``np.sort`` move with the CPU: NumPy sorts 32- and 64-bit floats with x86-simd-sort's
AVX-512 kernels where the CPU has AVX-512 (Skylake-X level; NumPy >= 1.25) and with its AVX2
kernels elsewhere on x86 (NumPy >= 2.0), several times faster than a scalar sort. Every report
starts with these facts (:func:`machine_info` for the JSON, :func:`header_lines` for the markdown).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
from typing import Any

import numpy as np

__all__ = ["header_lines", "machine_info", "numpy_simd"]

_DISTRIBUTIONS = (
    "anomaly-metrics",
    "numpy",
    "numba",
    "scipy",
    "scikit-learn",
    "torch",
    "torchmetrics",
    "anomalib",
    "adeval",
    "opencv-python",
    "opencv-python-headless",
)
_AVX512_SORT_FEATURES = ("AVX512_SKX", "X86_V4")  # the feature NumPy's AVX-512 sort needs


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _version_tuple(text: str) -> tuple[int, ...]:
    out = []
    for part in text.split(".")[:2]:
        digits = "".join(c for c in part if c.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


def numpy_simd() -> dict[str, Any]:
    """NumPy's version, SIMD baseline / found / not found, and the ``np.sort`` kernel in use."""
    out: dict[str, Any] = {"version": np.__version__}
    try:
        simd = np.show_config(mode="dicts")["SIMD Extensions"]
        out["baseline"] = list(simd.get("baseline", []))
        out["found"] = list(simd.get("found", []))
        out["not_found"] = list(simd.get("not found", simd.get("not_found", [])))
    except Exception:  # an old NumPy: the CPU feature table instead
        from numpy._core._multiarray_umath import __cpu_features__ as features

        out["found"] = sorted(k for k, v in features.items() if v)
        out["not_found"] = sorted(k for k, v in features.items() if not v)
    try:  # the CPU features themselves (a baseline feature is not listed as "found")
        from numpy._core._multiarray_umath import __cpu_features__ as features

        present = {k for k, v in features.items() if v}
    except ImportError:
        present = set(out.get("found", [])) | set(out.get("baseline", []))
    present |= set(out.get("found", [])) | set(out.get("baseline", []))
    avx512 = any(f in present for f in _AVX512_SORT_FEATURES)
    x86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")
    version = _version_tuple(np.__version__)
    if x86 and avx512 and version >= (1, 25):
        sort = "x86-simd-sort AVX-512"
    elif x86 and "AVX2" in present and version >= (2, 0):
        sort = "x86-simd-sort AVX2"
    elif not x86 and version >= (2, 0):
        sort = "Highway VQSort where the CPU allows, else scalar"
    else:
        sort = "scalar"
    out["sort_avx512"] = sort.endswith("AVX-512")
    # NumPy's opt_func_info does not list np.sort: the kernel is inferred from the CPU features
    out["sort_kernel"] = sort
    return out


def _threads() -> dict[str, Any]:
    env = os.environ.get("ANOMALY_METRICS_NUM_THREADS")
    try:
        import anomaly_metrics as am

        library: Any = am.get_num_threads()
    except Exception as exc:  # a bad environment variable: say so rather than fail
        library = f"error: {exc}"
    return {"library": library, "env": env}


def _sorts() -> dict[str, Any]:
    """The sort the library chose in this process for each kind (it times both once)."""
    env = os.environ.get("ANOMALY_METRICS_SORT")
    try:
        from anomaly_metrics._sorting import sort_method

        chosen: dict[str, Any] = {k: sort_method(k) for k in ("float32", "packed")}
    except Exception as exc:  # a bad environment variable: say so rather than fail
        chosen = {"error": str(exc)}
    return {**chosen, "env": env}


def machine_info() -> dict[str, Any]:
    """CPU, SIMD, threads, cores, load, memory, Python and library versions (the JSON header)."""
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "numpy": numpy_simd(),
        "threads": _threads(),
        "sorts": _sorts(),
        "cpu_count": os.cpu_count(),
    }
    try:
        info["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    info["platform"] = platform.platform()
    info["python"] = platform.python_version()
    try:
        with open("/proc/meminfo") as f:
            info["memory_gib"] = round(int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    versions = {}
    for dist in _DISTRIBUTIONS:  # from the installed metadata: no import needed
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    info["versions"] = versions
    return info


def header_lines(m: dict[str, Any]) -> list[str]:
    """The markdown header of a report: one line each for CPU, NumPy SIMD, threads and load."""
    npy = m.get("numpy") or {}
    th = m.get("threads") or {}
    load = m.get("loadavg")
    env = th.get("env")
    sort = npy.get("sort_kernel", "unknown")
    avx = "yes" if npy.get("sort_avx512") else "no"
    sorts = dict(m.get("sorts") or {})
    sort_env = sorts.pop("env", None)
    sorts_text = ", ".join(f"{k} {v}" for k, v in sorts.items()) or "unknown"
    return [
        f"- CPU: {m.get('cpu', 'unknown CPU')}; `os.cpu_count()` {m.get('cpu_count', '?')}",
        f"- NumPy {npy.get('version', '?')} SIMD: baseline {', '.join(npy.get('baseline', [])) or '-'}; "
        f"found {', '.join(npy.get('found', [])) or '-'}; not found "
        f"{', '.join(npy.get('not_found', [])) or '-'}; `np.sort` kernel: {sort} "
        f"(AVX-512 sort dispatched: {avx})",
        f"- Threads: `anomaly_metrics.get_num_threads()` {th.get('library', '?')} "
        f"(`ANOMALY_METRICS_NUM_THREADS` {'=' + env if env else 'not set'})",
        f"- Sorts chosen by the library (timed in the report's process): {sorts_text} "
        f"(`ANOMALY_METRICS_SORT` {'=' + sort_env if sort_env else 'not set'})",
        "- Load average at start: "
        + (" / ".join(f"{x:g}" for x in load) + " (1 / 5 / 15 min)" if load else "unknown"),
    ]
