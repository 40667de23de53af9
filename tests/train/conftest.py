"""Fixtures for the training tests (the DRIVE subset ``drive_small``: tests/conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    """Tiny models on a shared 2-core CPU: one thread avoids spin-waiting under contention."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def weak_labels(
    faces_dir: Path, landmarker_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """'wds-edge label --auto' of three real faces: images/, masks/, fov/, landmarks/ (640 px
    face crops)."""
    from wds_edge_train.labeling.runner import LabelOptions, label_folder

    images = tmp_path_factory.mktemp("faces")
    for name in ("biden2.jpg", "obama.jpg", "ffhq_00117.png"):
        shutil.copy(faces_dir / name, images / name)
    out = tmp_path_factory.mktemp("weak")
    label_folder(
        images, out, auto=True, options=LabelOptions(landmarker_path=landmarker_path, force=True)
    )
    return out
