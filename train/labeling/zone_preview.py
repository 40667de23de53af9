"""Preview of a second-generation weak label: label, exclusion zones and regions at a glance."""

from __future__ import annotations

import cv2
import numpy as np

from wds_edge_train.labeling.preview import _outline

__all__ = ["ZONE_COLOURS_BGR", "REGION_COLOUR_BGR", "zones_preview"]

#: Exclusion zones hatched in these colours (BGR); the label is solid green on top.
ZONE_COLOURS_BGR: dict[str, tuple[int, int, int]] = {
    "eyelids": (0, 0, 255),
    "brows": (255, 0, 255),
    "hairline": (0, 200, 255),
    "outline": (0, 128, 255),
    "nostrils": (128, 0, 128),
    "lips": (128, 0, 128),
    "glasses": (255, 255, 0),
    "hair": (255, 128, 0),
}
REGION_COLOUR_BGR = (255, 255, 255)
LABEL_COLOUR_BGR = (0, 255, 0)


def zones_preview(
    crop_rgb: np.ndarray,
    label: np.ndarray,
    regions: dict[str, np.ndarray],
    zones: dict[str, np.ndarray],
    title: str = "",
) -> np.ndarray:
    """Three panels, uint8 BGR: the crop | label (green) on the dimmed crop with the regions
    outlined in white | the exclusion zones tinted (eyelids red, brows magenta, hairline
    yellow, outline orange, nostrils / lips purple, glasses cyan) with the label on top.

    Args:
        crop_rgb: uint8 RGB ``S x S x 3``.
        label: bool ``S x S`` weak label.
        regions, zones: ``{name: bool S x S}``.
        title: text in front of the legend (e.g. the file name).
    """
    bgr = cv2.cvtColor(crop_rgb, cv2.COLOR_RGB2BGR)
    dim = (bgr.astype(np.float32) * 0.6).astype(np.uint8)
    left = dim.copy()
    for mask in regions.values():
        _outline(left, mask, REGION_COLOUR_BGR)
    left[label] = LABEL_COLOUR_BGR
    right = dim.astype(np.float32)
    for name, mask in zones.items():
        colour = np.array(ZONE_COLOURS_BGR.get(name, (200, 200, 200)), np.float32)
        right[mask] = 0.5 * right[mask] + 0.5 * colour
    right = right.astype(np.uint8)
    right[label] = LABEL_COLOUR_BGR
    panel = np.concatenate([bgr, left, right], axis=1)
    fraction = 100.0 * np.count_nonzero(label) / label.size
    legend = (
        f"{title}  green: label ({fraction:.2f}% of crop), white: regions | zones: red eyelids, "
        "magenta brows, yellow hairline, orange outline, purple nose/lips, cyan glasses, blue hair"
    )
    bar = np.full((28, panel.shape[1], 3), 255, dtype=np.uint8)
    cv2.putText(
        bar, legend.strip(), (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA
    )
    return np.concatenate([bar, panel], axis=0)
