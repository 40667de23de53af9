"""Quality gates for kiosk frames: is this frame good enough to score wrinkles?

The outcome is a :class:`FrameStatus` (a value, never an exception) plus the
measured numbers, so a kiosk UI can tell the person what to do
(``status.prompt``). Gates, in the order they are applied:

1. ``NO_FACE``: the landmarker found nothing.
2. ``MULTIPLE_FACES``: more than one face and ``multi_face_policy="refuse"``
   (with ``"largest"`` the largest face is used).
3. ``FACE_TOO_SMALL``: the distance between the iris centres is below
   ``min_eye_distance_px`` frame pixels. Eye distance is used rather than the
   crop width because it does not depend on hair, ears or yaw, and it is what
   the millimetre ruler is built on.
4. ``TURNED_AWAY``: |yaw|, |pitch| or |roll| above its limit.
   ``FACE_CUT_OFF``: less than ``min_regions_in_frame`` of the scoring regions' outlines
   (forehead, glabella, crow's feet, under-eyes: :func:`~wds_edge.perception.regions.region_masks`)
   lies inside the frame: a forehead above the picture's top edge would leave "overall" the
   union of what is left (biden.jpg with its top 334 rows cut: overall 0.7 -> 6.5 %). Every
   shared photo and clip frame measures 1.000; biden.jpg cut by 250 rows 0.90.
5. ``TOO_DARK`` / ``OVEREXPOSED``: mean luma of the facial skin outside
   [``min_brightness``, ``max_brightness``] (0-255).
6. ``TOO_BLURRY``: :func:`sharpness` of the skin in the Table 1 crop at 640 px
   (:data:`SHARPNESS_SOURCE_PX`, the size ``min_sharpness`` was calibrated on), area-resized to
   ``sharpness_size_px`` (256), is below ``min_sharpness``. With a 640 px model that is the
   model's crop itself (the one crop of the frame); a model of another input size costs one
   more warp of the frame's grey pixels at 640 px (a few ms on a desktop CPU core; the skin
   mask is the model crop's, resized), because its own crop would not do: a 128 px crop
   enlarged to 256 px reads blocky pixels as sharp (biden2.jpg blurred by a 6 px Gaussian:
   38, ok, against 2.8 at 640 px) and one warped straight at 256 px aliases (biden.jpg 130
   against 77). So the number is the same, within about 10 %, for a 128, 256 or 640 px model
   (tests/wds_edge/perception/test_quality.py), and independent of the camera's resolution
   and the face's distance as long as the face box spans at least ``sharpness_size_px``
   frame pixels. A smaller face is measured at its box's own side in
   frame pixels instead: enlarged to 256 px it would look blurred however sharp the camera
   (biden2.jpg at 0.35 x, a 159 px box: 27 at 256 px, 91 at its own size), and be told to
   hold still when it should move closer. That gate value (``sharpness``) reads higher the
   smaller the face, so frames are compared by ``sharpness_ranked``, measured at
   ``sharpness_size_px`` whatever the face's size (the same value for a box of 256 px and
   more): :class:`~wds_edge.analysis.session.KioskSession` fuses the sharpest frames by it,
   and a nearer, equally sharp face ranks above a farther one (biden2.jpg at 0.6 x, a 269 px
   box, and 0.4 x, 182 px, in 640 px crops: gate values 57 and 77, ranked 57 and 34).

Default ``min_sharpness = 15`` comes from the reference clip
``portrait_motion_720p.mp4``: sharp frames 0-179 measure 32-105 (median ~75),
the blurred frames 180-209 measure 3-4; the real photos in ``data/faces`` measure
well above 15 (see tests). Measured since issue 21 on the 640 px model crop resized to
256 px (every third frame): sharp frames at least 32 (median 50), blurred ones at most 3.6; the
photos in ``data/faces`` 36-405 and in ``data/faces_pd`` 16.5-179 (small, soft portraits).
Since faces smaller than the measuring size are measured at their own size, the portraits of
``data/faces_pd`` that pass the size gate (face boxes of 136-236 px) measure 36-425; the shared
photos scaled down with area interpolation until their eyes are 64 px apart 35-395, and the
same frames blurred by a 3 px Gaussian at most 9.2 (tests/wds_edge/perception/test_quality.py).

7. ``NEEDS_COLOUR_CAMERA`` / ``COLOUR_CAST``: the colour gates, applied after these by the
   locate step (:func:`wds_edge.perception.locate.gate_faces`, which runs
   :func:`assess_face_crop` and then :func:`~wds_edge.perception.locate.colour_gate`): they
   need to know whether the model takes grey input, which these gates do not.
   ``check_white_balance`` is theirs; :func:`assess_face_crop` alone applies gates 1-6.

Colour: :func:`colour_of` tells a grey frame (one channel, or three equal channels, as
a monochrome / IR camera or a black-and-white photo gives) from a colour one. The
locate step turns a frame whose face is grey into ``NEEDS_COLOUR_CAMERA`` unless the model's
metadata says it was trained for grey input: the model sees RGB, and grey input would give
confident-looking wrong scores. An RGB array passed where BGR is expected cannot be
told apart from a BGR one in general, which is why the analyzer takes the colour
order as an explicit argument.
"""

