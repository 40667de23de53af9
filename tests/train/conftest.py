"""Fixtures for the training tests: a tiny DRIVE subset (symlinks, read in place)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def drive_small(drive_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DRIVE layout with 3 of the 20 images (2 train + 1 validation with --val-count 1)."""
    root = tmp_path_factory.mktemp("drive_small")
    for sub in ("images", "1st_manual", "mask"):
        (root / sub).mkdir()
    for n in (21, 22, 23):
        for sub, name in (
            ("images", f"{n}_training.tif"),
            ("1st_manual", f"{n}_manual1.gif"),
            ("mask", f"{n}_training_mask.gif"),
        ):
            (root / sub / name).symlink_to(drive_dir / sub / name)
    return root


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    """Tiny models on a shared 2-core CPU: one thread avoids spin-waiting under contention."""
    import torch

    torch.set_num_threads(1)
