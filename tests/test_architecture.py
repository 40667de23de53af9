"""The architecture contracts of pyproject.toml ``[tool.importlinter]`` hold.

Layers inside ``wds_edge`` (cli > demo | bench | service > analysis > runtime > perception >
capture > model > base), no torch / desktop packages in ``wds_edge`` (the CLI may wire them
in), none in ``calibration``, ``train`` free of ``export`` / ``calibration``, no import
cycles. A failure prints import-linter's report of the broken contract.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="Python >= 3.11")
importlinter = pytest.importorskip("importlinter", reason="pip install '.[dev]'")

ROOT = Path(__file__).resolve().parents[1]
EXPECTED_CONTRACTS = {
    "wds-edge-layers",
    "wds-edge-no-desktop",
    "calibration-no-torch",
    "train-no-export",
    "acyclic",
}


def _lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("lint-imports")
    # this checkout's wds_edge first; the desktop packages resolve through the install
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run(
        [str(script), "--no-cache", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_contracts_are_configured() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert {c["id"] for c in config["contracts"]} == EXPECTED_CONTRACTS


def test_import_contracts_are_kept() -> None:
    proc = _lint_imports()
    assert proc.returncode == 0, f"import-linter contracts broken:\n{proc.stdout}\n{proc.stderr}"
    assert f"{len(EXPECTED_CONTRACTS)} kept, 0 broken" in proc.stdout


def test_nothing_inside_the_packages_imports_the_wds_edge_facade() -> None:
    """``wds_edge/__init__`` re-exports from every layer: importing it from inside a layer
    (or from ``calibration``) would tie that module to all of them."""
    import grimp

    graph = grimp.build_graph(
        "wds_edge", "wds_edge_train", "wds_edge_export", "wds_edge_calibration", cache_dir=None
    )
    importers = graph.find_modules_that_directly_import("wds_edge")
    inside = sorted(m for m in importers if m.startswith(("wds_edge.", "wds_edge_calibration")))
    assert inside == [], (
        f"these modules import the wds_edge facade; import the defining module: {inside}"
    )


def test_the_readme_diagram_names_the_layers_modules() -> None:
    """Defect: the README's Architecture diagram named a ``base`` module that does not
    exist. Its first column names every module of the layers contract, and only modules
    that exist in ``wds_edge``."""
    import re

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c for c in config["contracts"] if c["id"] == "wds-edge-layers"]
    wanted = {
        name.strip(" ()") for layer in layers["layers"] for name in layer.split("|") if name.strip()
    }
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Architecture\n.*?```\n(.*?)```", readme, flags=re.DOTALL).group(1)
    named = set()
    for line in block.splitlines():  # the first column: 30 characters, then the description
        named |= {w.strip("/") for w in re.split(r"[\s|]+", line[:30]) if w.strip("/")}
    package = ROOT / "wds_edge"
    missing = sorted(n for n in named if not (package / n).is_dir()
                     and not (package / f"{n}.py").is_file())  # fmt: skip
    assert not missing, f"the README's diagram names modules wds_edge does not have: {missing}"
    assert wanted <= named, f"the diagram leaves out layers: {sorted(wanted - named)}"
