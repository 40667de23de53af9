"""Fixtures for the calibration tests: real face crops (kiosk path) and a small trained model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

#: Training size of the proxy model (small: the suite runs on 2 CPU cores).
PROXY_TRAIN_PX = 128


@pytest.fixture(scope="session")
def face_photos(faces_dir: Path) -> list[Path]:
    return sorted(p for p in faces_dir.iterdir() if p.suffix.lower() in (".jpg", ".png"))


@pytest.fixture(scope="session")
def kiosk_crops_128(face_photos: list[Path], landmarker_path: Path) -> list[tuple[str, np.ndarray]]:
    """(label, uint8 RGB 128x128 crop) of every face, through landmarks -> Table 1 crop."""
    from calibration.crops import face_crops_from_images

    return list(face_crops_from_images(face_photos, 128, landmarker_path=landmarker_path))


@pytest.fixture(scope="session")
def proxy_model(  # noqa: ANN201 - a torch module
    kiosk_crops_128: list[tuple[str, np.ndarray]], pytestconfig: pytest.Config
):
    """A base-8 WrinkleUNet trained for 40 steps to reproduce Eq. 1 texture-threshold masks.

    Confident, structured output (unlike random weights, whose probabilities sit near
    0.5 and make mask comparisons meaningless). See export.proxy_model. The weights
    are cached in pytest's cache folder, keyed by the crops and the training settings.
    """
    from export.proxy_model import train_texture_proxy

    return train_texture_proxy(
        [c for _, c in kiosk_crops_128[:6]],
        base_channels=8,
        steps=40,
        cache_dir=pytestconfig.cache.mkdir("wds_proxy_model"),
    )
