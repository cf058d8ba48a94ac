"""The layering rules of the code base, checked on the source (no module is imported here)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "anomaly_metrics"
ADAPTER = ROOT / "adapters" / "anomaly_metrics_torch"
MAX_LINES = 600


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> list[tuple[str, str | None, int]]:
    """``(module, name, line)`` for every import in the file (``name`` None for ``import x``)."""
    out: list[tuple[str, str | None, int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out += [(node.module, a.name, node.lineno) for a in node.names]
    return out


def _private_core_uses(path: Path) -> list[str]:
    """Private names of the core that a file imports or reaches through an alias."""
    tree = ast.parse(path.read_text(), str(path))
    found, aliases = [], set()
    for module, name, line in _imports(path):
        parts = module.split(".")
        if parts[0] != "anomaly_metrics":
            continue
        if any(p.startswith("_") for p in parts[1:]) or (name or "").startswith("_"):
            found.append(f"{path.name}:{line}: {module} {name or ''}".strip())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name == "anomaly_metrics"}
        elif isinstance(node, ast.ImportFrom) and node.module == "anomaly_metrics":
            aliases |= {a.asname or a.name for a in node.names if not a.name.startswith("_")}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{path.name}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_adapter_uses_only_public_core_names():
    used = [u for p in _modules(ADAPTER) for u in _private_core_uses(p)]
    assert used == [], "the adapter must use the core's public names only: " + "; ".join(used)


def test_private_core_use_is_detected(tmp_path):
    # the check above can fail: a file that reaches into the core is reported
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import anomaly_metrics as am\n"
        "from anomaly_metrics._pro import _aupro_batches\n"
        "from anomaly_metrics import batched\n"
        "x = am._counts\n"
    )
    assert len(_private_core_uses(bad)) == 2


@pytest.mark.parametrize("path", _modules(CORE), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_is_readable_in_one_sitting(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines (at most {MAX_LINES})"


@pytest.mark.parametrize("path", _modules(CORE), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_never_imports_torch_or_the_adapter(path):
    banned = ("torch", "torchmetrics", "lightning", "anomaly_metrics_torch")
    bad = [f"{m}:{line}" for m, _, line in _imports(path) if m.split(".")[0] in banned]
    assert bad == []
    assert "adapters" + "/" not in path.read_text()  # no path into the adapter's folder


FILE_PARSING = ("argparse", "json", "csv", "PIL", "tifffile", "glob", "tqdm")


@pytest.mark.parametrize(
    "path",
    [p for p in _modules(CORE) if "cli" not in p.relative_to(CORE).parts],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_only_the_cli_reads_files(path):
    bad = [f"{m}:{line}" for m, _, line in _imports(path) if m.split(".")[0] in FILE_PARSING]
    assert bad == [], f"file parsing belongs in anomaly_metrics/cli/, found {bad}"
