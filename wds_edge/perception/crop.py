"""The face crop of the paper (Kim et al. 2023, Table 1) as an invertible affine transform.

Table 1 of the paper, with its typos fixed::

    x1 = x(P1)                    P1: the leftmost landmark (smallest x)
    x2 = x(P2)                    P2: the rightmost landmark (largest x)
    y1 = y(P3) - 0.66 * (x2 - x1) P3: the point between the eyes
    y2 = y1 + (x2 - x1)

so the box is square, as wide as the face, and starts 0.66 face widths above the
eyes: it holds the forehead, eyes, crow's feet, under-eyes and upper cheeks, the
wrinkle-prone areas. P3 is MediaPipe landmark 168 (the top of the nose bridge,
between the eyes). The paper names no index: 168 is this project's convention, and the
trained models depend on it. It lies near the midpoint of the inner eye corners (within 0.17
eye distances on the 34 faces of the shared photos) but is not always the vertex nearest it
(another one, 6, 122, 196 or 417, is on 18 of those faces).

The crop is resampled to ``size_px`` x ``size_px`` with ``cv2.warpAffine``. Parts
of the box outside the frame are padded with zeros (the crop keeps its square
shape and scale). With ``align_roll`` (the kiosk's default) the frame is first rotated
about the eye midpoint so the eye line is horizontal.

:func:`kiosk_crop` is THE preprocessing crop: landmarks -> Table 1 box -> roll alignment ->
resize -> uint8 RGB. The kiosk (:class:`~wds_edge.analysis.analyzer.WrinkleAnalyzer`), the
quality gates, training labels and baselines, INT8 calibration and export parity all call
it, so a model is trained, calibrated and parity-checked on the crops the kiosk feeds it.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.model.preprocessing import check_uint8_image
from wds_edge.perception.face import checked_landmarks

__all__ = [
    "CROP_DTYPES",
    "P3_LANDMARK",
    "FOREHEAD_FACTOR",
    "crop_box",
    "CropTransform",
    "make_crop_transform",
    "kiosk_crop",
    "eye_line_angle_deg",
]

#: Pixel types :meth:`CropTransform.crop` resamples (bool and float16 through uint8 / float32).
CROP_DTYPES = ("bool", "uint8", "uint16", "int16", "float16", "float32", "float64")
#: MediaPipe landmark used as P3, the point between the eyes.
P3_LANDMARK = 168
#: Table 1: the box starts this many face widths above P3.
FOREHEAD_FACTOR = 0.66
_RIGHT_EYE_CENTRE = (33, 133)  # subject's right eye: outer, inner corner
_LEFT_EYE_CENTRE = (263, 362)


def crop_box(landmarks_px: np.ndarray) -> tuple[float, float, float, float]:
    """Paper Table 1 (typos fixed): the square face box ``(x1, y1, x2, y2)`` in pixels.

    Args:
        landmarks_px: (N >= 468, 2) x, y pixel coordinates of MediaPipe landmarks.

    Returns:
        ``(x1, y1, x2, y2)`` floats with ``x2 - x1 == y2 - y1``; may extend past the frame.
    """
    points = checked_landmarks(landmarks_px, "pixels")
    x1 = float(points[:, 0].min())
    x2 = float(points[:, 0].max())
    width = x2 - x1
    if width <= 0:
        raise InvalidInputError("face landmarks have zero width; cannot build a crop box")
    y1 = float(points[P3_LANDMARK, 1]) - FOREHEAD_FACTOR * width
    return x1, y1, x2, y1 + width


def eye_line_angle_deg(landmarks_px: np.ndarray) -> float:
    """Angle of the line from the subject's right eye to their left eye, degrees.

    Measured in image coordinates (y down): positive when the eye on the image's
    right is lower, i.e. the face is rotated clockwise. Same sign as ``Face.roll_deg``.
    """
    points = checked_landmarks(landmarks_px, "pixels")
    right = points[list(_RIGHT_EYE_CENTRE)].mean(axis=0)
    left = points[list(_LEFT_EYE_CENTRE)].mean(axis=0)
    dx, dy = left - right
    return math.degrees(math.atan2(dy, dx))


def _invert_affine(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a (2, 3) frame -> crop affine; InvalidInputError if it has none.

    ``cv2.invertAffineTransform`` returns all zeros for a singular matrix, which would map
    every crop pixel onto the frame's corner without a word.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (2, 3) or not np.all(np.isfinite(m)):
        raise InvalidInputError(
            f"a crop transform matrix must be a finite (2, 3) affine, got shape {m.shape}"
        )
    det = float(np.linalg.det(m[:, :2]))
    if not abs(det) > 1e-12:
        raise InvalidInputError(
            f"the crop transform matrix {m.tolist()} is singular (determinant {det:g}): it "
            "maps the frame onto a line or a point and cannot be inverted; rebuild the "
            "transform with make_crop_transform"
        )
    return cv2.invertAffineTransform(m).astype(np.float64)


def _apply_affine(matrix: np.ndarray, pts: np.ndarray) -> np.ndarray:
    points = np.asarray(pts, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise InvalidInputError(f"expected points of shape (N, 2), got {points.shape}")
    return points @ matrix[:, :2].T + matrix[:, 2]


@dataclass(frozen=True, eq=False)  # holds arrays: compare by identity
class CropTransform:
    """Frame <-> crop mapping of one face crop.

    Attributes:
        box_px: (x1, y1, x2, y2) square box in frame pixels; with roll alignment it
            is the box in the de-rotated frame (rotated by ``-roll_deg`` about its
            centre); :attr:`corners_px` gives the rotated box in the frame.
        size_px: side of the square crop in pixels.
        roll_deg: rotation removed by the crop (0 without alignment).
        matrix: (2, 3) float64 affine frame -> crop pixel coordinates.
        inverse: (2, 3) float64 affine crop -> frame pixel coordinates.
    """

    box_px: tuple[float, float, float, float]
    size_px: int
    roll_deg: float
    matrix: np.ndarray
    inverse: np.ndarray

    @property
    def scale(self) -> float:
        """Crop pixels per frame pixel."""
        return self.size_px / (self.box_px[2] - self.box_px[0])

    @property
    def corners_px(self) -> np.ndarray:
        """(4, 2) float64 frame coordinates of the crop corners (TL, TR, BR, BL)."""
        s = float(self.size_px)
        return self.points_to_frame(np.array([[0, 0], [s, 0], [s, s], [0, s]], dtype=np.float64))

    def crop(self, image: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
        """Resample the box into a ``size_px`` x ``size_px`` crop (same dtype/channels).

        Pixels outside the frame are 0. Channel order is kept (BGR in, BGR out).

        Args:
            image: (H, W) or (H, W, C) array of one of :data:`CROP_DTYPES` (a bool mask comes
                back as a bool mask: True where the resampled value is above 0).
            interpolation: cv2 flag (``cv2.INTER_NEAREST`` keeps labels as labels).

        Raises:
            InvalidInputError: not an image array, or a pixel type OpenCV cannot resample.
        """
        if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
            raise InvalidInputError(
                f"expected an image array (H, W) or (H, W, C), got {getattr(image, 'shape', image)}"
            )
        if image.dtype.name not in CROP_DTYPES:
            raise InvalidInputError(
                f"cannot crop an image of dtype {image.dtype}: supported are "
                f"{', '.join(CROP_DTYPES)}; convert it first (e.g. labels: "
                "image.astype(np.int16) with cv2.INTER_NEAREST, floats: image.astype(np.float32))"
            )
        is_bool = image.dtype == np.bool_
        src = image.astype(np.uint8) if is_bool else image
        if src.dtype == np.float16:
            src = src.astype(np.float32)
        try:
            out = cv2.warpAffine(
                src,
                self.matrix,
                (self.size_px, self.size_px),
                flags=interpolation,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=0,
            )
        except cv2.error as exc:
            raise InvalidInputError(
                f"cannot crop an image of shape {image.shape} and dtype {image.dtype} with "
                f"interpolation {interpolation!r} (OpenCV: {exc.err}); pass at most 4 channels "
                "with cv2.INTER_CUBIC / INTER_LANCZOS4, or another cv2.INTER_* flag"
            ) from None
        if is_bool:
            return out > 0
        return out.astype(image.dtype, copy=False)

    def points_to_crop(self, pts_px: np.ndarray) -> np.ndarray:
        """(N, 2) frame pixel coordinates -> (N, 2) float64 crop pixel coordinates."""
        return _apply_affine(self.matrix, pts_px)

    def points_to_frame(self, pts_crop: np.ndarray) -> np.ndarray:
        """(N, 2) crop pixel coordinates -> (N, 2) float64 frame pixel coordinates."""
        return _apply_affine(self.inverse, pts_crop)

    def paste_back(
        self,
        crop_values: np.ndarray,
        frame_shape: tuple[int, ...],
        interpolation: int | None = None,
    ) -> np.ndarray:
        """Map a crop-space map (mask, probability) onto the frame; zeros outside the crop.

        Args:
            crop_values: (size_px, size_px) bool / uint8 / float array in crop space.
            frame_shape: the frame's shape; only (H, W) is used.
            interpolation: cv2 flag; default nearest for bool/integer maps (labels
                stay labels), linear for floats.

        Returns:
            (H, W) array of the same dtype as ``crop_values``.
        """
        values = np.asarray(crop_values)
        if values.shape[:2] != (self.size_px, self.size_px):
            raise InvalidInputError(
                f"paste_back expects a {self.size_px}x{self.size_px} crop-space map, "
                f"got shape {values.shape}"
            )
        shape = tuple(frame_shape)
        if len(shape) < 2 or min(int(shape[0]), int(shape[1])) < 1:
            raise InvalidInputError(
                f"paste_back needs the frame's shape (H, W) or (H, W, C) with H, W >= 1, "
                f"got {shape}; pass frame.shape"
            )
        height, width = int(shape[0]), int(shape[1])
        is_bool = values.dtype == np.bool_
        if interpolation is None:
            floating = np.issubdtype(values.dtype, np.floating)
            interpolation = cv2.INTER_LINEAR if floating else cv2.INTER_NEAREST
        src = values.astype(np.uint8) if is_bool else values
        if src.dtype == np.float64 or src.dtype == np.float16:
            src = src.astype(np.float32)
        out = cv2.warpAffine(
            src,
            self.inverse,
            (width, height),
            flags=interpolation,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        if is_bool:
            return out > 0
        return out.astype(values.dtype, copy=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (box, size, roll, both matrices, corners)."""
        return {
            "box_px": [float(v) for v in self.box_px],
            "size_px": int(self.size_px),
            "roll_deg": float(self.roll_deg),
            "matrix": self.matrix.tolist(),
            "inverse": self.inverse.tolist(),
            "corners_px": self.corners_px.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CropTransform:
        """Rebuild a transform written by :meth:`to_dict`."""
        matrix = np.asarray(data["matrix"], dtype=np.float64)
        return cls(
            box_px=tuple(float(v) for v in data["box_px"]),  # type: ignore[arg-type]
            size_px=int(data["size_px"]),
            roll_deg=float(data["roll_deg"]),
            matrix=matrix,
            inverse=_invert_affine(matrix),
        )


def make_crop_transform(
    landmarks_px: np.ndarray, size_px: int = 640, align_roll: bool = True
) -> CropTransform:
    """Build the Table 1 crop geometry of a face (no pixels: see :func:`kiosk_crop`).

    Args:
        landmarks_px: (N >= 468, 2) MediaPipe landmarks in frame pixels.
        size_px: side of the output crop (640 in the paper).
        align_roll: rotate so the eye line is horizontal before applying Table 1
            (rotation about the midpoint between the eyes); on by default, as in the kiosk.

    Returns:
        The :class:`CropTransform`.
    """
    if isinstance(size_px, bool) or not isinstance(size_px, numbers.Integral) or size_px < 8:
        raise InvalidInputError(f"size_px must be a whole number >= 8 (e.g. 640), got {size_px!r}")
    size_px = int(size_px)
    points = checked_landmarks(landmarks_px, "pixels")
    roll = eye_line_angle_deg(points) if align_roll else 0.0
    # De-rotation about the eye midpoint: maps the frame to an upright face.
    centre = points[list(_RIGHT_EYE_CENTRE + _LEFT_EYE_CENTRE)].mean(axis=0)
    rotate = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), roll, 1.0)
    # cv2 angle > 0 rotates counter-clockwise on screen, undoing a clockwise roll.
    upright = _apply_affine(rotate, points)
    x1, y1, x2, y2 = crop_box(upright)
    scale = size_px / (x2 - x1)
    to_crop = np.array([[scale, 0.0, -scale * x1], [0.0, scale, -scale * y1]], dtype=np.float64)
    # Compose: frame -> upright (rotate) -> crop (scale + translate).
    matrix = to_crop[:, :2] @ rotate
    matrix[:, 2] += to_crop[:, 2]
    return CropTransform(
        box_px=(x1, y1, x2, y2),
        size_px=size_px,
        roll_deg=float(roll),
        matrix=matrix,
        inverse=_invert_affine(matrix),
    )


