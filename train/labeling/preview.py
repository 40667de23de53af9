"""Overlay previews of labels that people can eyeball (side by side: photo | overlay)."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["LABEL_COLOUR_BGR", "ROUGH_COLOUR_BGR", "FOV_COLOUR_BGR", "label_preview"]

LABEL_COLOUR_BGR = (0, 255, 0)
ROUGH_COLOUR_BGR = (255, 200, 0)
FOV_COLOUR_BGR = (0, 140, 255)


def _shrink_mask(mask: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    """Resize a bool mask keeping thin structures: a pixel is on if any source pixel is."""
    if mask.shape[::-1] == size_wh:
        return mask
    area = cv2.resize(mask.astype(np.float32), size_wh, interpolation=cv2.INTER_AREA)
    return area > 0.0


def _outline(canvas: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int]) -> None:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(canvas, contours, -1, colour, 1, cv2.LINE_8)


def label_preview(
    image_rgb: np.ndarray,
    label: np.ndarray,
    rough: np.ndarray | None = None,
    fov: np.ndarray | None = None,
    max_width_px: int = 1600,
    title: str = "",
) -> np.ndarray:
    """Side-by-side preview as uint8 BGR: the photo on the left; on the right the photo,
    dimmed, with the label in solid green, the rough mask outlined in cyan and the valid
    area (fov) outlined in orange, plus a one-line legend.

    Args:
        image_rgb: uint8 RGB HxWx3.
        label: bool HxW ground truth.
        rough: optional bool HxW rough annotation.
        fov: optional bool HxW area where the label is valid.
        max_width_px: width of the whole preview (both panels); the photo is shrunk to fit.
        title: text put in front of the legend (e.g. the file name).
    """
    h, w = label.shape
    scale = min(1.0, max_width_px / (2.0 * w))
    size_wh = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    bgr = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)
    if scale < 1.0:
        bgr = cv2.resize(bgr, size_wh, interpolation=cv2.INTER_AREA)
    overlay = (bgr.astype(np.float32) * 0.7).astype(np.uint8)
    if fov is not None:
        _outline(overlay, _shrink_mask(fov, size_wh), FOV_COLOUR_BGR)
    if rough is not None:
        _outline(overlay, _shrink_mask(rough, size_wh), ROUGH_COLOUR_BGR)
    overlay[_shrink_mask(label, size_wh)] = LABEL_COLOUR_BGR
    panel = np.concatenate([bgr, overlay], axis=1)
    fraction = 100.0 * np.count_nonzero(label) / label.size
    legend = f"{title}  green: label ({fraction:.2f}% of image)"
    if rough is not None:
        legend += ", cyan: rough mask"
    if fov is not None:
        legend += ", orange: valid area"
    bar = np.full((28, panel.shape[1], 3), 255, dtype=np.uint8)
    cv2.putText(
        bar, legend.strip(), (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA
    )
    return np.concatenate([bar, panel], axis=0)
