"""Results are values: what one analysed frame produced, turned into JSON on request.

A :class:`FrameResult` always exists, whatever the frame: "no face", "too blurry" or
"turned away" are its ``status`` (a :class:`wds_edge.perception.quality.FrameStatus`), with a
``prompt`` the kiosk can show. When the frame was good and segmented it also holds the
wrinkle probability and mask in crop space, and :class:`RegionScore` per region.
"""

from __future__ import annotations

import base64
import binascii
import math
import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from wds_edge._checks import is_finite_number, is_flag
from wds_edge.errors import InvalidInputError

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
    def from_dict(cls, data: Mapping[str, Any]) -> RegionScore:
        """Rebuild a score from :meth:`to_dict` output.

        Raises:
            InvalidInputError: a missing key or a value that is not a number.
        """
        try:
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
        except KeyError as exc:
            raise InvalidInputError(
                f"a region score needs {exc.args[0]!r} (got {_shown(data)}); pass a dict "
                "written by RegionScore.to_dict()"
            ) from None
        except (TypeError, ValueError, AttributeError, OverflowError):
            raise InvalidInputError(
                f"a region score holds numbers, got {_shown(data)}; pass a dict written by "
                "RegionScore.to_dict()"
            ) from None


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
        colour: ``"colour"`` or ``"grey"`` (one channel / three equal channels; a grey
            picture with a constant tint is colour, refused as ``colour_cast``), ``None``
            when not measured; a grey frame has the
            status ``needs_colour_camera`` unless the model was trained for grey input.
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
            "crop_transform": _transform_dict(self.crop_transform),
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
    def from_dict(cls, data: Mapping[str, Any]) -> FrameResult:
        """Rebuild a result from :meth:`to_dict` output: its crop transform (so
        :meth:`frame_mask` and :func:`~wds_edge.analysis.overlay.draw_overlay` place the mask,
        box and regions as for the live result), and landmarks and the mask when they were
        included. Not rebuilt: ``face_crop`` and ``counted_regions`` (they need the crop's
        pixels; the overlay then draws the region polygons).

        A fused capture's dict (:meth:`~wds_edge.analysis.final.FinalResult.to_dict`, the
        JSON of a video or a kiosk session, ``"fused": true``) is refused: rebuild it with
        :meth:`FinalResult.from_dict <wds_edge.analysis.final.FinalResult.from_dict>`,
        which keeps what the capture was (its kind, frames used, per-frame spread: what
        :func:`~wds_edge.analysis.compare.compare_results` judges a capture by; its
        reference frame alone would compare as a single photo) and whose ``result`` is the
        reference frame with the fused map, mask and scores.

        Raises:
            InvalidInputError: not a frame result: a fused capture's dict, a batch's error
                outcome (``"status": "error"``), an unknown status, a key of the wrong
                form (the message names it), a crop transform whose matrix is singular, or
                a mask / probability map of another size than the crop transform's.
        """
        from wds_edge.perception.quality import FrameStatus

        if not isinstance(data, Mapping):
            raise InvalidInputError(
                f"a frame result is a dict, got {type(data).__name__}; {_FROM_DICT_HINT}"
            )
        if "frame" in data and "frame_shape" not in data:  # a fused capture: FinalResult
            raise InvalidInputError(
                f"this is a fused capture's result (status {_shown(data.get('status'))}, "
                f"capture {_shown(data.get('capture'))}), not one frame's: rebuild it with "
                "FinalResult.from_dict(data) (`from wds_edge import FinalResult`); its .result is "
                "the reference frame with the fused scores"
            )
        status = data.get("status")
        _refuse_error_outcome(data, "a frame result")
        try:
            status = FrameStatus(status)
        except ValueError:
            known = ", ".join(s.value for s in FrameStatus)
            raise InvalidInputError(
                f"status {_shown(status)} is not a frame status (one of {known}); {_FROM_DICT_HINT}"
            ) from None

        def read(key: str, expected: str, convert: Any, default: Any = None) -> Any:
            return _read_key(
                data, key, expected, convert, default, "a frame result", _FROM_DICT_HINT
            )

        transform = read(
            "crop_transform",
            "null or a table with box_px [x1, y1, x2, y2], size_px (>= 8), roll_deg and "
            "matrix (2 x 3)",
            _optional(_crop_transform),
        )
        mask = read("wrinkle_mask_png", "null or base64 PNG text", _optional(_png_mask))
        prob = read("wrinkle_prob_png", "null or base64 PNG text", _optional(_png_prob))
        if transform is not None:
            side = (transform.size_px, transform.size_px)
            for key, image in (("wrinkle_mask_png", mask), ("wrinkle_prob_png", prob)):
                if image is not None and image.shape != side:
                    raise InvalidInputError(
                        f"a frame result's {key!r} is {image.shape[1]}x{image.shape[0]}, but its "
                        f"crop_transform's crop is {side[0]}x{side[1]}: they belong to different "
                        f"results; {_FROM_DICT_HINT}"
                    )
        return cls(
            status=status,
            prompt=read("prompt", "text", _optional(_text), ""),
            frame_shape=read("frame_shape", "[height, width]", _frame_shape),
            face_box_px=read("face_box_px", "null or [x1, y1, x2, y2]", _optional(_box)),
            landmarks_px=read("landmarks_px", "null or [[x, y], ...]", _optional(_points)),
            crop_transform=transform,
            wrinkle_mask=mask,
            wrinkle_prob=prob,
            scores=read("scores", "a table of region scores", _scores),
            quality=read("quality", "a table of numbers", _numbers),
            timings_ms=read("timings_ms", "a table of numbers", _numbers),
            mm_per_px=read("mm_per_px", "null or a number", _optional(_number)),
            model=read("model", "a table", lambda v: dict(_table(v))),
            segmented=read("segmented", "true or false", _flag, False),
            timestamp_ms=read("timestamp_ms", "null or a number", _optional(_timestamp)),
            colour=read("colour", "null or text", _optional(_text)),
            expression=read("expression", "null or a table of numbers", _expression),
            warnings=read("warnings", "a list of names", _names),
        )


