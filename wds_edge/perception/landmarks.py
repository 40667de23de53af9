"""Face landmarks with MediaPipe Tasks ``FaceLandmarker`` (478 points incl. irises, head pose).

Conventions used throughout wds-edge:

* Landmark indices are MediaPipe's canonical face mesh (0-467) plus irises
  (468-472: centre + contour of the subject's RIGHT iris, image left in a frontal
  photo; 473-477: the subject's LEFT iris).
* "left"/"right" always mean the SUBJECT's (anatomical) side, as in MediaPipe's
  ``FACE_LANDMARKS_LEFT_EYE`` etc. In an unmirrored frontal photo the subject's
  left eye is on the image's right.
* Head pose in degrees, from MediaPipe's facial transformation matrix
  (canonical face -> camera, OpenGL axes: x right, y up, z towards the viewer)
  or, if that is unavailable, from the 3-D landmarks:

  - ``yaw_deg > 0``: the face points towards the image's right (the subject turns
    to their own left);
  - ``pitch_deg > 0``: the face points up (chin up);
  - ``roll_deg > 0``: the face is rotated clockwise in the image (the eye on the
    image's right is lower), i.e. the angle of the eye line measured with image
    y pointing down, the same angle :mod:`wds_edge.perception.crop` removes.

MediaPipe is imported lazily (:func:`wds_edge._deps.require`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from wds_edge._deps import require
from wds_edge.errors import InvalidInputError, ModelError
from wds_edge.perception.landmarker_model import resolve_face_landmarker

__all__ = [
    "Face",
    "FaceLandmarker",
    "FaceLandmarkerOptions",
    "NUM_LANDMARKS",
    "RIGHT_IRIS",
    "LEFT_IRIS",
    "RIGHT_EYE_OUTER",
    "LEFT_EYE_OUTER",
    "BETWEEN_EYES",
    "pose_from_rotation",
]

logger = logging.getLogger(__name__)

NUM_LANDMARKS = 478
#: Iris centre followed by its 4 contour points (subject's right / left).
RIGHT_IRIS = (468, 469, 470, 471, 472)
LEFT_IRIS = (473, 474, 475, 476, 477)
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133
LEFT_EYE_OUTER, LEFT_EYE_INNER = 263, 362
#: Nose bridge between the eyes: the paper's P3 (see :mod:`wds_edge.perception.crop`).
BETWEEN_EYES = 168
_FOREHEAD_TOP, _CHIN = 10, 152

#: Frames smaller than this (longest side, px) are not tiled for small faces.
_MIN_TILED_SIDE_PX = 640


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
    """

    landmarks_px: np.ndarray
    landmarks_z: np.ndarray
    bbox_px: tuple[float, float, float, float]
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    pose_source: str = "matrix"
    transformation_matrix: np.ndarray | None = field(default=None, repr=False)

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


def _face_from_points(points_xyz: np.ndarray, matrix: np.ndarray | None) -> Face:
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
    )


@dataclass(frozen=True)
class FaceLandmarkerOptions:
    """Options of :class:`FaceLandmarker`.

    Attributes:
        model_path: the ``.task`` file; None -> :func:`resolve_face_landmarker` order.
        mode: ``"image"`` for independent stills, ``"video"`` for a stream
            (tracking between frames; timestamps must increase, see ``detect``).
        max_faces: most faces returned (largest first).
        min_detection_confidence / min_presence_confidence / min_tracking_confidence:
            MediaPipe thresholds in [0, 1].
        small_face_search: when the whole frame yields no face, search overlapping
            tiles too (finds faces smaller than ~1/8 of the frame, e.g. a group
            photo; costs up to ~10 extra detections on frames without a face).
            None -> on in image mode, off in video mode (a kiosk face is large).

    MediaPipe's Python Tasks API has no thread-count option (it uses XNNPACK's
    own pool), so there is none here.
    """

    model_path: str | Path | None = None
    mode: Literal["image", "video"] = "image"
    max_faces: int = 2
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    small_face_search: bool | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("image", "video"):
            raise InvalidInputError(f"mode must be 'image' or 'video', got {self.mode!r}")
        if not isinstance(self.max_faces, int) or self.max_faces < 1:
            raise InvalidInputError(f"max_faces must be an integer >= 1, got {self.max_faces!r}")
        for name in (
            "min_detection_confidence",
            "min_presence_confidence",
            "min_tracking_confidence",
        ):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise InvalidInputError(f"{name} must be in [0, 1], got {value!r}")