def _landmarks_of(face: Any) -> np.ndarray:
    landmarks = getattr(face, "landmarks_px", face)
    if landmarks is None:
        raise InvalidInputError("expected a Face or its (N, 2) landmarks, got None")
    return np.asarray(landmarks)


def kiosk_crop(
    image: np.ndarray,
    face: Any,
    size_px: int = 640,
    *,
    colour_order: str = "bgr",
    align_roll: bool = True,
) -> tuple[np.ndarray, CropTransform]:
    """The one preprocessing crop: landmarks -> Table 1 box -> roll alignment -> resize -> RGB.

    Args:
        image: uint8 (H, W, 3) frame in ``colour_order``.
        face: a :class:`~wds_edge.perception.landmarks.Face` or its (N >= 468, 2) float
            landmarks in frame pixels.
        size_px: side of the square crop (the model's input size; 640 in the paper).
        colour_order: ``"bgr"`` (OpenCV frames, the kiosk) or ``"rgb"`` (MediaPipe / PIL
            images, the desktop tools). Resampling is per channel, so both give the same crop.
        align_roll: level the eye line first (what the kiosk, labeling, calibration and
            export parity always do, so every wds-edge model is trained on it; ``False`` is
            for experiments only).

    Returns:
        ``(crop_rgb, transform)``: uint8 ``size_px`` x ``size_px`` x 3 RGB crop (zeros where
        the box leaves the frame) and its :class:`CropTransform` (frame <-> crop mapping).

    Raises:
        InvalidInputError: not a uint8 3-channel image, an unknown colour order, bad landmarks.
    """
    order = str(colour_order).lower()
    if order not in ("bgr", "rgb"):
        raise InvalidInputError(f"colour_order must be 'bgr' or 'rgb', got {colour_order!r}")
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        raise InvalidInputError(
            f"expected a (H, W, 3) {order.upper()} image, got {getattr(image, 'shape', image)}"
        )
    check_uint8_image(image, "image", order.upper())
    transform = make_crop_transform(_landmarks_of(face), size_px, align_roll=align_roll)
    crop = transform.crop(image)
    if order == "bgr":
        crop = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
    return crop, transform
