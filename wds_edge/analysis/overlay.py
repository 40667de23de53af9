"""Drawing results for people: the wrinkle mask on the face, region outlines, scores, status.

The overlay draws what is counted (issue 21): the outlines are those of the counted skin
regions (lid margins, brows, hairline, outline, nostrils, lips and glasses left out), wrinkle
pixels inside them are magenta, and pixels the model marked outside them (a lash line, a
brow edge) are drawn faintly grey, so a person sees both what the model saw and what the
score counts. Results without their counted regions (rebuilt from JSON) get the region
polygons.

Both functions return a new uint8 BGR image and never modify their input. Text size
and line widths scale with the image so the overlay reads the same on a 640 px crop
and on a 4K frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from wds_edge.analysis.result import FrameResult
from wds_edge.errors import InvalidInputError
from wds_edge.perception.regions import region_polygons

__all__ = [
    "draw_overlay",
    "draw_crop_overlay",
    "WRINKLE_COLOR_BGR",
    "UNCOUNTED_COLOR_BGR",
    "REGION_COLORS_BGR",
]

#: Colour of wrinkle pixels (BGR): saturated magenta stands out on every skin tone.
WRINKLE_COLOR_BGR = (255, 0, 255)
#: Colour of marked pixels the scores do not count (outside the skin regions).
UNCOUNTED_COLOR_BGR = (200, 200, 200)
#: Outline colour per region (BGR).
REGION_COLORS_BGR = {
    "forehead": (255, 200, 0),
    "glabella": (0, 200, 255),
    "left_crows_feet": (0, 255, 0),
    "right_crows_feet": (0, 255, 0),
    "left_under_eye": (255, 128, 128),
    "right_under_eye": (255, 128, 128),
}
_OK_COLOR = (60, 200, 60)
_BAD_COLOR = (40, 40, 230)


def _checked_bgr(image: np.ndarray, name: str) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3:
        raise InvalidInputError(
            f"{name} must be a uint8 BGR image (H x W x 3), got "
            f"{getattr(image, 'dtype', type(image).__name__)} {getattr(image, 'shape', '')}"
        )
    if image.shape[2] != 3:
        raise InvalidInputError(f"{name} must have 3 channels (BGR), got shape {image.shape}")
    return image


def _blend_mask(
    image: np.ndarray,
    mask: np.ndarray,
    alpha: float,
    colour_bgr: tuple[int, int, int] = WRINKLE_COLOR_BGR,
) -> None:
    """Tint ``mask`` pixels of ``image`` (in place) with ``colour_bgr``."""
    # In the mask's bounding box: the marks cover a face, the frame is 5-10x larger.
    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(mask).view(np.uint8))
    if w == 0 or h == 0:
        return
    box, inside = image[y : y + h, x : x + w], mask[y : y + h, x : x + w]
    colour = np.array(colour_bgr, np.float32)
    pixels = box[inside].astype(np.float32)
    box[inside] = np.clip((1.0 - alpha) * pixels + alpha * colour, 0, 255).astype(np.uint8)


def _text_lines(
    image: np.ndarray, lines: list[tuple[str, tuple[int, int, int]]], origin: tuple[int, int]
) -> None:
    """Draw text lines with a dark backing box (in place); scale follows the image width."""
    scale = max(0.4, image.shape[1] / 1400.0)
    thickness = max(1, round(scale * 1.6))
    line_h = int(28 * scale) + 4
    x, y = origin
    widths = [
        cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)[0][0] for t, _ in lines
    ]
    if not lines:
        return
    box_w = max(widths) + 12
    top = max(0, y - line_h + 4)
    bottom = min(image.shape[0], y + line_h * (len(lines) - 1) + 10)
    roi = image[top:bottom, x : min(image.shape[1], x + box_w)]
    roi[:] = (roi.astype(np.float32) * 0.35).astype(np.uint8)
    for i, (text, colour) in enumerate(lines):
        cv2.putText(
            image,
            text,
            (x + 6, y + i * line_h),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            colour,
            thickness,
            cv2.LINE_AA,
        )


def _counted_masks(result: FrameResult) -> tuple[np.ndarray, np.ndarray] | None:
    """Crop-space wrinkle pixels that count and those that do not (None without a mask)."""
    if result.wrinkle_mask is None:
        return None
    if result.counted_regions is None:
        return result.wrinkle_mask, np.zeros_like(result.wrinkle_mask)
    counted = result.counted_regions.overall
    return result.wrinkle_mask & counted, result.wrinkle_mask & ~counted


def _region_outlines(result: FrameResult) -> dict[str, list[np.ndarray]]:
    """Crop-space outlines ((K, 2) float arrays) of what each region counts."""
    transform = result.crop_transform
    if result.counted_regions is not None:
        out = {}
        for name, mask in result.counted_regions.masks.items():
            contours, _ = cv2.findContours(
                mask.view(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
            )
            out[name] = [c.reshape(-1, 2).astype(np.float64) for c in contours if len(c) > 2]
        return out
    if transform is None or result.landmarks_px is None:
        return {}
    polygons = region_polygons(transform.points_to_crop(result.landmarks_px))
    return {name: [poly.astype(np.float64)] for name, poly in polygons.items()}


def _score_lines(result: FrameResult) -> list[tuple[str, tuple[int, int, int]]]:
    lines = []
    for name, score in result.scores.items():
        mm = f", {score.total_length_mm:.0f} mm" if score.total_length_mm is not None else ""
        colour = REGION_COLORS_BGR.get(name, (255, 255, 255))
        lines.append(
            (f"{name}: {100 * score.wrinkle_ratio:.1f}% ({score.wrinkle_count} lines{mm})", colour)
        )
    return lines


def _status_line(result: FrameResult) -> tuple[str, tuple[int, int, int]]:
    status = str(getattr(result.status, "value", result.status))
    colour = _OK_COLOR if result.ok else _BAD_COLOR
    return (f"{status}: {result.prompt}" if result.prompt else status, colour)


def draw_overlay(
    frame_bgr: np.ndarray,
    result: FrameResult,
    *,
    show_regions: bool = True,
    show_scores: bool = True,
    alpha: float = 0.6,
) -> np.ndarray:
    """Draw a result on the frame it came from.

    Args:
        frame_bgr: uint8 BGR H x W x 3, the analysed frame.
        result: its :class:`FrameResult` (any status; a segmented one shows the mask).
        show_regions: outline the facial regions.
        show_scores: list the wrinkle ratio / count / length per region.
        alpha: opacity of the wrinkle tint in [0, 1].

    Returns:
        A new uint8 BGR H x W x 3 image: wrinkle pixels tinted magenta, the crop box,
        region outlines, status + prompt at the top left and scores below it.

    Raises:
        InvalidInputError: not a BGR uint8 image, or not the frame the result describes.
    """
    frame = _checked_bgr(frame_bgr, "frame_bgr")
    if tuple(frame.shape[:2]) != tuple(result.frame_shape):
        raise InvalidInputError(
            f"the result describes a {result.frame_shape[1]}x{result.frame_shape[0]} frame, "
            f"got {frame.shape[1]}x{frame.shape[0]}; draw on the analysed frame"
        )
    if not 0.0 <= alpha <= 1.0:
        raise InvalidInputError(f"alpha must be in [0, 1], got {alpha}")
    out = frame.copy()
    width_px = max(1, round(max(frame.shape[:2]) / 600))
    transform = result.crop_transform
    masks = _counted_masks(result)
    if transform is not None and masks is not None:
        _blend_mask(
            out, transform.paste_back(masks[1], frame.shape), 0.5 * alpha, UNCOUNTED_COLOR_BGR
        )
        _blend_mask(out, transform.paste_back(masks[0], frame.shape), alpha)
    if transform is not None:
        corners = np.round(transform.corners_px).astype(np.int32)
        colour = _OK_COLOR if result.ok else _BAD_COLOR
        cv2.polylines(out, [corners], True, colour, width_px, cv2.LINE_AA)
        if show_regions:
            for name, outlines in _region_outlines(result).items():
                pts = [np.round(transform.points_to_frame(o)).astype(np.int32) for o in outlines]
                cv2.polylines(out, pts, True, REGION_COLORS_BGR[name], width_px, cv2.LINE_AA)
    lines = [_status_line(result)]
    if show_scores:
        lines += _score_lines(result)
    _text_lines(out, lines, (8, int(max(0.4, out.shape[1] / 1400.0) * 28) + 8))
    return out


def draw_crop_overlay(crop_bgr: np.ndarray, result: FrameResult, alpha: float = 0.6) -> np.ndarray:
    """Draw a segmented result on its face crop (crop space, the model's view).

    Args:
        crop_bgr: uint8 BGR S x S crop, e.g. ``result.crop_transform.crop(frame_bgr)``.
        result: a :class:`FrameResult` with a crop transform.
        alpha: opacity of the wrinkle tint in [0, 1].

    Returns:
        A new uint8 BGR S x S image with the mask, region outlines and the overall score.
    """
    crop = _checked_bgr(crop_bgr, "crop_bgr")
    transform = result.crop_transform
    if transform is None:
        raise InvalidInputError(
            f"the result holds no face crop (status '{result.status.value}'); nothing to draw"
        )
    size = transform.size_px
    if crop.shape[:2] != (size, size):
        raise InvalidInputError(
            f"crop_bgr must be {size}x{size} (the result's crop), "
            f"got {crop.shape[1]}x{crop.shape[0]}"
        )
    out = crop.copy()
    masks = _counted_masks(result)
    if masks is not None:
        _blend_mask(out, masks[1], 0.5 * alpha, UNCOUNTED_COLOR_BGR)
        _blend_mask(out, masks[0], alpha)
    width_px = max(1, round(size / 400))
    for name, outlines in _region_outlines(result).items():
        pts = [np.round(o).astype(np.int32) for o in outlines]
        cv2.polylines(out, pts, True, REGION_COLORS_BGR[name], width_px, cv2.LINE_AA)
    lines = [_status_line(result)]
    if "overall" in result.scores:
        lines.append(
            (f"overall: {100 * result.scores['overall'].wrinkle_ratio:.1f}%", (255, 255, 255))
        )
    _text_lines(out, lines, (4, int(max(0.4, size / 1400.0) * 28) + 6))
    return out