from __future__ import annotations

from enum import Enum
from typing import ClassVar, Literal

import cv2
import numpy as np
from pydantic import ConfigDict, Field, model_validator

from wds_edge._settings import Settings
from wds_edge.errors import InvalidInputError
from wds_edge.model.preprocessing import check_uint8_image
from wds_edge.perception.exclusion import union
from wds_edge.perception.face import Face
from wds_edge.perception.face_crop import FaceCrop, crop_face
from wds_edge.perception.regions import region_masks

__all__ = [
    "FrameStatus",
    "QualityConfig",
    "DEFAULT_CROP_SIZE_PX",
    "SHARPNESS_SOURCE_PX",
    "sharpness",
    "assess_face",
    "assess_face_crop",
    "colour_of",
]

#: Crop side used when the caller names none: the paper's (and the bundled model's) 640 px.
DEFAULT_CROP_SIZE_PX = 640
#: Side of the Table 1 crop that sharpness and brightness are measured from (area-resized to
#: ``QualityConfig.sharpness_size_px``): the size ``min_sharpness`` was calibrated on. A model
#: of another input size costs one more warp of the frame at this size per frame.
SHARPNESS_SOURCE_PX = DEFAULT_CROP_SIZE_PX


class FrameStatus(str, Enum):
    """Outcome of the quality gates for one frame (``.prompt``: what to ask of the person)."""

    OK = "ok"
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    FACE_TOO_SMALL = "face_too_small"
    TOO_BLURRY = "too_blurry"
    TOO_DARK = "too_dark"
    OVEREXPOSED = "overexposed"
    TURNED_AWAY = "turned_away"
    FACE_CUT_OFF = "face_cut_off"
    NEEDS_COLOUR_CAMERA = "needs_colour_camera"
    COLOUR_CAST = "colour_cast"

    @property
    def prompt(self) -> str:
        """Short instruction for the kiosk screen."""
        return _PROMPTS[self]


_PROMPTS = {
    FrameStatus.OK: "hold still",
    FrameStatus.NO_FACE: "step in front of the camera",
    FrameStatus.MULTIPLE_FACES: "one person at a time, please",
    FrameStatus.FACE_TOO_SMALL: "move closer",
    FrameStatus.TOO_BLURRY: "hold still",
    FrameStatus.TOO_DARK: "more light, please",
    FrameStatus.OVEREXPOSED: "too bright: step out of direct light",
    FrameStatus.TURNED_AWAY: "look straight at the camera",
    FrameStatus.FACE_CUT_OFF: "keep your whole face in the picture",
    FrameStatus.NEEDS_COLOUR_CAMERA: "this camera gives grey images: a colour camera is needed",
    FrameStatus.COLOUR_CAST: (
        "the colours are off: use neutral white light and a colour camera on automatic white "
        "balance with normal colour saturation"
    ),
}

#: Mean absolute difference between colour channels (0-255) below which a frame is grey.
#: Real colour face photos in ``data/faces`` measure 11-69; a grey image saved as a
#: three-channel JPEG measures 0.
GREY_MAX_CHANNEL_DIFF = 2.0


