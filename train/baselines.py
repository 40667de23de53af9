"""Classic wrinkle detectors the paper compares against (Table 3), and their fair protocol.

* **hessian**: Frangi's multi-scale Hessian vesselness for dark ridges
  (:func:`skimage.filters.frangi`, ``black_ridges=True``), the core of the hybrid Hessian
  filter of Ng et al.
* **gabor**: a bank of zero-mean real Gabor kernels (OpenCV) at ``n_orientations``
  orientations; the response is the maximum over orientations on the inverted grey
  image (wrinkles are dark lines).

Each response is thresholded with Otsu's method over the pixels being measured.

Fair protocol (paper Sec. 4): the filters only see forehead and eye-area crops with
everything that is not skin of that area filled black, and are scored only inside that
area. Areas come from face landmarks (``forehead`` = forehead + glabella, ``eyes`` =
crow's feet + under-eyes) or, when the labels come with a ``fov/`` folder or regions are
``none``, from the fov mask / the whole image. Filter scales are given for the 640 px
kiosk crop and rescaled to the face size of the photo: measured from the landmarks, or,
for the fov / whole image of a ``wds-edge label`` folder of face crops, from the crop size
its ``labels.json`` records (photos of unknown scale keep the 640 px scales).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from wds_edge.errors import DataError, InvalidInputError, WdsEdgeError
from wds_edge.io import read_image
from wds_edge.model.metrics import (
    ConfusionCounts,
    MetricAccumulator,
    confusion_counts,
    metrics_from_counts,
)
from wds_edge.model.preprocessing import grey_from_rgb
from wds_edge.progress import ProgressCallback
from wds_edge_train.labeling.auto import REGION_GROUPS

__all__ = [
    "BaselineMethod",
    "REGION_GROUPS",
    "HESSIAN_SIGMAS_PX",
    "GABOR_WAVELENGTH_PX",
    "hessian_response",
    "gabor_response",
    "baseline_segment",
    "parse_regions",
    "BaselineReport",
    "FairAreas",
    "AreaScores",
    "score_areas",
    "evaluate_baseline",
]

logger = logging.getLogger(__name__)

#: Frangi scales in pixels of a 640 px face crop (wrinkles are 2-6 px wide there).
HESSIAN_SIGMAS_PX = (1.0, 2.0, 3.0)
#: Gabor wavelength in pixels of a 640 px face crop (about twice a wrinkle's width).
GABOR_WAVELENGTH_PX = 8.0
GABOR_ORIENTATIONS = 12
_CROP_SIZE_PX = 640
_MARGIN_PX = 4


class BaselineMethod(str, Enum):
    """Classic detector of :func:`baseline_segment`."""

    HESSIAN = "hessian"
    GABOR = "gabor"


def _method(method: BaselineMethod | str) -> BaselineMethod:
    try:
        return BaselineMethod(method)
    except ValueError:
        valid = ", ".join(m.value for m in BaselineMethod)
        raise InvalidInputError(
            f"unknown baseline method {method!r}; choose one of: {valid}"
        ) from None


def hessian_response(grey: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Frangi vesselness of dark ridges, float32 HxW >= 0, for a float grey image in [0, 255].

    ``scale`` multiplies :data:`HESSIAN_SIGMAS_PX` (photo pixels per 640-crop pixel).
    """
    from skimage.filters import frangi

    sigmas = [s * scale for s in HESSIAN_SIGMAS_PX]
    out = frangi(np.asarray(grey, dtype=np.float64) / 255.0, sigmas=sigmas, black_ridges=True)
    return np.nan_to_num(out).astype(np.float32)


