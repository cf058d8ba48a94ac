"""``evaluate --max-memory`` / ``--dask-scheduler``: the in-memory table, read in chunks."""

from __future__ import annotations

import json

import distributed
import pytest
from test_cli import _make_category

from anomaly_metrics.cli import main
from anomaly_metrics.cli.out_of_core import default_max_memory, memory_size


@pytest.fixture
def folders(tmp_path):
    _make_category(
        tmp_path, "alpha", n_good=8, defects=(("crack", 3), ("hole", 2)), size=(64, 64),
        ext=".tiff", seed=1,
    )  # fmt: skip
    return tmp_path


def _run(root, out, *extra):
    argv = [
        "evaluate", "--anomaly-maps", str(root / "maps"), "--ground-truth", str(root / "gt"),
        "--no-progress", "--output", str(out), *extra,
    ]  # fmt: skip
    status = main(argv)
    return status, json.loads(out.read_text())["categories"] if status == 0 else None


def test_chunks_give_the_in_memory_table(folders, capsys):
    status, in_memory = _run(folders, folders / "a.json")
    assert status == 0
    status, chunked = _run(folders, folders / "b.json", "--max-memory", "1K")
    assert status == 0
    assert chunked == in_memory
    assert "alpha" in capsys.readouterr().out


def test_dask_scheduler_gives_the_in_memory_table(folders):
    _, in_memory = _run(folders, folders / "a.json")
    with distributed.LocalCluster(
        n_workers=1, processes=False, threads_per_worker=2, dashboard_address=":0"
    ) as cluster:
        address = cluster.scheduler_address
        status, on_dask = _run(folders, folders / "b.json", "--dask-scheduler", address)
        assert status == 0
        assert on_dask == in_memory
        (folders / "maps" / "alpha" / "test" / "crack" / "001.tiff").write_bytes(b"not a tiff")
        status, _ = _run(folders, folders / "c.json", "--dask-scheduler", address)
        assert status == 1


def test_unreadable_file_is_reported_out_of_core(folders, capsys):
    (folders / "maps" / "alpha" / "test" / "good" / "000.tiff").write_bytes(b"not a tiff")
    status, _ = _run(folders, folders / "b.json", "--max-memory", "1K")
    assert status == 1
    assert "000.tiff" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "size"), [("512", 512), ("2K", 2048), ("1.5G", 3 << 29), ("3MiB", 3 << 20)]
)
def test_memory_sizes(text, size):
    assert memory_size(text) == size


def test_bad_memory_size_is_a_usage_error(folders, capsys):
    assert (
        main(["evaluate", "--anomaly-maps", "x", "--ground-truth", "y", "--max-memory", "lots"])
        == 2
    )
    assert "--max-memory" in capsys.readouterr().err
    assert default_max_memory() > 0
