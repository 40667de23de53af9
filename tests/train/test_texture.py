"""The in-graph texture map (torch) matches the numpy one used by the kiosk."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from wds_edge.io import read_image
from wds_edge.model.preprocessing import network_channels
from wds_edge_train.texture import InGraphPreprocess


def _compare(image_rgb: np.ndarray) -> None:
    x = torch.from_numpy(image_rgb.transpose(2, 0, 1).astype(np.float32))[None]
    with torch.no_grad():
        got = InGraphPreprocess()(x)[0].numpy().transpose(1, 2, 0)
    np.testing.assert_allclose(got, network_channels(image_rgb), atol=2e-6, rtol=0)


def test_matches_numpy_on_random_image() -> None:
    rng = np.random.default_rng(0)
    _compare(rng.integers(0, 256, size=(48, 80, 3), dtype=np.uint8))


def test_matches_numpy_on_face_photo(faces_dir) -> None:
    bgr = read_image(faces_dir / "biden2.jpg")
    crop = cv2.resize(bgr[100:740, 250:890], (160, 160), interpolation=cv2.INTER_AREA)
    _compare(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
