"""Face crops through the kiosk's own path: capture -> landmarks -> Table 1 crop.

Calibration (and the export parity check) must see exactly what the kiosk feeds the
model, so these crops come from the same SDK functions the kiosk runs:
:mod:`wds_edge.capture.sources` (video files / cameras) or :func:`wds_edge.io.read_image`
(a folder of photos), :class:`wds_edge.perception.landmarks.FaceLandmarker`, and
:func:`wds_edge.perception.crop.kiosk_crop` (paper Table 1, roll-aligned, RGB: the very
function the kiosk's analyzer calls). Every face found in a frame gives one crop (a group
photo gives several).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.io import read_image

__all__ = ["IMAGE_SUFFIXES", "PREPROCESSING_PATH", "face_crops_from_images", "iter_face_crops"]

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
#: Recorded in calibration manifests: how the crops were made.
PREPROCESSING_PATH = (
    "wds_edge.capture.sources/read_image -> wds_edge.perception.landmarks.FaceLandmarker -> "
    "wds_edge.perception.crop.kiosk_crop (Table 1, roll-aligned) -> uint8 RGB crop"
)


def _image_paths(folder: Path) -> list[Path]:
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise InvalidInputError(
            f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)}); pass a folder of face "
            "photos or a video file"
        )
    return paths


def face_crops_from_images(
    paths: Sequence[str | Path],
    size_px: int,
    *,
    landmarker_path: str | Path | None = None,
    max_faces: int = 4,
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(label, crop_rgb)`` for every face in each photo.

    Args:
        paths: image files.
        size_px: crop side (the model's input size).
        landmarker_path: the ``face_landmarker.task`` file (None: the SDK's search order).
        max_faces: faces per photo at most.

    Yields:
        ``"<file name>#<face index>"`` and the uint8 RGB ``size_px`` x ``size_px`` x 3 crop.
    """
    from wds_edge.perception.crop import kiosk_crop
    from wds_edge.perception.landmarks import FaceLandmarker, FaceLandmarkerOptions

    options = FaceLandmarkerOptions(model_path=landmarker_path, mode="image", max_faces=max_faces)
    with FaceLandmarker(options) as landmarker:
        for path in paths:
            image_rgb = cv2.cvtColor(read_image(path), cv2.COLOR_BGR2RGB)
            faces = landmarker.detect(image_rgb)
            if not faces:
                logger.info("%s: no face, skipped", path)
            for i, face in enumerate(faces):
                crop_rgb, _ = kiosk_crop(image_rgb, face, size_px, colour_order="rgb")
                yield f"{Path(path).name}#{i}", crop_rgb


def _source_crops(
    source: str,
    size_px: int,
    landmarker_path: str | Path | None,
    frame_stride: int,
    stills: bool,
    rejected: dict[str, int] | None,
) -> Iterator[tuple[str, np.ndarray]]:
    from wds_edge.capture.sources import open_source
    from wds_edge.perception.crop import kiosk_crop
    from wds_edge.perception.landmarks import FaceLandmarker, FaceLandmarkerOptions
    from wds_edge.perception.quality import FrameStatus, QualityConfig, assess_face

    gates = QualityConfig()  # the kiosk's own gates: calibrate on what analyze would accept
    counts: dict[str, int] = {} if rejected is None else rejected

    # Stills are independent pictures (image mode); a video is tracked (video mode).
    mode = "image" if stills else "video"
    options = FaceLandmarkerOptions(model_path=landmarker_path, mode=mode, max_faces=4)
    with open_source(source) as capture, FaceLandmarker(options) as landmarker:
        for n, frame in enumerate(capture):
            if n % frame_stride:
                continue
            image_rgb = cv2.cvtColor(frame.image_bgr, cv2.COLOR_BGR2RGB)
            timestamp = None if stills else frame.timestamp_ms
            for i, face in enumerate(landmarker.detect(image_rgb, timestamp)):
                status, _, _ = assess_face(frame.image_bgr, [face], gates)
                if status is not FrameStatus.OK:
                    counts[status.value] = counts.get(status.value, 0) + 1
                    continue
                crop, _ = kiosk_crop(image_rgb, face, size_px, colour_order="rgb")
                yield f"frame{frame.index:06d}#{i}", crop
    if counts:
        logger.warning("faces skipped by the kiosk quality gates: %s", counts)


def iter_face_crops(
    source: str | Path,
    size_px: int,
    *,
    landmarker_path: str | Path | None = None,
    frame_stride: int = 1,
    rejected: dict[str, int] | None = None,
) -> Iterator[tuple[str, np.ndarray]]:
    """Face crops from a folder of photos, one photo, or a video / camera source.

    Faces the kiosk's quality gates (:func:`wds_edge.perception.quality.assess_face`:
    size, pose, light, blur) would refuse are skipped, so INT8 ranges come from frames
    the kiosk would actually segment; ``rejected`` (when given) counts them by status.

    Args:
        source: a folder of images, an image file, or anything
            :func:`wds_edge.capture.sources.open_source` opens (video file, camera index, URL).
        size_px: crop side.
        landmarker_path: the ``face_landmarker.task`` file (None: SDK search order).
        frame_stride: for video, use every n-th frame (consecutive frames are near
            duplicates; a stride spreads a fixed crop budget over the whole clip).

    Yields:
        ``(label, uint8 RGB crop)``.
    """
    if frame_stride < 1:
        raise InvalidInputError(f"frame_stride must be >= 1, got {frame_stride}")
    path = Path(source)
    stills = path.is_dir() or (path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES)
    if path.is_dir():
        _image_paths(path)  # a clear error for a folder without images
    yield from _source_crops(str(source), size_px, landmarker_path, frame_stride, stills, rejected)
