"""Provenance: the git state is that of the checkout holding the code, never of a repository
that merely encloses an installed copy."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from wds_edge_train.provenance import git_state

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def test_git_state_ignores_an_enclosing_repository(tmp_path: Path) -> None:
    """A wheel install puts the packages in site-packages: a git repository around it (a
    project holding its virtual environment, a home folder under git) ran none of that code."""
    repo = tmp_path / "project"
    site = repo / ".venv" / "lib" / "python3" / "site-packages"
    site.mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / "README").write_text("x")
    _git(repo, "add", "README")
    _git(repo, "commit", "-q", "-m", "x")
    assert git_state(site) == {"commit": None, "dirty": None}
    # the checkout itself is still recognised, with its dirty flag
    assert git_state(repo) == {"commit": _git(repo, "rev-parse", "HEAD"), "dirty": False}
    (repo / "README").write_text("changed")
    assert git_state(repo)["dirty"] is True


def test_git_state_outside_any_repository(tmp_path: Path) -> None:
    assert git_state(tmp_path) == {"commit": None, "dirty": None}
