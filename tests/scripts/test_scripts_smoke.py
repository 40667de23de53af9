"""Every script of ``scripts/`` and ``benchmarks/`` still imports, and its argparse answers
``--help``; every import of the project's own modules in it (those inside functions too,
which ``--help`` never reaches) names a module and a name that exist.

Scripts are run by hand, now and then: an import that rots (a module moved, a name renamed)
went unnoticed until someone ran the script (``bench_fast_path_sizes.py`` imported
``wds_edge.bench.torch_eager`` long after it moved to ``wds_edge_export.eager_baseline``).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from pathlib import Path

import pytest
from repo_scripts import REPO, load_script

#: Files of these folders named ``_*.py`` are helpers the scripts import, not scripts.
SCRIPTS = sorted(
    p.relative_to(REPO)
    for folder in ("scripts", "benchmarks")
    for p in (REPO / folder).glob("*.py")
    if not p.name.startswith("_")
)
PROJECT = ("wds_edge", "wds_edge_train", "wds_edge_export", "wds_edge_calibration")


def test_every_script_is_listed() -> None:
    names = {p.name for p in SCRIPTS}
    assert {"bench_fast_path_sizes.py", "drive_ablation.py", "cpu_limits.py"} <= names
    assert len(SCRIPTS) >= 25


@pytest.mark.parametrize("script", SCRIPTS, ids=str)
def test_help(
    script: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # as `python scripts/x.py` does: the script's folder first on sys.path (restored after)
    monkeypatch.syspath_prepend(str(REPO / script.parent))
    monkeypatch.setattr(sys, "argv", [str(script), "--help"])
    # registered, as `python x.py` is (__main__): dataclasses look their module up there
    monkeypatch.setitem(sys.modules, script.stem, None)  # removed again after the test
    module = load_script(script, register=True)
    with pytest.raises(SystemExit) as exc:
        module.main()
    assert exc.value.code == 0, capsys.readouterr().err
    assert "usage:" in capsys.readouterr().out


def _project_imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module, imported names, line) of every absolute import of a project module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in PROJECT:
                found.append((node.module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            found += [
                (a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] in PROJECT
            ]
    return found


@pytest.mark.parametrize("script", SCRIPTS, ids=str)
def test_project_imports_resolve(script: Path) -> None:
    for module_name, names, line in _project_imports(REPO / script):
        where = f"{script}:{line}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in PROJECT:
                continue  # an optional third-party dependency (tensorrt, ...) not installed
            pytest.fail(f"{where}: `{module_name}` does not exist ({exc})")
        for name in names:
            submodule = f"{module_name}.{name}"
            assert hasattr(module, name) or importlib.util.find_spec(submodule), (
                f"{where}: `{module_name}` has no `{name}`"
            )
