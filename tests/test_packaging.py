"""The wheel a kiosk installs: it builds from this checkout, installs into a clean virtual
environment (its declared dependencies only, from the package index: no torch), and
`wds-edge analyze` runs from it; a desktop command there says what is missing in one line.

Slow (a clean environment downloads MediaPipe, ONNX Runtime, OpenVINO, ... unless pip's
cache has them); skipped when the package index cannot be reached.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
NETWORK_HINTS = ("Failed to establish a new connection", "Temporary failure in name resolution",
                 "No matching distribution", "Could not find a version")  # fmt: skip


#: The repository's desktop folders and the names they are installed under (pyproject.toml).
INSTALLED_DESKTOP = {"wds_edge_train": "train", "wds_edge_export": "export",
                     "wds_edge_calibration": "calibration"}  # fmt: skip


def test_pyproject_installs_every_package_folder_under_a_unique_name() -> None:
    """The package list is written out (a renamed package cannot be found automatically):
    every folder with an ``__init__.py`` must be in it, under its installed name."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"] == INSTALLED_DESKTOP
    folder_of = {**{v: k for k, v in INSTALLED_DESKTOP.items()}, "wds_edge": "wds_edge"}
    on_disk = set()
    for top, name in folder_of.items():
        for init in (REPO_ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO_ROOT / top).parts
            on_disk.add(".".join((name, *rel)))
    assert set(config["packages"]) == on_disk


def clean_env() -> dict[str, str]:
    """The environment without anything that would import this checkout's code."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def copy_checkout(dest: Path) -> Path:
    """The working tree's files (tracked and new, not ignored) in ``dest``: the build
    writes build/ and *.egg-info next to the sources, which must not land in the checkout."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.mark.slow
def test_wheel_installs_in_a_clean_venv_and_analyzes(
    tmp_path: Path, faces_dir: Path, landmarker_path: Path
) -> None:
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("needs a git checkout to know which files are the sources")
    source = copy_checkout(tmp_path / "src")
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist),
         str(source)],
        capture_output=True, text=True, timeout=600, env=clean_env(),
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = dist.glob("wds_edge-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    weights = "wds_edge/model/weights/wds_unet_default.onnx"
    desktop = ("wds_edge_train/loop.py", "wds_edge_train/labeling/auto_v2.py",
               "wds_edge_export/onnx_export.py", "wds_edge_calibration/dataset.py")  # fmt: skip
    for needed in (weights, "wds_edge/service/static/kiosk.js", "wds_edge/py.typed", *desktop):
        assert needed in names, needed
    # issue 23: no top-level name that something else may own (train, export, calibration)
    tops = {n.split("/")[0] for n in names if "/" in n and ".dist-info/" not in n}
    assert tops == {"wds_edge", *INSTALLED_DESKTOP}, tops

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        capture_output=True, text=True, timeout=1800, env=clean_env(),
    )  # fmt: skip
    if install.returncode != 0 and any(h in install.stderr for h in NETWORK_HINTS):
        pytest.skip(f"the package index cannot be reached: {install.stderr.strip()[-300:]}")
    assert install.returncode == 0, install.stderr[-3000:]
    # Someone else's package called `train` in the same site-packages stays theirs.
    (site,) = (venv / "lib").glob("python3*/site-packages")
    (site / "train").mkdir()
    (site / "train" / "__init__.py").write_text("OWNER = 'someone else'\n")

    work = tmp_path / "work"  # outside the checkout: only the installed package can be found
    work.mkdir()
    cli = str(venv / "bin" / "wds-edge")
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import importlib.util as u, wds_edge; print(wds_edge.__file__, u.find_spec('torch'))"],
        cwd=work, capture_output=True, text=True, timeout=120, env=clean_env(),
    )  # fmt: skip
    assert str(venv) in where.stdout and where.stdout.strip().endswith("None"), where
    theirs = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import train, wds_edge_calibration.manifest as m; print(train.OWNER, m.__name__)"],
        cwd=work, capture_output=True, text=True, timeout=120, env=clean_env(),
    )  # fmt: skip
    assert theirs.stdout.split() == ["someone", "else", "wds_edge_calibration.manifest"], theirs
    run = subprocess.run(
        [cli, "analyze", str(faces_dir / "biden2.jpg"), "--landmarker", str(landmarker_path),
         "--out", "out/"],
        cwd=work, capture_output=True, text=True, timeout=600, env=clean_env(),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads((work / "out" / "biden2.json").read_text())
    assert result["status"] == "ok" and "overall" in result["scores"]
    assert (work / "out" / "biden2_overlay.png").stat().st_size > 10_000

    # a desktop command in the kiosk-only install: one line naming torch, exit 2
    export = subprocess.run(
        [cli, "export", "--checkpoint", "best.pt", "--out", "model.onnx"],
        cwd=work, capture_output=True, text=True, timeout=120, env=clean_env(),
    )  # fmt: skip
    assert export.returncode == 2, export.stderr
    assert "Traceback" not in export.stderr
    assert "needs the Python package 'torch'" in " ".join(export.stderr.split())