def gabor_response(
    grey: np.ndarray, scale: float = 1.0, n_orientations: int = GABOR_ORIENTATIONS
) -> np.ndarray:
    """Maximum over orientations of zero-mean Gabor responses on the inverted grey image,
    float32 HxW >= 0 (dark lines respond, flat skin gives 0)."""
    lam = GABOR_WAVELENGTH_PX * scale
    sigma = 0.56 * lam  # one-octave bandwidth
    ksize = 2 * int(np.ceil(3 * sigma)) + 1
    inverted = 255.0 - np.asarray(grey, dtype=np.float32)
    best = np.zeros_like(inverted)
    for k in range(n_orientations):
        kernel = cv2.getGaborKernel(
            (ksize, ksize), sigma, np.pi * k / n_orientations, lam, 0.5, 0.0
        )
        kernel -= kernel.mean()  # zero mean: no response to flat brightness
        kernel /= np.abs(kernel).sum()
        np.maximum(best, cv2.filter2D(inverted, cv2.CV_32F, kernel.astype(np.float32)), out=best)
    return best


def baseline_segment(
    image_rgb: np.ndarray,
    method: BaselineMethod | str,
    area: np.ndarray | None = None,
    scale: float = 1.0,
) -> np.ndarray:
    """Detect wrinkles with a classic filter and Otsu's threshold.

    Args:
        image_rgb: uint8 RGB HxWx3 (an area crop).
        method: ``hessian`` or ``gabor``.
        area: bool HxW pixels to look at; everything else is filled black before
            filtering and is never foreground. Default: the whole image.
        scale: photo pixels per 640-crop pixel (filter scales are set for the crop).

    Returns:
        bool HxW prediction.
    """
    from skimage.filters import threshold_otsu

    mode = _method(method)
    h, w = image_rgb.shape[:2]
    valid = np.ones((h, w), dtype=bool) if area is None else np.asarray(area, dtype=bool)
    grey = grey_from_rgb(image_rgb)
    grey[~valid] = 0.0
    response = (
        hessian_response(grey, scale)
        if mode is BaselineMethod.HESSIAN
        else gabor_response(grey, scale)
    )
    values = response[valid]
    if values.size == 0 or float(values.max()) <= float(values.min()):
        return np.zeros((h, w), dtype=bool)
    return (response > threshold_otsu(values)) & valid


def parse_regions(regions: str | None) -> tuple[str, ...] | None:
    """``"forehead,eyes"`` -> ``("forehead", "eyes")``; ``"none"`` -> ``()``; None -> None (auto).

    Raises:
        InvalidInputError: an unknown group name.
    """
    if regions is None:
        return None
    names = tuple(r.strip().lower() for r in regions.split(",") if r.strip())
    if names in ((), ("none",)):
        return ()
    bad = [n for n in names if n not in REGION_GROUPS]
    if bad:
        raise InvalidInputError(
            f"unknown region group(s) {bad}; choose from {', '.join(REGION_GROUPS)} or 'none'"
        )
    return names


@dataclass
class BaselineReport:
    """Scores of a baseline over a folder, in the shape ``wds-edge eval`` prints."""

    method: str
    areas: str
    pooled: dict[str, float]
    per_image_mean: dict[str, float]
    images: list[dict[str, Any]] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)
    #: Pooled metrics of each area (``forehead``, ``eyes``; ``fov`` / ``image``).
    per_area: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.pooled,
            "per_image_mean": self.per_image_mean,
            "per_area": self.per_area,
            "n_images": len(self.images),
            "images": self.images,
            "method": self.method,
            "areas": self.areas,
            "problems": self.problems,
        }


