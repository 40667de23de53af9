"""The face a weak labeler works on: the kiosk's quality gates, then the kiosk's crop.

Both labelers (:mod:`train.labeling.auto`, :mod:`train.labeling.auto_v2`) label only
what ``wds-edge analyze`` would accept, on the very crop the kiosk feeds the model
(:func:`wds_edge.perception.crop.kiosk_crop`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from train.labeling.labeled import ImageSkipped

__all__ = ["GatedCrop", "gated_kiosk_crop"]


@dataclass
class GatedCrop:
    """The accepted face of a photo and its kiosk crop."""

    faces_found: int
    landmarks_px: np.ndarray  # (478, 2) float64, photo pixels
    crop_rgb: np.ndarray  # (size, size, 3) uint8 RGB
    transform: Any  # wds_edge.perception.crop.CropTransform
    landmarks_crop_px: np.ndarray  # (478, 2) float64, crop pixels


def gated_kiosk_crop(
    landmarker: Any, image_rgb: np.ndarray, quality: Any, size_px: int
) -> GatedCrop:
    """Detect faces, apply the kiosk's gates (no face, size, pose, light, blur), crop.

    Args:
        landmarker: an open :class:`wds_edge.perception.landmarks.FaceLandmarker`.
        image_rgb: (H, W, 3) uint8 RGB photo.
        quality: :class:`wds_edge.perception.quality.QualityConfig` (the analyzer's gates).
        size_px: crop side in pixels.

    Raises:
        ImageSkipped: the gates refuse the photo (``status`` says why); the runner skips
            and reports it.
    """
    from wds_edge.perception.crop import kiosk_crop
    from wds_edge.perception.quality import FrameStatus, assess_face

    faces = landmarker.detect(image_rgb)
    status, face, measured = assess_face(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR), faces, quality)
    if status is not FrameStatus.OK or face is None:
        detail = f" (sharpness {measured['sharpness']:.1f})" if "sharpness" in measured else ""
        raise ImageSkipped(
            status.value, f"skipped: {status.value}{detail}, as `wds-edge analyze` would"
        )
    lm = np.asarray(face.landmarks_px, dtype=np.float64)
    crop_rgb, transform = kiosk_crop(image_rgb, lm, size_px, colour_order="rgb")
    return GatedCrop(len(faces), lm, crop_rgb, transform, transform.points_to_crop(lm))
