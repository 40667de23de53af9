"""Fixtures of the runtime tests: real 640 px kiosk crops for the bundled model, a private cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point the user cache (auto decisions, OpenVINO's compiled models) at a temp folder."""
    folder = tmp_path_factory.getbasetemp() / "user_cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder


@pytest.fixture(scope="session")
def bundled_model() -> Path:
    from wds_edge.model.bundled import default_model_path

    return default_model_path()


@pytest.fixture(scope="session")
def kiosk_crops_640(face_photos: list[Path], landmarker_path: Path) -> list[np.ndarray]:
    """uint8 RGB 640 px crops of the close-up photos, through landmarks -> Table 1 crop."""
    from calibration.crops import face_crops_from_images

    close_ups = [
        p for p in face_photos if p.stem in ("biden2", "obama2", "ffhq_00016", "astronaut")
    ]
    return [c for _, c in face_crops_from_images(close_ups, 640, landmarker_path=landmarker_path)]
