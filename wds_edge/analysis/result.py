"""Results are values: what one analysed frame produced, turned into JSON on request.

A :class:`FrameResult` always exists, whatever the frame: "no face", "too blurry" or
"turned away" are its ``status`` (a :class:`wds_edge.perception.quality.FrameStatus`), with a
``prompt`` the kiosk can show. When the frame was good and segmented it also holds the
wrinkle probability and mask in crop space, and :class:`RegionScore` per region.
"""

from __future__ import annotations

import base64
import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

if TYPE_CHECKING:
    from wds_edge.perception.crop import CropTransform
    from wds_edge.perception.face_crop import FaceCrop
    from wds_edge.perception.quality import FrameStatus
    from wds_edge.perception.skin_regions import SkinRegions

__all__ = ["RegionScore", "FrameResult", "encode_mask_png", "decode_mask_png"]


@dataclass
class RegionScore:
    """Wrinkle scores of one facial region (or ``"overall"``), in crop space.

    Attributes:
        area_px: pixels in the region.
        wrinkle_px: wrinkle pixels in the region.
        wrinkle_ratio: paper Eq. 12, ``wrinkle_px / area_px`` in [0, 1] (0 for an empty region).
        wrinkle_count: connected wrinkle components (8-connectivity, specks ignored).
        total_length_px: skeleton length (1 per straight step, sqrt(2) per diagonal step).
        total_length_mm: the same in millimetres (iris ruler), ``None`` without a ruler.
        removed_px: pixels of the region's outline left out as not skin (lid margins, brows,
            hairline, face outline, nostrils, lips, glasses: exclusion zones); ``area_px``
            is what remains.
    """

    area_px: int
    wrinkle_px: int
    wrinkle_ratio: float
    wrinkle_count: int
    total_length_px: float
    total_length_mm: float | None = None
    removed_px: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (floats rounded to 6 significant decimals)."""
        data = asdict(self)
        data["wrinkle_ratio"] = round(float(self.wrinkle_ratio), 6)
        data["total_length_px"] = round(float(self.total_length_px), 3)
        if self.total_length_mm is not None:
            data["total_length_mm"] = round(float(self.total_length_mm), 3)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegionScore:
        return cls(
            area_px=int(data["area_px"]),
            wrinkle_px=int(data["wrinkle_px"]),
            wrinkle_ratio=float(data["wrinkle_ratio"]),
            wrinkle_count=int(data["wrinkle_count"]),
            total_length_px=float(data["total_length_px"]),
            total_length_mm=None
            if data.get("total_length_mm") is None
            else float(data["total_length_mm"]),
            removed_px=int(data.get("removed_px", 0)),
        )


def encode_mask_png(image: np.ndarray) -> str:
    """A uint8 / bool 2-D array as base64 PNG text (bool -> 0 / 255)."""
    arr = image.astype(np.uint8) * 255 if image.dtype == bool else image.astype(np.uint8)
    ok, buf = cv2.imencode(".png", arr)
    if not ok:  # pragma: no cover - PNG encoding of a 2-D uint8 array does not fail
        raise ValueError("PNG encoding failed")
    return base64.b64encode(buf.tobytes()).decode("ascii")


def decode_mask_png(text: str) -> np.ndarray:
    """Inverse of :func:`encode_mask_png`: uint8 2-D array."""
    buf = np.frombuffer(base64.b64decode(text), dtype=np.uint8)
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


def _clean(value: Any) -> Any:
    """Make numpy scalars / tuples / non-finite floats JSON-safe."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return round(f, 4) if math.isfinite(f) else None
    return value