class FaceLandmarker:
    """MediaPipe FaceLandmarker wrapper returning :class:`Face` values in frame pixels.

    Example:
        >>> with FaceLandmarker(FaceLandmarkerOptions(mode="image")) as landmarker:
        ...     faces = landmarker.detect(image_rgb)   # [] when there is no face

    Thread-safe (calls are serialized). ``close()`` is idempotent.
    """

    def __init__(self, options: FaceLandmarkerOptions | None = None) -> None:
        self.options = options or FaceLandmarkerOptions()
        self.model_path = resolve_face_landmarker(self.options.model_path)
        self._mp = require("mediapipe", "face landmarks")
        self._vision = require("mediapipe.tasks.python.vision", "face landmarks")
        self._lock = threading.Lock()
        self._last_timestamp_ms: int | None = None
        self._closed = False
        self._tiler: Any = None
        search = self.options.small_face_search
        self._small_face_search = (self.options.mode == "image") if search is None else search
        self._task = self._create(self.options.mode, self.options.max_faces)

    def _create(self, mode: str, num_faces: int) -> Any:
        vision = self._vision
        base = require("mediapipe.tasks.python", "face landmarks").BaseOptions(
            model_asset_path=str(self.model_path)
        )
        running_mode = vision.RunningMode.VIDEO if mode == "video" else vision.RunningMode.IMAGE
        task_options = vision.FaceLandmarkerOptions(
            base_options=base,
            running_mode=running_mode,
            num_faces=num_faces,
            min_face_detection_confidence=float(self.options.min_detection_confidence),
            min_face_presence_confidence=float(self.options.min_presence_confidence),
            min_tracking_confidence=float(self.options.min_tracking_confidence),
            output_face_blendshapes=False,
            output_facial_transformation_matrixes=True,
        )
        try:
            return vision.FaceLandmarker.create_from_options(task_options)
        except Exception as exc:  # MediaPipe raises RuntimeError/ValueError on bad files
            raise ModelError(
                f"MediaPipe could not load the FaceLandmarker model {self.model_path} ({exc}). "
                f"Re-download it with `wds-edge models fetch`"
            ) from exc

    # -- public API -------------------------------------------------------------------------

    def detect(self, image_rgb: np.ndarray, timestamp_ms: int | None = None) -> list[Face]:
        """Find faces in one RGB frame.

        Args:
            image_rgb: (H, W, 3) uint8 RGB (a (H, W) grey image is accepted too).
            timestamp_ms: video mode only: the frame's time. MediaPipe needs strictly
                increasing timestamps; None uses a monotonic clock, and a value not
                greater than the previous one is repaired to previous + 1 (logged at
                debug level) rather than rejected, so a looping file source works.

        Returns:
            Faces sorted by bounding-box area, largest first; ``[]`` when there is none.

        Raises:
            InvalidInputError: the array is not an 8-bit grey or RGB image.
            WdsEdgeError: the landmarker was closed.
        """
        image = self._validated(image_rgb)
        with self._lock:
            if self._closed:
                raise InvalidInputError("FaceLandmarker.detect() called after close()")
            faces = self._run(self._task, image, timestamp_ms)
            if (
                not faces
                and self._small_face_search
                and max(image.shape[:2]) >= (_MIN_TILED_SIDE_PX)
            ):
                faces = self._search_tiles(image)
        faces.sort(key=lambda f: f.area_px, reverse=True)
        return faces[: self.options.max_faces]

    def close(self) -> None:
        """Release the MediaPipe tasks. Safe to call more than once."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for task in (self._task, self._tiler):
                if task is not None:
                    task.close()
            self._task = self._tiler = None

    def __enter__(self) -> FaceLandmarker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        with contextlib.suppress(Exception):
            self.close()

    # -- internals --------------------------------------------------------------------------

    @staticmethod
    def _validated(image: np.ndarray) -> np.ndarray:
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
            raise InvalidInputError(
                f"FaceLandmarker.detect expects a uint8 RGB array (H, W, 3), got "
                f"{type(image).__name__} {getattr(image, 'dtype', '')}; read files with "
                f"wds_edge.read_image and convert BGR->RGB"
            )
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
            raise InvalidInputError(
                f"FaceLandmarker.detect expects shape (H, W, 3), got {image.shape}"
            )
        return np.ascontiguousarray(image)

    def _next_timestamp(self, timestamp_ms: int | None) -> int:
        ts = int(time.monotonic() * 1000) if timestamp_ms is None else int(timestamp_ms)
        if self._last_timestamp_ms is not None and ts <= self._last_timestamp_ms:
            logger.debug(
                "timestamp %d ms not increasing; using %d", ts, self._last_timestamp_ms + 1
            )
            ts = self._last_timestamp_ms + 1
        self._last_timestamp_ms = ts
        return ts

    def _run(
        self, task: Any, image: np.ndarray, timestamp_ms: int | None, video: bool | None = None
    ) -> list[Face]:
        mp_image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=image)
        if video is None:
            video = self.options.mode == "video"
        if video:
            result = task.detect_for_video(mp_image, self._next_timestamp(timestamp_ms))
        else:
            result = task.detect(mp_image)
        height, width = image.shape[:2]
        faces = []
        matrices = result.facial_transformation_matrixes or []
        for i, points in enumerate(result.face_landmarks or []):
            xyz = np.array([(p.x, p.y, p.z) for p in points], dtype=np.float64)
            if xyz.shape != (NUM_LANDMARKS, 3):
                logger.warning(
                    "landmarker returned %d points, expected %d; face ignored",
                    len(xyz),
                    NUM_LANDMARKS,
                )
                continue
            xyz *= np.array([width, height, width], dtype=np.float64)
            matrix = np.asarray(matrices[i], dtype=np.float64) if i < len(matrices) else None
            faces.append(_face_from_points(xyz, matrix))
        return faces

    def _search_tiles(self, image: np.ndarray) -> list[Face]:
        """Run the landmarker on overlapping tiles (half-tile stride) and merge duplicates."""
        if self._tiler is None:
            self._tiler = self._create("image", 1)
        height, width = image.shape[:2]
        tile = max(_MIN_TILED_SIDE_PX // 2, int(min(height, width) * 0.5))
        found: list[tuple[float, Face]] = []
        for y0 in _tile_starts(height, tile):
            for x0 in _tile_starts(width, tile):
                crop = np.ascontiguousarray(image[y0 : y0 + tile, x0 : x0 + tile])
                for face in self._run(self._tiler, crop, None, video=False):
                    x1, y1, x2, y2 = face.bbox_px
                    margin = min(x1, y1, crop.shape[1] - x2, crop.shape[0] - y2)
                    found.append((margin, _shift_face(face, x0, y0, width)))
        found.sort(key=lambda item: item[0], reverse=True)  # most interior first
        kept: list[Face] = []
        for _, face in found:
            if all(_iou(face.bbox_px, other.bbox_px) < 0.3 for other in kept):
                kept.append(face)
        logger.debug("small-face search on %dx%d tiles found %d faces", tile, tile, len(kept))
        return kept


def _tile_starts(length: int, tile: int) -> list[int]:
    if length <= tile:
        return [0]
    stride = max(1, tile // 2)
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def _shift_face(face: Face, dx: float, dy: float, frame_width: int) -> Face:
    x1, y1, x2, y2 = face.bbox_px
    shift = np.array([dx, dy], dtype=np.float32)
    return Face(
        landmarks_px=face.landmarks_px + shift,
        # z is already in pixels (MediaPipe z * tile width, the scale of x): no change.
        landmarks_z=face.landmarks_z,
        bbox_px=(x1 + dx, y1 + dy, x2 + dx, y2 + dy),
        yaw_deg=face.yaw_deg,
        pitch_deg=face.pitch_deg,
        roll_deg=face.roll_deg,
        pose_source=face.pose_source,
        transformation_matrix=face.transformation_matrix,
    )


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