def _detect_landmarks(landmarker: Any, image_rgb: np.ndarray) -> np.ndarray:
    """Landmarks (478, 2) of the largest face; a tight face crop (forehead to nose, what
    ``wds-edge label --auto`` writes) is retried with a black border, since the face
    detector wants some context around the face."""
    faces = landmarker.detect(image_rgb)
    if not faces:
        h, w = image_rgb.shape[:2]
        pad = max(h, w) // 2
        padded = cv2.copyMakeBorder(image_rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        faces = landmarker.detect(padded)
        if faces:
            return np.asarray(faces[0].landmarks_px, dtype=np.float64) - pad
        raise InvalidInputError(
            "no face found; the regions protocol needs a face (or --regions none)"
        )
    return np.asarray(faces[0].landmarks_px, dtype=np.float64)


def _landmark_areas(
    lm: np.ndarray, image_rgb: np.ndarray, groups: tuple[str, ...]
) -> tuple[list[tuple[str, np.ndarray]], float]:
    from wds_edge.perception.crop import kiosk_crop
    from wds_edge.perception.regions import region_masks

    # The kiosk's crop; only its geometry is needed here (the crop pixels are dropped).
    _crop, transform = kiosk_crop(image_rgb, lm, _CROP_SIZE_PX, colour_order="rgb")
    masks = region_masks(transform.points_to_crop(lm), _CROP_SIZE_PX)
    areas = []
    for g in groups:
        union = np.zeros((_CROP_SIZE_PX, _CROP_SIZE_PX), dtype=bool)
        for name in REGION_GROUPS[g]:
            union |= masks[name]
        areas.append((g, transform.paste_back(union, image_rgb.shape)))
    return areas, 1.0 / transform.scale


def _fov_for(masks_dir: Path, stem: str, folder: str = "fov") -> Path | None:
    """``<label folder>/<folder>/<stem>.<ext>`` beside a ``masks/`` folder, if there is one.

    Raises:
        DataError: several such files (which one belongs to the photo is anyone's guess).
    """
    fov_dir = masks_dir.parent / folder
    if masks_dir.name != "masks" or not fov_dir.is_dir():
        return None
    hits = sorted(p for p in fov_dir.glob(f"{stem}.*") if p.is_file() and p.stem == stem)
    if len(hits) > 1:
        names = ", ".join(p.name for p in hits)
        raise DataError(f"{fov_dir} holds several files for {stem!r} ({names}); keep one")
    return hits[0] if hits else None


def _saved_landmarks(path: Path, shape_hw: tuple[int, ...]) -> np.ndarray:
    """Crop-space landmarks written by ``wds-edge label --auto`` (OUT/landmarks/<stem>.json)."""
    import json

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        lm = np.asarray(doc["landmarks_crop_px"], dtype=np.float64)
        size = int(doc["crop_size_px"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(f"{path}: unreadable landmarks file ({exc})") from exc
    if lm.ndim != 2 or lm.shape[1] != 2 or tuple(shape_hw[:2]) != (size, size):
        raise InvalidInputError(
            f"{path}: landmarks do not belong to a {shape_hw[1]}x{shape_hw[0]} image"
        )
    return lm


class FairAreas:
    """Where the fair protocol (paper Table 3) scores an image, for ``baseline`` and
    ``eval --regions`` alike: the landmark areas of ``regions`` (``forehead``, ``eyes``)
    cut to the fov, or the fov / the whole image (``none``).

    Args:
        regions: ``"forehead,eyes"``, ``"none"`` or None (:func:`parse_regions`): None is
            the fov when the data has one (``has_fov``), else ``forehead,eyes``.
        has_fov: whether the labels come with fov masks.
        landmarker_path: FaceLandmarker model for images without saved landmarks (opened on
            first use; :meth:`close` it, or use the object as a context manager); refused
            (InvalidInputError) where no landmark area is scored.
        folder_scale: photo pixels per 640-crop pixel of the fov / whole-image areas (the
            landmark areas measure it on the face).
    """

    def __init__(
        self,
        regions: str | None,
        has_fov: bool,
        landmarker_path: str | Path | None = None,
        folder_scale: float = 1.0,
    ) -> None:
        groups = parse_regions(regions)
        self.groups: tuple[str, ...] = (
            groups if groups is not None else () if has_fov else tuple(REGION_GROUPS)
        )
        #: What is measured, for reports: ``forehead, eyes``, ``fov`` or ``whole image``.
        self.description = (
            ", ".join(self.groups) if self.groups else ("fov" if has_fov else "whole image")
        )
        if landmarker_path is not None and not self.groups:
            raise InvalidInputError(
                "--landmarker finds the forehead / eye areas of --regions, and these labels are "
                f"scored on the {self.description}"
                f"{' (their fov/ masks: the default)' if regions is None else ''}: pass "
                "--regions forehead,eyes (or forehead / eyes), or leave out --landmarker"
            )
        self.landmarker_path = landmarker_path
        self.folder_scale = folder_scale
        self._landmarker: Any = None

    def areas(
        self, image_rgb: np.ndarray, fov: np.ndarray | None, landmarks: np.ndarray | None = None
    ) -> tuple[list[tuple[str, np.ndarray]], float]:
        """``([(area name, bool HxW)], scale)`` of one image; ``landmarks`` (478, 2) in its
        pixels when saved, else detected. ``scale``: photo pixels per 640-crop pixel.

        Raises:
            InvalidInputError: no face found (landmark areas only).
        """
        h, w = image_rgb.shape[:2]
        valid = np.ones((h, w), dtype=bool) if fov is None else np.asarray(fov, dtype=bool)
        if not self.groups:
            return [("fov" if fov is not None else "image", valid)], self.folder_scale
        if landmarks is None:
            if self._landmarker is None:
                from wds_edge.perception.landmarks import FaceLandmarker, FaceLandmarkerOptions

                self._landmarker = FaceLandmarker(
                    FaceLandmarkerOptions(model_path=self.landmarker_path, mode="image")
                )
            landmarks = _detect_landmarks(self._landmarker, image_rgb)
        areas, scale = _landmark_areas(landmarks, image_rgb, self.groups)
        return [(g, a & valid) for g, a in areas], scale

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> FairAreas:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def score_areas(
    areas: list[tuple[str, np.ndarray]],
    gt: np.ndarray,
    predict: Callable[[slice, slice, np.ndarray], np.ndarray],
) -> dict[str, ConfusionCounts]:
    """Confusion counts of each area: ``predict(rows, cols, area_crop)`` gives the bool
    prediction of the area's bounding box (plus a small margin), scored inside the area.

    Raises:
        InvalidInputError: every area is empty.
    """
    out: dict[str, ConfusionCounts] = {}
    for name, area in areas:
        ys, xs = np.nonzero(area)
        if ys.size == 0:
            continue
        rows = slice(max(0, ys.min() - _MARGIN_PX), ys.max() + _MARGIN_PX + 1)
        cols = slice(max(0, xs.min() - _MARGIN_PX), xs.max() + _MARGIN_PX + 1)
        a = area[rows, cols]
        out[name] = confusion_counts(predict(rows, cols, a), gt[rows, cols], a)
    if not out:
        raise InvalidInputError("the measured area is empty")
    return out


class AreaScores:
    """Scores of images measured in areas: pooled over every image and area, per image
    (its areas pooled), their mean, and pooled per area (paper Table 3's rows)."""

    def __init__(self) -> None:
        self._per_image = MetricAccumulator()
        self._per_area: dict[str, MetricAccumulator] = {}
        #: ``{"stem", jsi, accuracy, sensitivity, specificity}`` of each scored image.
        self.images: list[dict[str, Any]] = []

    def add(self, stem: str, counts: dict[str, ConfusionCounts]) -> None:
        total = ConfusionCounts()
        for name, c in counts.items():
            self._per_area.setdefault(name, MetricAccumulator()).counts.append(c)
            total = total + c
        self._per_image.counts.append(total)
        self.images.append({"stem": stem, **metrics_from_counts(total)})

    def pooled(self) -> dict[str, float]:
        return self._per_image.pooled()

    def per_image_mean(self) -> dict[str, float]:
        return self._per_image.per_image_mean()

    def per_area(self) -> dict[str, dict[str, float]]:
        return {name: acc.pooled() for name, acc in self._per_area.items()}


def _filtered(
    image_rgb: np.ndarray, mode: BaselineMethod, scale: float
) -> Callable[[slice, slice, np.ndarray], np.ndarray]:
    """:func:`score_areas`'s ``predict`` for a classic filter: it sees the area's crop only,
    everything outside the area filled black."""
    return lambda rows, cols, area: baseline_segment(image_rgb[rows, cols], mode, area, scale)


def evaluate_baseline(
    images_dir: str | Path,
    masks_dir: str | Path,
    method: BaselineMethod | str,
    *,
    regions: str | None = None,
    landmarker_path: str | Path | None = None,
    mask_threshold: int | None = None,
    progress: ProgressCallback | None = None,
) -> BaselineReport:
    """Score a classic detector against binary labels under the fair protocol.

    Args:
        images_dir: photos (or ``wds-edge label`` crops).
        masks_dir: binary labels matched by file stem (a ``masks/`` folder with a sibling
            ``fov/`` restricts scoring to the fov).
        method: ``hessian`` or ``gabor``.
        regions: ``"forehead,eyes"`` (landmark areas), ``"none"`` (fov / whole image), or
            None: the fov when there is one, else ``forehead,eyes``.
        landmarker_path: FaceLandmarker model for the landmark areas.
        mask_threshold: threshold for non-binary labels and fov masks. Labels and fov masks
            are read by :func:`wds_edge_train.data.read_mask`, as ``train`` and ``eval``
            read them (mostly-foreground labels inverted, non-binary ones refused), so the
            baselines are scored against the same ground truth as the U-Net.
        progress: called as ``progress(done, total, file_name)``.

    Returns:
        Pooled and per-image-mean JSI / accuracy / sensitivity / specificity; images
        that fail (unreadable, no face, size mismatch) are listed in ``problems``.
    """
    from wds_edge_train.agreement import label_files
    from wds_edge_train.data import read_mask
    from wds_edge_train.labeling.runner import labelled_face_crop_px

    mode = _method(method)
    masks = label_files(masks_dir)
    images = label_files(images_dir, "images")
    masks_root = (
        Path(masks_dir) / "masks" if (Path(masks_dir) / "masks").is_dir() else Path(masks_dir)
    )
    has_fov = any(_fov_for(masks_root, s) for s in masks)
    # Without landmarks the filters' scale comes from the label folder: its face crops are
    # labels.json's crop size (the landmark areas measure the face in each photo instead).
    crop_px = labelled_face_crop_px(masks_root.parent) if masks_root.name == "masks" else None
    folder_scale = crop_px / _CROP_SIZE_PX if crop_px else 1.0
    scores = AreaScores()
    with FairAreas(regions, has_fov, landmarker_path, folder_scale) as fair:
        report = BaselineReport(mode.value, fair.description, {}, {})
        for n, (stem, mask_path) in enumerate(masks.items(), start=1):
            try:
                if stem not in images:
                    raise InvalidInputError(f"no photo named {stem}.* in {images_dir}")
                image_rgb = cv2.cvtColor(read_image(images[stem]), cv2.COLOR_BGR2RGB)
                gt = read_mask(mask_path, mask_threshold)
                if gt.shape != image_rgb.shape[:2]:
                    raise InvalidInputError(
                        f"{mask_path}: label {gt.shape[1]}x{gt.shape[0]} does not match the photo "
                        f"{image_rgb.shape[1]}x{image_rgb.shape[0]}"
                    )
                fov_path = _fov_for(masks_root, stem)
                fov = read_mask(fov_path, mask_threshold, allow_invert=False) if fov_path else None
                lm_path = _fov_for(masks_root, stem, "landmarks") if fair.groups else None
                lm = _saved_landmarks(lm_path, image_rgb.shape) if lm_path else None
                areas, scale = fair.areas(image_rgb, fov, lm)
                scores.add(stem, score_areas(areas, gt, _filtered(image_rgb, mode, scale)))
            except WdsEdgeError as exc:
                report.problems[stem] = str(exc)
                logger.warning("%s: skipped: %s", mask_path, exc)
            if progress is not None:
                progress(n, len(masks), mask_path.name)
    if not scores.images:
        raise InvalidInputError(
            f"no image could be scored ({len(report.problems)} failed); first problem: "
            f"{next(iter(report.problems.values()), 'no labels')}"
        )
    report.images = scores.images
    report.pooled = scores.pooled()
    report.per_image_mean = scores.per_image_mean()
    report.per_area = scores.per_area()
    return report
