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

MediaPipe is imported lazily (:func:`wds_edge._deps.require`). The :class:`Face` value and
the landmark indices live in :mod:`wds_edge.perception.face` (re-exported here), the tiled
small-face search in :mod:`wds_edge.perception.tiles`.
"""

from __future__ import annotations

import contextlib
import logging
import numbers
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from wds_edge._checks import is_finite_number
from wds_edge._deps import require
from wds_edge._native_stderr import native_stderr_to_log
from wds_edge.errors import InvalidInputError, ModelError
from wds_edge.perception.face import (
    BETWEEN_EYES,
    LEFT_EYE_OUTER,
    LEFT_IRIS,
    NUM_LANDMARKS,
    RIGHT_EYE_OUTER,
    RIGHT_IRIS,
    Face,
    _face_from_points,
    pose_from_rotation,
)
from wds_edge.perception.landmarker_model import resolve_face_landmarker
from wds_edge.perception.tiles import MIN_TILED_SIDE_PX, search_tiles

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
            photo). It costs one extra detection per tile on every frame without a face
            (longest side 640 px or more): 21 on a 16:9 frame, 15 on 4:3, 9 on a square
            one; a face-free 1080p frame took about 60 ms instead of 4-25 ms on a 2-core
            CPU. None -> on in image mode, off in video mode (a kiosk face is large).

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
        faces = self.max_faces
        if isinstance(faces, bool) or not isinstance(faces, numbers.Integral) or faces < 1:
            raise InvalidInputError(
                f"max_faces must be an integer >= 1 (e.g. 2), got {faces!r} "
                f"({type(faces).__name__})"
            )
        object.__setattr__(self, "max_faces", int(faces))
        for name in (
            "min_detection_confidence",
            "min_presence_confidence",
            "min_tracking_confidence",
        ):
            value = getattr(self, name)
            if not is_finite_number(value) or not 0.0 <= float(value) <= 1.0:
                raise InvalidInputError(
                    f"{name} must be a number in [0, 1] (e.g. 0.5), got {value!r} "
                    f"({type(value).__name__})"
                )
            object.__setattr__(self, name, float(value))


def _close_tasks(tasks: list[Any]) -> None:
    """Close MediaPipe tasks (the finalizer of :class:`FaceLandmarker`; holds no reference
    to the landmarker itself, so it can run when the landmarker is collected)."""
    while tasks:
        tasks.pop().close()


#: Landmarkers not closed yet, closed by :func:`_close_open_landmarkers` at exit.
_open_landmarkers: weakref.WeakSet[FaceLandmarker] = weakref.WeakSet()
_exit_hook_lock = threading.Lock()
_exit_hook_registered = False


def _close_open_landmarkers() -> None:
    """Close the landmarkers still open when the interpreter exits.

    Runs as a ``threading`` exit hook: before the worker threads of MediaPipe's task
    executors stop and before ``atexit``. A task closed any later cannot reach its
    stopped executor (RuntimeError), and one left to module teardown makes MediaPipe's own
    ``__del__`` print "Exception ignored ... 'NoneType' object is not callable".
    """
    for landmarker in list(_open_landmarkers):
        try:
            landmarker.close()
        except Exception:  # noqa: BLE001 - the interpreter is exiting: never stop that
            logger.debug("closing a FaceLandmarker at exit failed", exc_info=True)


def _close_at_exit(landmarker: FaceLandmarker) -> None:
    global _exit_hook_registered
    with _exit_hook_lock:
        if not _exit_hook_registered:
            # threading._register_atexit (CPython >= 3.9, what concurrent.futures uses) runs
            # its hooks before the executors' threads are joined; weakref.finalize's atexit
            # call remains the fallback where it is missing.
            register = getattr(threading, "_register_atexit", None)
            if register is not None:
                with contextlib.suppress(RuntimeError):  # already shutting down
                    register(_close_open_landmarkers)
            _exit_hook_registered = True
        _open_landmarkers.add(landmarker)


class FaceLandmarker:
    """MediaPipe FaceLandmarker wrapper returning :class:`Face` values in frame pixels.

    Example:
        >>> with FaceLandmarker(FaceLandmarkerOptions(mode="image")) as landmarker:
        ...     faces = landmarker.detect(image_rgb)   # [] when there is no face

    Thread-safe (calls are serialized). ``close()`` is idempotent; a landmarker never
    closed is closed when it is garbage-collected or, at the latest, at interpreter exit.
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
        # Every MediaPipe task this landmarker made; closed by close(), by the finalizer
        # when the landmarker is collected, or at interpreter exit (_close_open_landmarkers).
        self._tasks: list[Any] = [self._task]
        self._finalizer = weakref.finalize(self, _close_tasks, self._tasks)
        _close_at_exit(self)

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
            output_face_blendshapes=True,  # expression scores (issue 21)
            output_facial_transformation_matrixes=True,
        )
        try:
            with native_stderr_to_log():  # MediaPipe's start-up lines: to the debug log
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
            InvalidInputError: the array is not an 8-bit grey or RGB image, or
                ``timestamp_ms`` is not None or a finite number.
            WdsEdgeError: the landmarker was closed.
        """
        image = self._validated(image_rgb)
        if timestamp_ms is not None and not is_finite_number(timestamp_ms):
            raise InvalidInputError(
                f"timestamp_ms must be None (use a monotonic clock) or a finite number of "
                f"milliseconds, got {timestamp_ms!r} ({type(timestamp_ms).__name__})"
            )
        with self._lock:
            if self._closed:
                raise InvalidInputError("FaceLandmarker.detect() called after close()")
            faces = self._run(self._task, image, timestamp_ms)
            if not faces and self._small_face_search and max(image.shape[:2]) >= MIN_TILED_SIDE_PX:
                if self._tiler is None:
                    # as many faces per tile as the frame may give: people side by side share
                    # tiles (search_tiles merges a face found on several tiles)
                    self._tiler = self._create("image", self.options.max_faces)
                    self._tasks.append(self._tiler)
                tiler = self._tiler
                faces = search_tiles(image, lambda crop: self._run(tiler, crop, None, video=False))
        faces.sort(key=lambda f: f.area_px, reverse=True)
        return faces[: self.options.max_faces]

    def close(self) -> None:
        """Release the MediaPipe tasks. Safe to call more than once."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._task = self._tiler = None
            _open_landmarkers.discard(self)
            self._finalizer()  # closes every task once; later calls do nothing

    def __enter__(self) -> FaceLandmarker:
        return self

    def __exit__(self, *exc: object) -> None:
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
        shapes = result.face_blendshapes or []
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
            blendshapes = (
                {c.category_name: float(c.score) for c in shapes[i]} if i < len(shapes) else None
            )
            faces.append(_face_from_points(xyz, matrix, blendshapes))
        return faces