class QualityConfig(Settings):
    """Thresholds of the quality gates (see the module docstring for their order).

    Raises:
        InvalidInputError: a threshold out of range or not finite, an unknown field.
    """

    _settings_name: ClassVar[str] = "quality settings"
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    multi_face_policy: Literal["largest", "refuse"] = Field(
        "largest", description="several faces: use the largest, or refuse the frame"
    )
    min_eye_distance_px: float = Field(
        60.0, ge=0, description="minimum distance between iris centres, frame pixels"
    )
    min_sharpness: float = Field(
        15.0,
        ge=0,
        description="minimum variance of the Laplacian of the face crop's skin, measured at "
        "sharpness_size_px",
    )
    sharpness_size_px: int = Field(
        256,
        ge=32,
        description="crop side used to measure sharpness, area-resized from the face's "
        "640 px crop whatever the model's input size (a face box narrower than this in "
        "frame pixels is measured at its own side: never enlarged)",
    )
    min_brightness: float = Field(50.0, ge=0, le=255, description="minimum mean skin luma")
    max_brightness: float = Field(215.0, ge=0, le=255, description="maximum mean skin luma")
    max_yaw_deg: float = Field(25.0, ge=0, le=180)
    max_pitch_deg: float = Field(25.0, ge=0, le=180)
    max_roll_deg: float = Field(20.0, ge=0, le=180)
    min_regions_in_frame: float = Field(
        0.98, ge=0, le=1, description="minimum share of the scoring regions inside the frame"
    )
    check_white_balance: bool = Field(
        True,
        description="refuse a face whose skin colour no real light gives (far-off white "
        "balance, or flat skin chroma: a tinted grey or washed-out colour picture; "
        "wds_edge.perception.colour) with the status colour_cast, and grey skin (equal channels: a "
        "mono / IR camera) with needs_colour_camera; applied by the locate step's colour gate "
        "(wds_edge.perception.locate.gate_faces), not by assess_face_crop alone",
    )

    @model_validator(mode="after")
    def _brightness_range(self) -> QualityConfig:
        # The one min / max pair: a range with min above max would refuse every frame.
        if self.min_brightness > self.max_brightness:
            raise ValueError(
                f"min_brightness ({self.min_brightness:g}) must not be above max_brightness "
                f"({self.max_brightness:g}): no frame could pass both gates; swap them or "
                "widen the range"
            )
        return self


