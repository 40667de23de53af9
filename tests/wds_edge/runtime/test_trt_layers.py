"""Layering inside wds_edge.runtime.tensorrt: no calibration import, no build <-> backend cycle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "wds_edge"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_only_the_cli_imports_calibration() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            n for n in _imports(path) if n.split(".")[0] == "calibration"
        )
        for path in PACKAGE.rglob("*.py")
        if "cli" not in path.relative_to(PACKAGE).parts
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_builder_and_backend_do_not_import_each_other() -> None:
    trt = PACKAGE / "runtime" / "tensorrt"
    ours = "wds_edge.runtime.tensorrt."
    build = {n for n in _imports(trt / "build.py") if n.startswith(ours)}
    backend = {n for n in _imports(trt / "backend.py") if n.startswith(ours)}
    assert build == {ours + m for m in ("cache", "cuda", "int8", "logger", "module", "precision")}
    assert backend == {ours + m for m in ("cache", "cuda", "logger", "module")}
