"""One detected face as a value (:class:`Face`): 478 landmarks in pixels, box, head pose,
and the MediaPipe landmark indices wds-edge relies on.

Sign conventions (pose, left / right) are those of :mod:`wds_edge.perception.landmarks`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wds_edge.errors import InvalidInputError

__all__ = [
    "Face",
    "NUM_LANDMARKS",
    "MIN_LANDMARKS",
    "checked_landmarks",
    "RIGHT_IRIS",
    "LEFT_IRIS",
    "RIGHT_EYE_OUTER",
    "LEFT_EYE_OUTER",
    "BETWEEN_EYES",
    "IRIS_DIAMETER_MM",
    "pose_from_rotation",
]

#: Mean adult horizontal visible iris diameter in millimetres: the kiosk's ruler (scores in
#: mm, exclusion zones sized in mm of the face).
IRIS_DIAMETER_MM = 11.7

NUM_LANDMARKS = 478
#: The face mesh without the irises: the fewest landmarks an array may hold.
MIN_LANDMARKS = 468
#: Iris centre followed by its 4 contour points (subject's right / left).
RIGHT_IRIS = (468, 469, 470, 471, 472)
LEFT_IRIS = (473, 474, 475, 476, 477)
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133
LEFT_EYE_OUTER, LEFT_EYE_INNER = 263, 362
#: Nose bridge between the eyes: the paper's P3 (see :mod:`wds_edge.perception.crop`).
BETWEEN_EYES = 168
_FOREHEAD_TOP, _CHIN = 10, 152


def checked_landmarks(landmarks_px: Any, where: str = "crop pixels") -> np.ndarray:
    """``(N >= 468, 2)`` float64 array of MediaPipe landmarks, or InvalidInputError.

    The one shape check of a landmark array (the crop, the regions and the exclusion
    zones index into the face mesh, 0-467). ``where`` names their space in the message.
    """
    try:
        points = np.asarray(landmarks_px, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"expected MediaPipe landmarks (468 or 478, 2) in {where}, got "
            f"{type(landmarks_px).__name__} ({exc})"
        ) from None
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] < MIN_LANDMARKS:
        raise InvalidInputError(
            f"expected MediaPipe landmarks (468 or 478, 2) in {where}, got {points.shape}"
        )
    if not np.all(np.isfinite(points)):
        raise InvalidInputError("landmarks contain NaN or infinite values")
    return points


def pose_from_rotation(rotation: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from a 3x3 face -> camera rotation (OpenGL axes).

    Columns of ``rotation`` are the face's x (towards the subject's left), y (up)
    and z (out of the face) axes in camera coordinates. Signs as in the module
    docstring. Valid for the moderate angles a kiosk gates on.
    """
    r = np.asarray(rotation, dtype=np.float64)[:3, :3]
    forward = r[:, 2]
    yaw = math.degrees(math.atan2(forward[0], forward[2]))
    pitch = math.degrees(math.atan2(forward[1], math.hypot(forward[0], forward[2])))
    # Face x axis in camera space; camera y is up, image y is down -> negate.
    roll = math.degrees(math.atan2(-r[1, 0], r[0, 0]))
    return yaw, pitch, roll


def _rotation_from_landmarks(points_xyz: np.ndarray) -> np.ndarray:
    """Face -> camera rotation estimated from 3-D landmarks (image x right, y down, z away)."""
    p = points_xyz.astype(np.float64) * np.array([1.0, -1.0, -1.0])  # to OpenGL axes
    x_axis = p[LEFT_EYE_OUTER] - p[RIGHT_EYE_OUTER]
    y_axis = p[_FOREHEAD_TOP] - p[_CHIN]
    x_axis /= np.linalg.norm(x_axis) + 1e-12
    y_axis -= x_axis * float(y_axis @ x_axis)
    y_axis /= np.linalg.norm(y_axis) + 1e-12
    z_axis = np.cross(x_axis, y_axis)
    return np.stack([x_axis, y_axis, z_axis], axis=1)


