"""Where a model puts its wrinkles on real faces: placement, region scores, camera variants.

This is the measurement behind the starter model's selection rule
(``docs/starter_model_selection_rule.md``) and ``scripts/compare_models.py``: no human
labels are needed, only the landmark geometry. For each photo and each camera variant the
kiosk pipeline (:class:`wds_edge.analysis.analyzer.WrinkleAnalyzer`) runs with the model
under test and, in crop space,

* ``predicted_px``: wrinkle pixels (probability > the model's threshold), anywhere;
* ``inside_px``: of those, inside the six scoring-region polygons (before any exclusion
  zone is removed: whether the *model* keeps to the regions);
* ``off_px``: of those, on the eyelid margins, brows, hairline or face outline
  (:data:`OFF_ZONES` of :func:`wds_edge.perception.exclusion.exclusion_zones`);
* ``score``: the analyzer's ``overall`` wrinkle ratio (Eq. 12 over the union of the
  skin-only scoring regions, issue 21); ``region_ratios`` its per-region ratios;
* ``polygon_score``: wrinkle pixels in the six bare polygons / their pixels (what the
  issue-16 rule called the score).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.perception.exclusion import exclusion_zones, union
from wds_edge_train.augment import to_grey, white_balance

__all__ = [
    "OFF_ZONES",
    "VARIANTS",
    "FaceMeasure",
    "measure_mask",
    "measure_photos",
    "draw_glasses",
    "pooled_placement",
]

#: Zones where a predicted wrinkle is misplaced (the selection rule's "off" share).
OFF_ZONES = ("eyelids", "brows", "hairline", "outline")


def _grey_bgr(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(to_grey(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), cv2.COLOR_RGB2BGR)


def _cool_bgr(bgr: np.ndarray) -> np.ndarray:
    rgb = white_balance(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), 0.7, 1.4)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def _small_face_bgr(bgr: np.ndarray) -> np.ndarray:
    """The whole photo at a quarter of its size (a face far from the kiosk camera)."""
    h, w = bgr.shape[:2]
    return cv2.resize(bgr, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)


def draw_glasses(bgr: np.ndarray, landmarks_px: np.ndarray) -> np.ndarray:
    """Dark glasses frames drawn on a photo: two 52 x 22 mm rims and a bridge, 1.5 mm thick,
    sized by the iris ruler (about 11.7 mm) of the face's own landmarks (frame pixels)."""
    p = np.asarray(landmarks_px, dtype=np.float64)
    iris_px = float(np.linalg.norm(p[469] - p[471]) + np.linalg.norm(p[474] - p[476])) / 2
    px_per_mm = iris_px / 11.7
    out = bgr.copy()
    thick = max(2, int(round(1.5 * px_per_mm)))
    for outer, inner in ((33, 133), (263, 362)):
        centre = (p[outer] + p[inner]) / 2
        half = np.array([26.0, 11.0]) * px_per_mm
        a, b = np.round(centre - half).astype(int), np.round(centre + half).astype(int)
        cv2.rectangle(out, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), (20, 20, 25), thick)
    y = int(round(p[168, 1]))
    cv2.line(out, (int(p[133, 0]), y), (int(p[362, 0]), y), (20, 20, 25), thick)
    return out


#: Camera variants of a photo (uint8 BGR -> uint8 BGR). ``cool``: R x 0.7, B x 1.4.
#: ``glasses`` (frames drawn from the colour frame's landmarks) is handled in
#: :func:`measure_photos`.
VARIANTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "colour": lambda bgr: bgr,
    "grey": _grey_bgr,
    "cool": _cool_bgr,
    "small": _small_face_bgr,
}
_ALL_VARIANTS = (*VARIANTS, "glasses")


