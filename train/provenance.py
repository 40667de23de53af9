"""Where a training run's code and libraries came from, recorded with every run.

A figure is only as trustworthy as the knowledge of what produced it: each start (and each
resume) of a run appends one :func:`run_provenance` entry to ``config.json``'s
``provenance`` list, and the same list goes into every checkpoint (``config``) and into the
DRIVE benchmark's ``results.json``.
"""

from __future__ import annotations

import datetime as _dt
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["git_state", "run_provenance"]

_REPO = Path(__file__).resolve().parents[1]


def git_state(repo: Path = _REPO) -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` of the checkout holding ``train/``.

    ``dirty``: tracked files differ from the commit (untracked files do not count). Both are
    None without git and where ``repo`` is not itself the top of a git checkout: an installed
    wheel (``repo`` is then ``site-packages``, and a git repository enclosing it, a home
    folder or a project holding the virtual environment, is not the code that ran).
    """

    def git(*args: str, timeout: float = 10) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True, text=True, timeout=timeout, check=True,
        ).stdout.strip()  # fmt: skip

    try:
        top = git("rev-parse", "--show-toplevel")
        if not top or Path(top).resolve() != Path(repo).resolve():
            return {"commit": None, "dirty": None}
        commit = git("rev-parse", "HEAD")
        status = git("status", "--porcelain", "--untracked-files=no", timeout=30)
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": bool(status)}


def run_provenance(
    epoch: int = 0,
    *,
    device: str | None = None,
    amp: bool | None = None,
    world_size: int | None = None,
    epochs: int | None = None,
) -> dict[str, Any]:
    """One provenance entry: UTC time, the completed ``epoch`` it starts from, the device,
    mixed precision and number of training processes (``world_size``: torchrun's
    ``--nproc_per_node``) the run really used (``--device auto`` / ``--amp`` are requests),
    the git state (:func:`git_state`) and the machine and library versions
    (:func:`wds_edge.bench.environment.environment_report`: CPU, GPUs, Python, torch, numpy,
    OpenCV, ...). ``epochs``: the horizon this start trains to (the cosine schedule's), so a
    run extended on resume shows which epochs followed which schedule."""
    from wds_edge.bench.environment import environment_report

    env = environment_report()
    used = {
        k: v
        for k, v in (
            ("device", device),
            ("amp", amp),
            ("world_size", world_size),
            ("epochs", epochs),
        )
        if v is not None
    }
    return {
        "started_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "from_epoch": epoch,
        **used,
        **git_state(),
        "packages": env["packages"],
        "python": env["machine"]["python"],
        "cpu": env["cpu"]["model"],
        "gpus": [g["name"] for g in env["gpus"]],
    }
