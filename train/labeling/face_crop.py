"""The face a labeler works on: the kiosk's locate step, then the kiosk's crop.

Both weak labelers (:mod:`wds_edge_train.labeling.auto`, :mod:`wds_edge_train.labeling.auto_v2`)
and ``label --rough DIR --crop-faces`` (:class:`FaceCropper`) label only what ``wds-edge
analyze`` would accept, on the very crop the kiosk feeds the model: they run the analyzer's
own step (:func:`wds_edge.perception.locate.locate_face`: landmarks on the photo downscaled to
1920 px, the quality gates, the colour gates for a colour model) and keep the crop it made
(:func:`wds_edge.perception.crop.kiosk_crop`). The paper crops and resizes every photo to
640 x 640 before its ground truth is made (Section 4.1), so a model learns wrinkles at the
scale the kiosk shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from wds_edge_train.labeling.labeled import ImageSkipped

__all__ = ["FaceCropper", "GatedCrop", "gated_kiosk_crop", "landmarks_record"]


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
    """The kiosk's locate step on a photo (no face, size, pose, light, blur, a grey face, a
    colour cast), then its crop: what ``wds-edge analyze`` of the photo would segment.

    Args:
        landmarker: an open :class:`wds_edge.perception.landmarks.FaceLandmarker`.
        image_rgb: (H, W, 3) uint8 RGB photo.
        quality: :class:`wds_edge.perception.quality.QualityConfig` (the analyzer's gates).
        size_px: crop side in pixels.

    Raises:
        ImageSkipped: the gates refuse the photo (``status`` says why, the analyzer's
            status); the runner skips and reports it.
    """
    from wds_edge.perception.locate import locate_face
    from wds_edge.perception.quality import FrameStatus

    image_bgr = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)
    located = locate_face(landmarker.detect, image_bgr, quality, crop_size_px=size_px)
    if located.status is not FrameStatus.OK or located.face is None or located.crop is None:
        status = located.status.value
        detail = skip_detail(status, located.measured, quality)
        raise ImageSkipped(status, f"skipped: {status}{detail}, as `wds-edge analyze` would")
    crop = located.crop
    lm = np.asarray(located.face.landmarks_px, dtype=np.float64)
    return GatedCrop(located.faces_found, lm, crop.crop_rgb, crop.transform, crop.landmarks_crop_px)


def skip_detail(status: str, measured: dict[str, float], quality: Any) -> str:
    """`` (what was measured vs the gate)`` for the gate that refused the photo, e.g.
    `` (eye distance 31 px, needs >= 40)``; ``""`` when nothing was measured."""
    m = measured
    if status == "face_too_small" and "eye_distance_px" in m:
        needed = quality.min_eye_distance_px
        return f" (eye distance {m['eye_distance_px']:.0f} px, needs >= {needed:g})"
    if status == "turned_away" and "yaw_deg" in m:
        return (
            f" (yaw {m['yaw_deg']:.0f}, pitch {m['pitch_deg']:.0f}, roll {m['roll_deg']:.0f} deg)"
        )
    if status in ("too_dark", "overexposed") and "brightness" in m:
        return f" (brightness {m['brightness']:.0f})"
    if status == "too_blurry" and "sharpness" in m:
        return f" (sharpness {m['sharpness']:.1f}, needs >= {quality.min_sharpness:g})"
    if status == "colour_cast" and "skin_red_over_blue" in m:
        return (
            f" (skin red / blue {m['skin_red_over_blue']:.2f}, red / green "
            f"{m['skin_red_over_green']:.2f}, chroma spread {m['skin_chroma_spread']:.3f})"
        )
    return ""


def landmarks_record(got: GatedCrop, size_px: int) -> dict[str, Any]:
    """What ``OUT/landmarks/<stem>.json`` holds for a crop (``train --region-balance`` reads
    the crop-space landmarks)."""
    return {
        "landmarks_crop_px": np.round(got.landmarks_crop_px, 2).tolist(),
        "crop_size_px": size_px,
        "crop_transform": got.transform.to_dict(),
    }


class FaceCropper:
    """The kiosk crop of a photo and of its rough annotation (``label --rough --crop-faces``).

    Args:
        crop_size_px: crop side (the model's input size; the paper's 640).
        landmarker_path: FaceLandmarker ``.task`` model (None: the default lookup).
        quality: the kiosk's gates (default :class:`~wds_edge.perception.quality.QualityConfig`).
    """

    def __init__(
        self, crop_size_px: int = 640, landmarker_path: Any = None, quality: Any = None
    ) -> None:
        from wds_edge.perception.landmarks import FaceLandmarker, FaceLandmarkerOptions
        from wds_edge.perception.quality import QualityConfig

        self.crop_size_px = int(crop_size_px)
        self.quality = quality or QualityConfig()
        self._landmarker = FaceLandmarker(
            FaceLandmarkerOptions(model_path=landmarker_path, mode="image", max_faces=2)
        )

    def crop(
        self, image_rgb: np.ndarray, rough: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any], dict[str, Any]]:
        """``(crop_rgb, rough_crop, landmarks_record, stats)``: the photo and its bool H x W
        annotation cut by the same kiosk crop (nearest for the strokes, so they stay strokes).

        Raises:
            ImageSkipped: the gates refuse the photo.
        """
        got = gated_kiosk_crop(self._landmarker, image_rgb, self.quality, self.crop_size_px)
        rough_crop = got.transform.crop(rough.astype(np.uint8), cv2.INTER_NEAREST) > 0
        stats = {
            "faces_found": got.faces_found,
            "roll_deg": round(float(got.transform.roll_deg), 2),
            "crop_scale": round(float(got.transform.scale), 3),
        }
        return got.crop_rgb, rough_crop, landmarks_record(got, self.crop_size_px), stats

    def close(self) -> None:
        """Release the landmarker (idempotent)."""
        self._landmarker.close()