@dataclass
class FrameResult:
    """Everything the analyzer learned about one frame (see the module docstring).

    Attributes:
        status: quality gate outcome (``FrameStatus.OK`` when a face was usable).
        prompt: what the kiosk should ask of the person (``status.prompt``).
        frame_shape: (height, width) of the analysed frame in pixels.
        face_box_px: (x1, y1, x2, y2) of the chosen face in frame pixels, or ``None``.
        landmarks_px: float32 (478, 2) MediaPipe landmarks in frame pixels, or ``None``.
        crop_transform: frame <-> crop mapping (paper Table 1 box), or ``None``.
        wrinkle_prob: float32 S x S wrinkle probability in crop space, or ``None``.
        wrinkle_mask: bool S x S (probability > threshold), or ``None``.
        scores: ``"overall"`` and one :class:`RegionScore` per region (empty if not segmented).
        quality: the quality measures behind ``status`` (sharpness, brightness, yaw, ...).
        timings_ms: milliseconds per stage (``landmarks``, ``quality``, ``crop_preprocess``,
            ``inference``, ``postprocess``, ``total``; ``decode`` when the caller decoded).
        mm_per_px: crop-space millimetres per pixel from the iris ruler, or ``None``.
        model: ``name``, ``version``, ``backend``, ``precision``, ``device``, ``threshold``.
        segmented: whether the segmentation model ran on this frame.
        timestamp_ms: the frame's timestamp when the caller gave one.
        colour: ``"colour"`` or ``"grey"`` (one channel / three equal channels), ``None``
            when not measured; a grey frame has the status ``needs_colour_camera`` unless
            the model was trained for grey input.
        expression: ``{"smile", "brow_raise", "frown"}`` scores in [0, 1] from MediaPipe's
            blendshapes (:mod:`wds_edge.perception.expression`), ``None`` without a face.
        warnings: conditions that do not refuse the frame but qualify its scores, e.g.
            ``"not_neutral"`` (a smile or raised brows deepen lines).
        face_crop: the frame's one :class:`~wds_edge.perception.face_crop.FaceCrop` (crop
            pixels, landmarks in crop space, in-frame mask) shared by the quality gate, the
            colour check and the model; not part of the JSON.
        counted_regions: the :class:`~wds_edge.perception.skin_regions.SkinRegions` the
            scores counted (drawn by the overlay); not part of the JSON.
    """

    status: FrameStatus
    prompt: str
    frame_shape: tuple[int, int]
    face_box_px: tuple[float, float, float, float] | None = None
    landmarks_px: np.ndarray | None = None
    crop_transform: CropTransform | None = None
    wrinkle_prob: np.ndarray | None = None
    wrinkle_mask: np.ndarray | None = None
    scores: dict[str, RegionScore] = field(default_factory=dict)
    quality: dict[str, float] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    mm_per_px: float | None = None
    model: dict[str, Any] = field(default_factory=dict)
    segmented: bool = False
    timestamp_ms: int | None = None
    colour: str | None = None
    expression: dict[str, float] | None = None
    warnings: list[str] = field(default_factory=list)
    face_crop: FaceCrop | None = field(default=None, repr=False)
    counted_regions: SkinRegions | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """True when the frame passed the quality gates."""
        return str(getattr(self.status, "value", self.status)) == "ok"

    def frame_mask(self) -> np.ndarray | None:
        """The wrinkle mask pasted back into the analysed frame, for overlaying elsewhere.

        Returns:
            uint8 ``H x W`` (the frame's own size and orientation, ``frame_shape``) with 255
            on wrinkle pixels and 0 elsewhere (also outside the face crop); the same
            pixels :func:`wds_edge.analysis.overlay.draw_overlay` colours. ``None`` when the
            model did not run on this frame (no face, a quality gate refused it).
        """
        if self.wrinkle_mask is None or self.crop_transform is None:
            return None
        pasted = self.crop_transform.paste_back(self.wrinkle_mask, self.frame_shape)
        return pasted.astype(np.uint8) * 255

    @property
    def landmarks_crop_px(self) -> np.ndarray | None:
        """float64 (478, 2) landmarks in crop pixels (``None`` without a located face)."""
        if self.face_crop is not None:
            return self.face_crop.landmarks_crop_px
        if self.crop_transform is None or self.landmarks_px is None:
            return None
        return self.crop_transform.points_to_crop(self.landmarks_px)

    @property
    def sharpness(self) -> float:
        """The quality gate's sharpness measure (0 when not measured)."""
        return float(self.quality.get("sharpness", 0.0))

    def to_dict(self, include_arrays: bool = False) -> dict[str, Any]:
        """JSON-ready dict.

        Keys: ``status``, ``prompt``, ``segmented``, ``frame_shape``, ``face_box_px``,
        ``crop_transform``, ``scores`` (``overall`` + regions, each a
        :meth:`RegionScore.to_dict`), ``mm_per_px``, ``quality``, ``timings_ms``, ``model``,
        ``timestamp_ms``, ``colour``, ``expression``, ``warnings``. With ``include_arrays``:
        ``landmarks_px`` (478 x [x, y]) and
        ``wrinkle_mask_png`` / ``wrinkle_prob_png`` (base64 PNG, probability scaled to 0-255).
        """
        data: dict[str, Any] = {
            "status": str(getattr(self.status, "value", self.status)),
            "prompt": self.prompt,
            "segmented": self.segmented,
            "frame_shape": [int(v) for v in self.frame_shape],
            "face_box_px": _clean(self.face_box_px),
            "crop_transform": _clean(self.crop_transform.to_dict())
            if self.crop_transform is not None
            else None,
            "scores": {name: s.to_dict() for name, s in self.scores.items()},
            "mm_per_px": _clean(self.mm_per_px),
            "quality": _clean(self.quality),
            "timings_ms": {k: round(float(v), 3) for k, v in self.timings_ms.items()},
            "model": _clean(self.model),
            "timestamp_ms": _clean(self.timestamp_ms),
            "colour": self.colour,
            "expression": _clean(self.expression),
            "warnings": list(self.warnings),
        }
        if include_arrays:
            data["landmarks_px"] = (
                np.round(self.landmarks_px.astype(float), 2).tolist()
                if self.landmarks_px is not None
                else None
            )
            data["wrinkle_mask_png"] = (
                encode_mask_png(self.wrinkle_mask) if self.wrinkle_mask is not None else None
            )
            data["wrinkle_prob_png"] = (
                encode_mask_png(np.clip(self.wrinkle_prob * 255.0 + 0.5, 0, 255))
                if self.wrinkle_prob is not None
                else None
            )
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrameResult:
        """Rebuild a result from :meth:`to_dict` output (the crop transform stays ``None``;
        landmarks and the mask come back when they were included)."""
        from wds_edge.perception.quality import FrameStatus

        landmarks = data.get("landmarks_px")
        mask_png = data.get("wrinkle_mask_png")
        prob_png = data.get("wrinkle_prob_png")
        box = data.get("face_box_px")
        return cls(
            status=FrameStatus(data["status"]),
            prompt=data.get("prompt", ""),
            frame_shape=tuple(int(v) for v in data["frame_shape"]),  # type: ignore[arg-type]
            face_box_px=tuple(float(v) for v in box) if box is not None else None,  # type: ignore[arg-type]
            landmarks_px=np.asarray(landmarks, dtype=np.float32) if landmarks else None,
            wrinkle_mask=decode_mask_png(mask_png) > 127 if mask_png else None,
            wrinkle_prob=decode_mask_png(prob_png).astype(np.float32) / 255.0 if prob_png else None,
            scores={k: RegionScore.from_dict(v) for k, v in data.get("scores", {}).items()},
            quality={k: float(v) for k, v in data.get("quality", {}).items() if v is not None},
            timings_ms={k: float(v) for k, v in data.get("timings_ms", {}).items()},
            mm_per_px=data.get("mm_per_px"),
            model=dict(data.get("model", {})),
            segmented=bool(data.get("segmented", False)),
            timestamp_ms=data.get("timestamp_ms"),
            colour=data.get("colour"),
            expression=dict(data["expression"]) if data.get("expression") else None,
            warnings=list(data.get("warnings", [])),
        )
