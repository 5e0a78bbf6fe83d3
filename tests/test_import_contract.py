"""The pure core never imports the shell (see docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "outagewatch"
CORE = ("model", "parse", "signals", "enrich", "detect", "report")
SHELL = ("sources", "store", "serve", "engine", "cli", "live", "alerts", "backfill")
FORBIDDEN_STDLIB = ("socket", "urllib.request", "http.client", "sqlite3")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                base = ".".join(path.relative_to(PKG.parent).with_suffix("").parts[: -node.level])
                names.append(f"{base}.{node.module}")
            else:
                names.append(node.module)
    return names


CORE_FILES = sorted(p for pkg in CORE for p in (PKG / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(PKG)))
def test_core_module_imports_no_shell(path: Path) -> None:
    for name in _imports(path):
        for shell in SHELL:
            assert not name.startswith(f"outagewatch.{shell}"), f"{path}: imports {name}"
        for mod in (*FORBIDDEN_STDLIB, "duckdb", "dask", "distributed", "fastapi", "websockets"):
            assert name != mod and not name.startswith(mod + "."), f"{path}: imports {name}"


def test_contract_sees_core_files() -> None:
    assert len(CORE_FILES) >= len(CORE)
