"""The bundled starter model (issue 7) on faces it never saw in training or model selection.

``obama2.jpg`` and ``ffhq_00117.png`` are held out by ``scripts/train_starter_model.sh``.
The default model (no ``model_path``) must load, analyze them on the CPU with ONNX Runtime,
and put its wrinkle pixels on the forehead and around the eyes, not on hair, eyebrows or
background. Everything is measured in crop space (the 640 x 640 Table 1 crop the model
sees, in-frame pixels only), with zones built from the face landmarks:

* ``regions``: union of the six scored regions (forehead, glabella, crow's feet, under-eye);
* ``brows``: the eyebrow polygons, dilated by 1 % of the crop like the regions' own
  exclusion, so brow hairs count as brows;
* ``hair_background``: outside MediaPipe's face oval widened by 4 % of the crop (hair, ears,
  background, collar), except the upper forehead: the oval's top (landmark 10) sits about
  two thirds of the way from the brows to the hairline, so the band up to half the
  brow-to-oval-top distance above the oval is skin or hairline and counts for neither side.

Pixels elsewhere (eyes, eyelids, nose, cheeks, face outline) are "other".

Thresholds (MODEL_CARD.md, "Tests"), from the starter model's measurements and the chance
level (a zone's share of the in-frame crop, what a model painting pixels at random reaches:
regions 24-26 %, brows 4 %, hair / background 28-30 %). Per face: at most
``MAX_HAIR_BROWS_BACKGROUND`` of the wrinkle pixels on hair, brows or background (measured
0.00 on obama2, 0.15 on ffhq_00117: one line on the upper forehead near the hairline), a
wrinkle density in the regions at least ``MIN_DENSITY_RATIO`` times that on hair, brows and
background (measured 192 and 6.4) and at least ``MIN_REGION_PX`` wrinkle pixels in the regions
(measured 49 and 1265). Pooled over both faces: at least ``MIN_POOLED_IN_REGIONS`` of the
wrinkle pixels inside the regions (measured 0.49; chance 0.25). An earlier candidate (24
epochs on 30 clip frames) fails them: 38 % of its obama2 pixels on the hairline, density
ratio 0.75, pooled 0.39. obama2 is the weak case of the shipped model: its few wrinkle
pixels lie mostly on the lower eyelid margins and the face outline ("other").

Why not the selection rule's 80 % (issue 20): these thresholds pin 1.0.0's own measured
behaviour, so a regression (crop, preprocessing, a swapped file) fails here. 1.0.0 predates
the selection rule (``docs/starter_model_selection_rule.md``) and does not meet its placement
condition (69.1 % inside on issue 24's held-out faces, MODEL_CARD.md); no candidate has passed
it yet. A model shipped under the rule brings the rule's conditions as its test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from wds_edge import WrinkleAnalyzer
from wds_edge.errors import ModelError
from wds_edge.model.bundled import default_model_path
from wds_edge.perception.regions import (
    FACE_OVAL,
    LEFT_EYEBROW_RING,
    RIGHT_EYEBROW_RING,
    region_masks,
)

HELD_OUT_FACES = ("obama2.jpg", "ffhq_00117.png")

MAX_HAIR_BROWS_BACKGROUND = 0.25
MIN_DENSITY_RATIO = 3.0
MIN_REGION_PX = 25
MIN_POOLED_IN_REGIONS = 0.40

#: Top arc of the face oval (the forehead polygon's upper edge), subject's right to left.
_OVAL_TOP_ARC = (162, 21, 54, 103, 67, 109, 10, 338, 297, 332, 284, 251, 389)
_BROW_MIDDLES = (105, 334)
_OVAL_TOP = 10
_UPPER_FOREHEAD_RISE = 0.5


def _polygon_mask(points: np.ndarray, size_px: int) -> np.ndarray:
    canvas = np.zeros((size_px, size_px), np.uint8)
    cv2.fillPoly(canvas, [np.round(points).astype(np.int32)], 1)
    return canvas.astype(bool)


def _dilate(mask: np.ndarray, radius_px: int) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius_px + 1, 2 * radius_px + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def zones(points: np.ndarray, in_frame: np.ndarray) -> dict[str, np.ndarray]:
    """``regions``, ``brows``, ``hair_background`` (bool S x S) from crop-space landmarks."""
    size = in_frame.shape[0]
    regions = np.logical_or.reduce(list(region_masks(points, size).values()))
    brows = _dilate(
        _polygon_mask(points[list(RIGHT_EYEBROW_RING)], size)
        | _polygon_mask(points[list(LEFT_EYEBROW_RING)], size),
        max(1, round(0.01 * size)),
    )
    face = _dilate(_polygon_mask(points[list(FACE_OVAL)], size), round(0.04 * size))
    # The crop is roll-aligned (eyes level), so "up" is -y.
    arc = points[list(_OVAL_TOP_ARC)]
    rise = _UPPER_FOREHEAD_RISE * (points[list(_BROW_MIDDLES), 1].mean() - points[_OVAL_TOP, 1])
    upper_forehead = _polygon_mask(np.vstack([arc, (arc - [0.0, rise])[::-1]]), size)
    hair_background = in_frame & ~face & ~upper_forehead & ~brows
    return {
        "regions": regions & in_frame,
        "brows": brows & in_frame,
        "hair_background": hair_background,
    }


def placement(result: Any) -> dict[str, float]:
    """Where the predicted wrinkle pixels of an analyzed frame lie (crop space).

    Returns the wrinkle pixel count, the count inside the regions, the fraction of wrinkle
    pixels in each zone, each zone's share of the in-frame crop (chance level), and the
    density ratio regions / (hair, brows, background).
    """
    mask = result.wrinkle_mask
    transform = result.crop_transform
    size = mask.shape[0]
    points = transform.points_to_crop(result.landmarks_px)
    height, width = result.frame_shape
    # the analyzer's own in-frame test (pixel edges at -0.5 and size - 0.5)
    corners = np.array(
        [[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5], [-0.5, height - 0.5]]
    )
    in_frame = _polygon_mask(transform.points_to_crop(corners), size)
    z = zones(points, in_frame)
    unwanted = z["brows"] | z["hair_background"]
    pred = mask & in_frame
    n = int(pred.sum())
    area = float(in_frame.sum())
    out: dict[str, float] = {"wrinkle_px": n, "region_px": int((pred & z["regions"]).sum())}
    for name, zone in (*z.items(), ("hair_brows_background", unwanted)):
        out[name] = float((pred & zone).sum()) / max(n, 1)
        out[f"{name}_share"] = float(zone.sum()) / area
    density_regions = out["region_px"] / max(int(z["regions"].sum()), 1)
    density_unwanted = float((pred & unwanted).sum()) / max(int(unwanted.sum()), 1)
    out["density_ratio"] = density_regions / max(density_unwanted, 1.0 / area)
    return out


@pytest.fixture(scope="module")
def analyzer(landmarker_path: Path) -> WrinkleAnalyzer:
    try:
        default_model_path()
    except ModelError as exc:
        pytest.fail(f"the package must ship a default model (issue 7): {exc}")
    with WrinkleAnalyzer(
        landmarker_path=str(landmarker_path), backend="onnxruntime", num_threads=2
    ) as a:
        yield a


@pytest.fixture(scope="module")
def held_out_results(analyzer: WrinkleAnalyzer, faces_dir: Path) -> dict[str, Any]:
    return {name: analyzer.analyze_file(faces_dir / name) for name in HELD_OUT_FACES}


def test_default_model_is_the_bundled_file_on_cpu(analyzer: WrinkleAnalyzer) -> None:
    assert analyzer.model_path == default_model_path()  # the bundled file, sha256-checked
    assert analyzer.backend.name == "onnxruntime" and analyzer.backend.device.lower() == "cpu"
    assert analyzer.metadata.model_name == "wds-unet-starter"
    assert analyzer.metadata.input_size_hw == (640, 640)
    assert "public-domain" in analyzer.metadata.license


@pytest.mark.parametrize("name", HELD_OUT_FACES)
def test_wrinkles_on_the_regions_not_on_hair_brows_background(
    held_out_results: dict[str, Any], name: str
) -> None:
    result = held_out_results[name]
    assert result.status.value == "ok" and result.segmented, result.status
    assert result.wrinkle_prob.shape == (640, 640)
    stats = placement(result)
    summary = ", ".join(f"{k} {v:.3f}" for k, v in stats.items())
    assert stats["region_px"] >= MIN_REGION_PX, summary
    assert stats["hair_brows_background"] <= MAX_HAIR_BROWS_BACKGROUND, summary
    assert stats["hair_brows_background_share"] > MAX_HAIR_BROWS_BACKGROUND, summary  # < chance
    assert stats["density_ratio"] >= MIN_DENSITY_RATIO, summary
    # the scores say the same: wrinkles in the forehead or the eye regions, counted on their
    # skin only (issue 21: lid margins, brows, hairline, outline ... left out)
    regions = ("forehead", "glabella", "left_crows_feet", "right_crows_feet",
               "left_under_eye", "right_under_eye")  # fmt: skip
    counted = int((result.wrinkle_mask & result.counted_regions.overall).sum())
    assert sum(result.scores[r].wrinkle_px for r in regions) == counted, summary
    assert 0 < counted <= stats["region_px"], summary


def test_most_wrinkle_pixels_lie_in_the_regions(held_out_results: dict[str, Any]) -> None:
    stats = [placement(r) for r in held_out_results.values()]
    in_regions = sum(s["region_px"] for s in stats) / sum(s["wrinkle_px"] for s in stats)
    chance = max(s["regions_share"] for s in stats)
    assert in_regions >= MIN_POOLED_IN_REGIONS, (in_regions, stats)
    assert in_regions > 1.5 * chance, (in_regions, chance)
