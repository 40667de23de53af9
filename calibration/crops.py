"""Face crops through the kiosk's own path: capture -> landmarks -> Table 1 crop.

Calibration (and the export parity check) must see exactly what the kiosk feeds the
model, so these crops come from the same SDK functions the kiosk runs:
:mod:`wds_edge.capture.sources` (video files / cameras) or :func:`wds_edge.io.read_image`
(a folder of photos), :class:`wds_edge.perception.landmarks.FaceLandmarker` on the frame
downscaled as the analyzer does (:func:`wds_edge.perception.locate.detect_faces`, to the
analyzer's default ``max_landmark_side_px``), and :func:`wds_edge.perception.crop.kiosk_crop`
(paper Table 1, roll-aligned, RGB: the very function the kiosk's analyzer calls). Every
face found in a frame gives one crop (a group photo gives several).

:func:`iter_face_crops` keeps only the faces the kiosk would segment: the analyzer's
quality gates and its colour checks (a grey face, a colour cast), through the kiosk's own
locate step (:func:`wds_edge.perception.locate.gate_faces`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.io import read_image

if TYPE_CHECKING:
    from wds_edge.perception.landmarks import Face
    from wds_edge.perception.quality import QualityConfig

__all__ = ["IMAGE_SUFFIXES", "PREPROCESSING_PATH", "face_crops_from_images", "iter_face_crops"]

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
#: Recorded in calibration manifests: how the crops were made.
PREPROCESSING_PATH = (
    "wds_edge.capture.sources/read_image -> wds_edge.perception.landmarks.FaceLandmarker "
    "(wds_edge.perception.locate.detect_faces: frame downscaled to the analyzer's "
    "max_landmark_side_px) -> wds_edge.perception.crop.kiosk_crop (Table 1, roll-aligned) "
    "-> uint8 RGB crop"
)


def _kiosk_face(
    frame_bgr: np.ndarray,
    face: Face,
    size_px: int,
    gates: QualityConfig,
    grey_input_supported: bool,
) -> tuple[str, np.ndarray | None]:
    """One face through the analyzer's checks: ``("ok", crop_rgb)`` or ``(status, None)``.

    The analyzer's own step (:func:`~wds_edge.perception.locate.gate_faces`: the quality
    gates, then the colour gates), and its crop: the one the gates measured.
    """
    from wds_edge.perception.locate import gate_faces
    from wds_edge.perception.quality import FrameStatus

    located = gate_faces(
        frame_bgr, [face], gates, crop_size_px=size_px, grey_input_supported=grey_input_supported
    )
    if located.status is not FrameStatus.OK or located.crop is None:
        return located.status.value, None
    return located.status.value, located.crop.crop_rgb


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
    from wds_edge.perception.locate import detect_faces

    options = FaceLandmarkerOptions(model_path=landmarker_path, mode="image", max_faces=max_faces)
    with FaceLandmarker(options) as landmarker:
        for path in paths:
            image_bgr = read_image(path)
            faces = detect_faces(landmarker.detect, image_bgr)
            if not faces:
                logger.info("%s: no face, skipped", path)
            for i, face in enumerate(faces):
                crop_rgb, _ = kiosk_crop(image_bgr, face, size_px, colour_order="bgr")
                yield f"{Path(path).name}#{i}", crop_rgb


def _source_crops(
    source: str,
    size_px: int,
    landmarker_path: str | Path | None,
    frame_stride: int,
    stills: bool,
    rejected: dict[str, int] | None,
    grey_input_supported: bool,
    truncated: dict[str, int | None] | None = None,
) -> Iterator[tuple[str, np.ndarray]]:
    from wds_edge.capture.sources import open_source
    from wds_edge.perception.landmarks import FaceLandmarker, FaceLandmarkerOptions
    from wds_edge.perception.locate import detect_faces
    from wds_edge.perception.quality import QualityConfig

    gates = QualityConfig()  # the kiosk's own gates: calibrate on what analyze would accept
    counts: dict[str, int] = {} if rejected is None else rejected

    # Stills are independent pictures (image mode); a video is tracked (video mode).
    mode = "image" if stills else "video"
    options = FaceLandmarkerOptions(model_path=landmarker_path, mode=mode, max_faces=4)
    with open_source(source) as capture, FaceLandmarker(options) as landmarker:
        for n, frame in enumerate(capture):
            if not stills and n % frame_stride:  # the stride thins a video, never photos
                continue
            timestamp = None if stills else frame.timestamp_ms
            detect = functools.partial(landmarker.detect, timestamp_ms=timestamp)
            faces = detect_faces(detect, frame.image_bgr)
            for i, face in enumerate(faces):
                status, crop = _kiosk_face(frame.image_bgr, face, size_px, gates,
                                           grey_input_supported)  # fmt: skip
                if crop is None:
                    counts[status] = counts.get(status, 0) + 1
                    continue
                yield f"frame{frame.index:06d}#{i}", crop
        if getattr(capture, "ended_early", False):  # read to its end, which came early
            logger.warning("%s ended before its last frame: cropped what decoded", source)
            if truncated is not None:
                truncated.update(
                    frames_read=capture.frames_read, expected_frames=capture.expected_frames
                )
    if counts:
        logger.warning("faces skipped by the kiosk's quality and colour checks: %s", counts)


def iter_face_crops(
    source: str | Path,
    size_px: int,
    *,
    landmarker_path: str | Path | None = None,
    frame_stride: int = 1,
    rejected: dict[str, int] | None = None,
    grey_input_supported: bool = False,
    truncated: dict[str, int | None] | None = None,
) -> Iterator[tuple[str, np.ndarray]]:
    """Face crops from a folder of photos, one photo, or a video / camera source.

    Faces the kiosk's analyzer would refuse are skipped: its quality gates (size, pose,
    light, blur) and its colour checks (``needs_colour_camera`` for a grey face,
    ``colour_cast``), as :func:`wds_edge.perception.locate.gate_faces` applies them, so INT8
    ranges come from frames the kiosk would actually segment; ``rejected`` (when given)
    counts them by status.

    Args:
        source: a folder of images, an image file, or anything
            :func:`wds_edge.capture.sources.open_source` opens (video file, camera index, URL).
        size_px: crop side.
        landmarker_path: the ``face_landmarker.task`` file (None: SDK search order).
        frame_stride: video only: use every n-th frame (consecutive frames are near
            duplicates; a stride spreads a fixed crop budget over the whole clip). Photos
            are all used whatever the stride.
        rejected: filled with the skipped faces, by status.
        grey_input_supported: keep grey faces, as the analyzer does for a model whose
            metadata says ``grey_input_supported``.
        truncated: filled with ``frames_read`` and ``expected_frames`` when a video file,
            read to its end, ended before its container's frame count (a file cut off while
            it was copied): the crops before the cut were yielded, the rest are missing.
            Left empty otherwise (also when the caller stopped before the end).

    Yields:
        ``(label, uint8 RGB crop)``.
    """
    if frame_stride < 1:
        raise InvalidInputError(f"--stride (frame_stride) must be >= 1, got {frame_stride}")
    from wds_edge.capture.sources import image_paths

    path = Path(source)
    stills = image_paths(source) is not None  # a folder, a glob or a photo: as open_source
    if path.is_dir():
        _image_paths(path)  # a clear error for a folder without images
    if stills and frame_stride != 1:
        logger.warning(
            "frame stride %d ignored for the photos of %s: every photo is used (the "
            "stride thins a video's frames)", frame_stride, source,
        )  # fmt: skip
    yield from _source_crops(
        str(source), size_px, landmarker_path, frame_stride, stills, rejected,
        grey_input_supported, truncated,
    )  # fmt: skip