#: How to get a dict :meth:`FrameResult.from_dict` reads.
_FROM_DICT_HINT = (
    "pass a dict written by FrameResult.to_dict() (the JSON `wds-edge analyze` writes for "
    "one input)"
)


def _refuse_error_outcome(data: Mapping[str, Any], what: str) -> None:
    """Refuse a batch's error outcome (``"status": "error"``) passed as ``what``."""
    if data.get("status") == "error":
        raise InvalidInputError(
            f"this is the error outcome of a batch ({data.get('input', 'an input')!s}: "
            f"{str(data.get('error'))[:80]}), not {what}; skip outcomes whose status is 'error'"
        )


def _read_key(
    data: Mapping[str, Any],
    key: str,
    expected: str,
    convert: Any,
    default: Any = None,
    what: str = "a frame result",
    hint: str = "",
) -> Any:
    """``convert(data[key])`` for a ``from_dict``; a value of the wrong form (any error of
    ``convert`` but an :class:`InvalidInputError`, which says more) is an
    :class:`InvalidInputError` naming the key, what was expected and ``hint``."""
    value = data.get(key, default)
    try:
        return convert(value)
    except InvalidInputError:
        raise
    except (
        TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError, cv2.error,
    ):  # fmt: skip
        raise InvalidInputError(
            f"{what}'s {key!r} must be {expected}, got {_shown(value)}; {hint}"
        ) from None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _optional(convert: Any) -> Any:
    return lambda value: None if value is None else convert(value)


def _number(value: Any) -> float:
    if not is_finite_number(value):
        raise TypeError(value)
    return float(value)


def _timestamp(value: Any) -> int | float:
    number = _number(value)
    return int(value) if isinstance(value, numbers.Integral) else number


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _flag(value: Any) -> bool:
    if not is_flag(value):
        raise TypeError(value)
    return value


def _table(value: Any) -> Mapping[str, Any]:
    """A JSON object (``null``: an empty one)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(value)
    return value


def _numbers(value: Any) -> dict[str, float]:
    """A table of numbers; ``null`` entries (non-finite measures) are left out."""
    return {str(k): _number(v) for k, v in _table(value).items() if v is not None}


def _expression(value: Any) -> dict[str, float] | None:
    return _numbers(value) or None


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise TypeError(value)
    return [_text(v) for v in value]


def _frame_shape(value: Any) -> tuple[int, int]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise TypeError(value)
    if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1 for v in value):
        raise ValueError(value)
    return int(value[0]), int(value[1])


def _box(value: Any) -> tuple[float, float, float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        raise TypeError(value)
    return tuple(_number(v) for v in value)  # type: ignore[return-value]


def _transform_dict(transform: CropTransform | None) -> dict[str, Any] | None:
    """:meth:`CropTransform.to_dict` for the JSON, its matrices at full precision: rounded to
    4 decimals, a matrix entry times a frame coordinate of ~1000 px would move the rebuilt
    mask by a tenth of a pixel (41 of 2787 pasted pixels of biden2.jpg changed)."""
    if transform is None:
        return None
    data = _clean(transform.to_dict())
    data["matrix"] = [[float(v) for v in row] for row in transform.matrix]
    data["inverse"] = [[float(v) for v in row] for row in transform.inverse]
    return data


def _crop_transform(value: Any) -> CropTransform:
    """A :class:`CropTransform` from its JSON table (a singular matrix: InvalidInputError)."""
    from wds_edge.perception.crop import CropTransform

    table = _table(value)
    size = table["size_px"]
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 8:
        raise ValueError(size)
    _box(table["box_px"])
    _number(table["roll_deg"])
    try:
        return CropTransform.from_dict(table)
    except InvalidInputError as exc:  # a singular matrix: the message says why
        raise InvalidInputError(f"a frame result's 'crop_transform': {exc}") from None


def _points(value: Any) -> np.ndarray:
    points = np.asarray(value, dtype=np.float32)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(value)
    return points


def _png(value: Any) -> np.ndarray:
    try:
        image = decode_mask_png(_text(value))
    except binascii.Error:
        raise ValueError(value) from None
    if image is None:  # not a PNG OpenCV can decode
        raise ValueError(value)
    return image


def _png_mask(value: Any) -> np.ndarray:
    return _png(value) > 127


def _png_prob(value: Any) -> np.ndarray:
    return _png(value).astype(np.float32) / 255.0


def _scores(value: Any) -> dict[str, RegionScore]:
    scores = {}
    for name, score in _table(value).items():
        try:
            scores[str(name)] = RegionScore.from_dict(score)
        except InvalidInputError as exc:
            raise InvalidInputError(f"a frame result's scores[{name!r}]: {exc}") from None
    return scores