@dataclass
class FaceMeasure:
    """One photo x variant x model (see the module docstring for the fields)."""

    photo: str
    variant: str
    status: str
    predicted_px: int = 0
    inside_px: int = 0
    off_px: int = 0
    score: float = 0.0
    polygon_score: float = 0.0
    region_ratios: dict[str, float] = field(default_factory=dict)
    off_by_zone_px: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_mask(
    mask: np.ndarray,
    crop_rgb: np.ndarray,
    landmarks_crop_px: np.ndarray,
) -> dict[str, Any]:
    """Placement counts and region scores of a crop-space wrinkle mask.

    Args:
        mask: bool ``S x S`` predicted wrinkles.
        crop_rgb: uint8 RGB ``S x S x 3`` the mask belongs to (zones need the image).
        landmarks_crop_px: (478, 2) landmarks in crop pixels.

    Returns:
        ``predicted_px``, ``inside_px``, ``off_px``, ``polygon_score``, ``off_by_zone_px``.
    """
    from wds_edge.perception.regions import region_masks

    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2 or mask.shape != crop_rgb.shape[:2]:
        raise InvalidInputError(
            f"mask {mask.shape} and crop {crop_rgb.shape} must have the same S x S size"
        )
    regions = region_masks(landmarks_crop_px, mask.shape[0])
    zones = exclusion_zones(crop_rgb, landmarks_crop_px)
    inside = union(regions)
    off = union(zones, OFF_ZONES)
    return {
        "predicted_px": int(mask.sum()),
        "inside_px": int((mask & inside).sum()),
        "off_px": int((mask & off).sum()),
        "polygon_score": float((mask & inside).sum() / max(1, inside.sum())),
        "off_by_zone_px": {z: int((mask & zones[z]).sum()) for z in OFF_ZONES},
    }


def measure_photos(
    model_path: str | Path,
    photos: Iterable[str | Path],
    landmarker_path: str | Path | None = None,
    variants: Iterable[str] = ("colour", "grey", "cool", "small", "glasses"),
    masks_out: dict[tuple[str, str], np.ndarray] | None = None,
) -> list[FaceMeasure]:
    """Run the kiosk pipeline with ``model_path`` on every photo x variant and measure it.

    Args:
        model_path: wds-edge ONNX model.
        photos: image files.
        landmarker_path: MediaPipe ``face_landmarker.task``.
        variants: names of :data:`VARIANTS`, or ``glasses``.
        masks_out: if given, receives ``{(photo, variant): uint8 BGR overlay of the crop}``.

    Returns:
        One :class:`FaceMeasure` per photo x variant; a frame the analyzer refuses has its
        status and zero counts.
    """
    from wds_edge.analysis.analyzer import WrinkleAnalyzer
    from wds_edge.io import read_image

    names = list(variants)
    unknown = [v for v in names if v not in _ALL_VARIANTS]
    if unknown:
        raise InvalidInputError(f"unknown variants {unknown}; known: {list(_ALL_VARIANTS)}")
    out: list[FaceMeasure] = []
    with WrinkleAnalyzer(
        model_path=str(model_path),
        backend="onnxruntime",
        landmarker_path=str(landmarker_path) if landmarker_path else None,
    ) as analyzer:
        for photo in photos:
            bgr0 = read_image(photo)
            located = analyzer.locate(bgr0)
            for variant in names:
                if variant == "glasses":
                    if located.landmarks_px is None:
                        continue
                    bgr = draw_glasses(bgr0, located.landmarks_px)
                else:
                    bgr = VARIANTS[variant](bgr0)
                result = analyzer.analyze(bgr)
                status = str(getattr(result.status, "value", result.status))
                m = FaceMeasure(Path(photo).name, variant, status)
                if result.segmented and result.crop_transform is not None:
                    crop_rgb = cv2.cvtColor(result.crop_transform.crop(bgr), cv2.COLOR_BGR2RGB)
                    lm = result.crop_transform.points_to_crop(result.landmarks_px)
                    for k, v in measure_mask(result.wrinkle_mask, crop_rgb, lm).items():
                        setattr(m, k, v)
                    m.score = float(result.scores["overall"].wrinkle_ratio)
                    m.region_ratios = {
                        n: round(float(r.wrinkle_ratio), 5)
                        for n, r in result.scores.items()
                        if n != "overall"
                    }
                    if masks_out is not None:
                        over = cv2.cvtColor(crop_rgb, cv2.COLOR_RGB2BGR)
                        over[result.wrinkle_mask] = (0, 255, 0)
                        masks_out[(m.photo, variant)] = over
                out.append(m)
    return out


def pooled_placement(measures: Iterable[FaceMeasure], variant: str = "colour") -> dict[str, float]:
    """``inside`` and ``off`` shares (0-1) of all predicted pixels of one variant, pooled."""
    ms = [m for m in measures if m.variant == variant]
    total = sum(m.predicted_px for m in ms)
    return {
        "predicted_px": float(total),
        "inside": sum(m.inside_px for m in ms) / total if total else float("nan"),
        "off": sum(m.off_px for m in ms) / total if total else float("nan"),
    }