def _grey(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.size == 0:
        raise InvalidInputError(f"expected a non-empty image array, got {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 2:
        return image
    raise InvalidInputError(f"expected a BGR (H, W, 3) or grey (H, W) image, got {image.shape}")


def _bgr(frame: np.ndarray) -> np.ndarray:
    """A grey (H, W) / (H, W, 1) frame as 3-channel BGR (the crop wants colour)."""
    if frame.ndim == 2 or frame.shape[2] == 1:
        return cv2.cvtColor(frame.reshape(frame.shape[:2]), cv2.COLOR_GRAY2BGR)
    return frame


def colour_of(image: np.ndarray) -> Literal["grey", "colour"]:
    """``"grey"`` for a one-channel image or one whose three channels are (nearly) equal.

    Args:
        image: (H, W), (H, W, 1) or (H, W, 3) uint8 in any colour order.

    Returns:
        ``"grey"`` when the mean absolute difference between channels (on every 8th
        pixel of every 8th row) is below :data:`GREY_MAX_CHANNEL_DIFF`, else ``"colour"``.
    """
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return "grey"
    sample = image[::8, ::8, :3].astype(np.int16)
    first = float(np.abs(sample[..., 0] - sample[..., 1]).mean())
    second = float(np.abs(sample[..., 1] - sample[..., 2]).mean())
    return "grey" if max(first, second) < GREY_MAX_CHANNEL_DIFF else "colour"


def sharpness(image_bgr_or_grey: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Variance of the Laplacian (3x3 kernel) of the grey image, optionally inside ``mask``.

    Args:
        image_bgr_or_grey: (H, W, 3) BGR or (H, W) / (H, W, 1) grey, uint8 (values 0-255).
        mask: optional (H, W) bool numpy array; only these pixels count.

    Returns:
        The variance (>= 0); higher is sharper. Depends on scale, so compare crops
        of one fixed size (the quality gates' ``sharpness_ranked``; their ``sharpness``
        measures a small face at its own size, see the module docstring).

    Raises:
        InvalidInputError: another shape or pixel type (a 16-bit or float image would give a
            number on another scale than the 0-255 one ``min_sharpness`` is set for), or a
            mask that is not an (H, W) array.
    """
    check_uint8_image(image_bgr_or_grey, "image_bgr_or_grey", "BGR", grey_ok=True)
    grey = _grey(image_bgr_or_grey)
    laplacian = cv2.Laplacian(grey, cv2.CV_64F, ksize=1)
    if mask is not None:
        if not isinstance(mask, np.ndarray):
            raise InvalidInputError(
                f"mask must be a numpy array of the image's (H, W) {grey.shape}, got "
                f"{type(mask).__name__}; pass np.asarray(mask, dtype=bool)"
            )
        if mask.shape != grey.shape:
            raise InvalidInputError(
                f"mask shape {mask.shape} must be the image's (H, W) {grey.shape}"
            )
        values = laplacian[mask.astype(bool)]
        return float(values.var()) if values.size else 0.0
    return float(laplacian.var())


def assess_face(
    frame_bgr: np.ndarray,
    faces: list[Face],
    config: QualityConfig | None = None,
    *,
    crop_size_px: int = DEFAULT_CROP_SIZE_PX,
) -> tuple[FrameStatus, Face | None, dict[str, float]]:
    """Apply the quality gates to one frame (:func:`assess_face_crop` without the crop)."""
    status, face, measured, _ = assess_face_crop(
        frame_bgr, faces, config, crop_size_px=crop_size_px
    )
    return status, face, measured


def assess_face_crop(
    frame_bgr: np.ndarray,
    faces: list[Face],
    config: QualityConfig | None = None,
    *,
    crop_size_px: int = DEFAULT_CROP_SIZE_PX,
    align_roll: bool = True,
) -> tuple[FrameStatus, Face | None, dict[str, float], FaceCrop | None]:
    """Apply the quality gates to one frame and return the face crop they measured.

    The chosen face is cropped once (:func:`~wds_edge.perception.face_crop.crop_face`, at
    ``crop_size_px``, the model's input size); sharpness and brightness are measured on the same
    box at :data:`SHARPNESS_SOURCE_PX` (640 px: that crop itself for a 640 px model, else its
    grey pixels warped once more from the frame) resized to ``config.sharpness_size_px`` (area
    interpolation), so the number does not depend on the model's size. The gate's ``sharpness``
    is measured at the face box's side in frame pixels when that is smaller (a small face is
    never enlarged, which would blur it): a sharp face far from the camera is ``face_too_small``
    ("move closer") or ``ok``, not ``too_blurry``. As it then reads higher the smaller the face,
    frames are compared by ``sharpness_ranked``, always measured at ``config.sharpness_size_px``
    (equal to ``sharpness`` for a face box that wide or wider). The caller passes the same crop
    on to the colour check and the model.

    These are gates 1-6 of the module docstring; the colour gates (a grey face,
    ``config.check_white_balance``) follow in :func:`wds_edge.perception.locate.gate_faces`,
    the kiosk's whole check, which the analyzer, calibration and labeling call.

    Args:
        frame_bgr: (H, W, 3) uint8 BGR frame the faces were found in.
        faces: faces from :meth:`FaceLandmarker.detect` (any order).
        config: thresholds; default :class:`QualityConfig()`.
        crop_size_px: side of the face crop (the model's input size).
        align_roll: level the eye line in the crop (the kiosk's default).

    Returns:
        ``(status, face, measured, crop)``: the first failing gate (or ``OK``); the
        chosen (largest) face and its :class:`FaceCrop`, both None only for ``NO_FACE``;
        measured values ``n_faces, eye_distance_px, face_width_px, yaw_deg, pitch_deg,
        roll_deg, brightness, sharpness, sharpness_ranked, regions_in_frame`` (only
        ``n_faces`` when there is no face): ``sharpness`` is what ``min_sharpness`` is
        compared with, ``sharpness_ranked`` the size-independent figure to rank frames by.
    """
    config = config or QualityConfig()
    check_uint8_image(frame_bgr, "frame_bgr", "BGR", grey_ok=True)
    measured: dict[str, float] = {"n_faces": float(len(faces))}
    if not faces:
        return FrameStatus.NO_FACE, None, measured, None
    face = max(faces, key=lambda f: f.area_px)
    crop = crop_face(_bgr(frame_bgr), face, crop_size_px, align_roll=align_roll)
    size = config.sharpness_size_px
    full_grey = _measuring_grey(frame_bgr, crop, size)
    grey = full_grey
    if grey.shape[0] != size:
        grey = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA)
    region = _resized_mask(crop.skin, size)  # skin in the frame: padding is dark and sharp-edged
    brightness = float(grey[region].mean()) if region.any() else 0.0
    ranked = sharpness(grey, region) if region.any() else 0.0
    sharp_grey, sharp_region = _native_size(crop, full_grey, grey, region)
    if sharp_grey is not grey:
        gate = sharpness(sharp_grey, sharp_region) if sharp_region.any() else 0.0
    else:
        gate = ranked
    measured.update(
        eye_distance_px=face.eye_distance_px,
        face_width_px=face.width_px,
        yaw_deg=face.yaw_deg,
        pitch_deg=face.pitch_deg,
        roll_deg=face.roll_deg,
        brightness=brightness,
        sharpness=gate,
        sharpness_ranked=ranked,
        regions_in_frame=_regions_in_frame(crop, size),
    )
    return _gate(face, len(faces), measured, config), face, measured, crop


def _measuring_grey(frame_bgr: np.ndarray, crop: FaceCrop, size_px: int) -> np.ndarray:
    """The grey Table 1 crop sharpness and brightness are measured from, at
    :data:`SHARPNESS_SOURCE_PX` (or ``size_px``, if larger): the model's own crop when it is
    that size, else the crop's box warped once more from the frame at that size.

    Sharpness depends on scale: a crop smaller than the measuring size would have to be
    enlarged, and enlarged (blocky) pixels read as sharp (a 128 px crop of biden2.jpg blurred
    by a 6 px Gaussian read 38, ok, against 2.8 from 640 px); one warped straight at 256 px
    aliases (biden.jpg 130 against 77). So the pixels always come from the 640 px warp, the
    size ``min_sharpness`` was calibrated on, whatever the model's input size. Only the grey
    pixels are warped again; the skin mask is the model crop's, resized.
    """
    source_px = max(SHARPNESS_SOURCE_PX, size_px)
    if crop.size_px == source_px:
        return cv2.cvtColor(crop.crop_rgb, cv2.COLOR_RGB2GRAY)
    # crop pixels scale linearly with the crop's side (make_crop_transform): this is the
    # matrix kiosk_crop would build at source_px.
    matrix = crop.transform.matrix * (source_px / crop.size_px)
    warped = cv2.warpAffine(
        frame_bgr,
        matrix,
        (source_px, source_px),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return _grey(warped)


def _resized_mask(mask: np.ndarray, size_px: int) -> np.ndarray:
    """A bool mask at ``size_px`` (nearest neighbour; the mask itself when already that size)."""
    if mask.shape[0] == size_px:
        return mask
    out = cv2.resize(mask.view(np.uint8), (size_px, size_px), interpolation=cv2.INTER_NEAREST)
    return out.astype(bool)


def _native_size(
    crop: FaceCrop, full_grey: np.ndarray, grey: np.ndarray, region: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The measuring crop (``grey``, ``region``), shrunk to the face box's side in frame
    pixels when that is smaller: the measuring crop enlarges a small face, and the Laplacian
    of enlarged pixels reads as blur however sharp the camera was. ``full_grey`` is the
    :func:`_measuring_grey` crop of ``crop``'s box."""
    box = crop.transform.box_px
    native = max(32, int(round(box[2] - box[0])))
    if native >= grey.shape[0]:
        return grey, region
    small = cv2.resize(full_grey, (native, native), interpolation=cv2.INTER_AREA)
    return small, _resized_mask(crop.skin, native)


def _regions_in_frame(crop: FaceCrop, size_px: int) -> float:
    """Share of the scoring regions' outlines inside the frame, drawn at ``size_px``."""
    scale = size_px / crop.size_px
    outlines = union(region_masks(crop.landmarks_crop_px * scale, size_px))
    inside = cv2.resize(
        crop.in_frame.view(np.uint8), (size_px, size_px), interpolation=cv2.INTER_NEAREST
    ).astype(bool)
    total = np.count_nonzero(outlines)
    return float(np.count_nonzero(outlines & inside) / total) if total else 0.0


def _gate(
    face: Face, n_faces: int, measured: dict[str, float], config: QualityConfig
) -> FrameStatus:
    """The first failing gate, in the module docstring's order (``OK`` when none fails)."""
    if n_faces > 1 and config.multi_face_policy == "refuse":
        return FrameStatus.MULTIPLE_FACES
    if face.eye_distance_px < config.min_eye_distance_px:
        return FrameStatus.FACE_TOO_SMALL
    if (
        abs(face.yaw_deg) > config.max_yaw_deg
        or abs(face.pitch_deg) > config.max_pitch_deg
        or abs(face.roll_deg) > config.max_roll_deg
    ):
        return FrameStatus.TURNED_AWAY
    if measured["regions_in_frame"] < config.min_regions_in_frame:
        return FrameStatus.FACE_CUT_OFF
    if measured["brightness"] < config.min_brightness:
        return FrameStatus.TOO_DARK
    if measured["brightness"] > config.max_brightness:
        return FrameStatus.OVEREXPOSED
    if measured["sharpness"] < config.min_sharpness:
        return FrameStatus.TOO_BLURRY
    return FrameStatus.OK