@dataclass(frozen=True, eq=False)  # holds arrays: compare by identity
class Face:
    """One face found in a frame.

    Attributes:
        landmarks_px: (478, 2) float32 x, y in frame pixels (may lie outside the frame).
        landmarks_z: (478,) float32 relative depth in pixels (MediaPipe z * frame
            width; smaller = closer to the camera).
        bbox_px: (x1, y1, x2, y2) of the landmarks, frame pixels.
        yaw_deg, pitch_deg, roll_deg: head pose, signs in the module docstring.
        pose_source: ``"matrix"`` (MediaPipe transformation matrix) or ``"landmarks"``.
        transformation_matrix: (4, 4) float32 face -> camera matrix, or None.
        blendshapes: MediaPipe's 52 expression scores (``"mouthSmileLeft"``, ... in [0, 1]),
            or None when the landmarker did not compute them.
    """

    landmarks_px: np.ndarray
    landmarks_z: np.ndarray
    bbox_px: tuple[float, float, float, float]
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    pose_source: str = "matrix"
    transformation_matrix: np.ndarray | None = field(default=None, repr=False)
    blendshapes: dict[str, float] | None = field(default=None, repr=False)

    @property
    def width_px(self) -> float:
        return float(self.bbox_px[2] - self.bbox_px[0])

    @property
    def area_px(self) -> float:
        return float((self.bbox_px[2] - self.bbox_px[0]) * (self.bbox_px[3] - self.bbox_px[1]))

    @property
    def iris_diameter_px(self) -> float:
        """Mean horizontal+vertical iris diameter of both eyes, pixels (ruler: about 11.7 mm)."""
        p = self.landmarks_px.astype(np.float64)
        diameters = [
            np.linalg.norm(p[iris[1]] - p[iris[3]]) for iris in (RIGHT_IRIS, LEFT_IRIS)
        ] + [np.linalg.norm(p[iris[2]] - p[iris[4]]) for iris in (RIGHT_IRIS, LEFT_IRIS)]
        return float(np.mean(diameters))

    @property
    def eye_distance_px(self) -> float:
        """Distance between the two iris centres (interpupillary distance), pixels."""
        p = self.landmarks_px.astype(np.float64)
        return float(np.linalg.norm(p[LEFT_IRIS[0]] - p[RIGHT_IRIS[0]]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (landmarks as nested lists of pixel coordinates)."""
        return {
            "bbox_px": [float(v) for v in self.bbox_px],
            "yaw_deg": self.yaw_deg,
            "pitch_deg": self.pitch_deg,
            "roll_deg": self.roll_deg,
            "pose_source": self.pose_source,
            "eye_distance_px": self.eye_distance_px,
            "iris_diameter_px": self.iris_diameter_px,
            "landmarks_px": np.round(self.landmarks_px, 2).tolist(),
        }


def _face_from_points(
    points_xyz: np.ndarray, matrix: np.ndarray | None, blendshapes: dict[str, float] | None = None
) -> Face:
    xy = np.ascontiguousarray(points_xyz[:, :2], dtype=np.float32)
    bbox = (
        float(xy[:, 0].min()),
        float(xy[:, 1].min()),
        float(xy[:, 0].max()),
        float(xy[:, 1].max()),
    )
    if matrix is not None and np.all(np.isfinite(matrix)):
        yaw, pitch, roll = pose_from_rotation(matrix[:3, :3])
        source = "matrix"
    else:
        yaw, pitch, roll = pose_from_rotation(_rotation_from_landmarks(points_xyz))
        source, matrix = "landmarks", None
    return Face(
        landmarks_px=xy,
        landmarks_z=np.ascontiguousarray(points_xyz[:, 2], dtype=np.float32),
        bbox_px=bbox,
        yaw_deg=yaw,
        pitch_deg=pitch,
        roll_deg=roll,
        pose_source=source,
        transformation_matrix=None if matrix is None else matrix.astype(np.float32),
        blendshapes=blendshapes,
    )
