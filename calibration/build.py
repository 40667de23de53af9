"""``wds-edge calibrate``: a calibration folder from photos or a video, the kiosk's way."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from wds_edge.errors import DataError, InvalidInputError
from wds_edge.progress import ProgressCallback
from wds_edge_calibration.crops import (
    IMAGE_SUFFIXES,
    PREPROCESSING_PATH,
    _image_paths,
    iter_face_crops,
)
from wds_edge_calibration.dataset import CalibrationSet, check_out_dir, write_calibration_set
from wds_edge_calibration.manifest import PEOPLE_FROM_VIDEO, PEOPLE_GIVEN
from wds_edge_calibration.people import (
    PeopleSource,
    people_crops,
    person_names,
    read_people_csv,
    video_person_id,
)

__all__ = ["build_calibration_set", "is_video_file"]

logger = logging.getLogger(__name__)


def is_video_file(source: str | Path) -> bool:
    """``source`` is a video file (an existing file that is not a photo; a path or a
    ``file://`` URL)."""
    from wds_edge.capture.sources import local_path

    path = Path(local_path(source))
    return path.is_file() and path.suffix.lower() not in IMAGE_SUFFIXES


def _source_photos(source: str | Path) -> list[Path] | None:
    """The photos of a folder, a glob (``photos/*.jpg``) or one photo; None for a video or
    camera source."""
    from wds_edge.capture.sources import image_paths

    path = Path(source)
    return _image_paths(path) if path.is_dir() else image_paths(source)


def _people_of_source(
    source: str | Path, people: Sequence[str], people_csv: str | Path | None
) -> tuple[tuple[str, ...], dict[Path, tuple[str, ...]] | None, str]:
    """(who every crop shows, None, where the names came from) or ((), photo -> its people,
    :data:`PEOPLE_GIVEN`).

    Without ``people`` or ``people_csv``, the frames of a video file are one person whose id
    is the video's content (:func:`video_person_id`, :data:`PEOPLE_FROM_VIDEO`): not its
    file name, which two people's videos may share.

    Raises:
        InvalidInputError: both given, a blank name, ``people_csv`` for a source that is
            not photos, or a CSV that does not name every photo (:func:`read_people_csv`).
    """
    names = person_names(people)
    if people_csv is None:
        if not names and is_video_file(source):  # the frames of one video: one person
            video_id = video_person_id(source)
            logger.info(
                "the crops of %s are recorded as one person, the video %s", source, video_id
            )
            return (video_id,), None, PEOPLE_FROM_VIDEO
        return names, None, PEOPLE_GIVEN
    if names:
        raise InvalidInputError(
            "pass --person NAME (every crop shows NAME) or --people-csv FILE (the person in "
            "each photo), not both"
        )
    images = _source_photos(source)
    if images is None:
        raise InvalidInputError(
            "--people-csv names the person in each photo of a folder or a glob of photos (or "
            f"one photo); {source} is not one: name who a video or camera shows with --person NAME"
        )
    return (), read_people_csv(people_csv, images), PEOPLE_GIVEN


def build_calibration_set(
    source: str | Path,
    out_dir: str | Path,
    *,
    count: int = 500,
    size_px: int = 640,
    frame_stride: int = 1,
    landmarker_path: str | Path | None = None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    rejected: dict[str, int] | None = None,
    grey_input_supported: bool = False,
    people: Sequence[str] = (),
    people_csv: str | Path | None = None,
    truncated: dict[str, int | None] | None = None,
) -> CalibrationSet:
    """Collect up to ``count`` face crops from ``source`` into ``out_dir``.

    Who the crops show is recorded in the manifest (``people``), as
    :func:`wds_edge_calibration.people.build_people_set` records it, so that ``wds-edge
    quantize`` refuses a held-out set that shares a person with the calibration set:
    ``people`` names who every crop shows, ``people_csv`` the person(s) in each photo of a
    folder (names given: checked strictly); without either, the frames of a video file are
    one person identified by the video's content
    (:func:`~wds_edge_calibration.people.video_person_id`, recorded as derived:
    ``people_source`` "video file"; quantize refuses only a held-out set made from the same
    video, and warns otherwise), and photos or a camera name nobody (unknown: the split
    cannot be checked).

    Args:
        source: folder of face photos, one photo, or a video / camera
            (:func:`wds_edge.capture.sources.open_source`).
        out_dir: calibration folder to create (crops + ``manifest.json``): not the source,
            nor a folder inside or above it.
        count: crops to collect at most (fewer if the source runs out; a warning is
            logged below :data:`wds_edge_calibration.dataset.MIN_RECOMMENDED_CROPS`).
        size_px: crop side = the model's input size.
        frame_stride: video only: use every n-th frame (photos are all used).
        landmarker_path: the ``face_landmarker.task`` file (None: SDK search order).
        overwrite: replace an existing calibration folder (never any other folder).
        progress: called as ``progress(crops_so_far, count_or_None, "")``.
        rejected: filled with the faces skipped because the kiosk's analyzer would refuse
            them, by status (``too_blurry``, ``turned_away``, ``needs_colour_camera``,
            ``colour_cast``, ...).
        grey_input_supported: keep grey faces (for a model whose metadata says
            ``grey_input_supported``; the analyzer refuses them otherwise); recorded in the
            manifest, where ``wds-edge quantize`` compares it with the model's.
        people: who every crop shows (ids or names); ``()``: see above.
        people_csv: a CSV of ``photo,person`` rows naming the person in every photo of a
            folder source (:func:`wds_edge_calibration.people.read_people_csv`); only the
            people of photos that gave a crop are recorded.
        truncated: filled with ``frames_read`` and ``expected_frames`` when a video file
            ended before its frame count (a truncated file): the set holds the crops of the
            frames before the cut (:func:`~wds_edge_calibration.crops.iter_face_crops`).

    Raises:
        InvalidInputError: bad count / size, a source path that does not exist, bad people
            (both options, a blank name, a CSV for a video, a photo the CSV does not name),
            or an ``out_dir`` that may not be written
            (:func:`wds_edge_calibration.dataset.check_out_dir`: a file, the source or a
            folder in / above it, an existing folder without ``overwrite``, a folder that
            is not a calibration folder); checked before any crop is made.
        DataError: no face found in the source, or none the kiosk would accept.
    """
    from wds_edge.capture.sources import local_path, require_local_source

    if count < 1:
        raise InvalidInputError(f"--count (count) must be positive, got {count}")
    if size_px < 16 or size_px % 16:
        raise InvalidInputError(
            f"--size (size_px) must be a multiple of 16 (16 or more), got {size_px}"
        )
    require_local_source(source)
    source = local_path(source)  # a file:// URL: the file it names, a path from here on
    check_out_dir(out_dir, overwrite=overwrite, sources=[source])
    names, photo_people, people_source = _people_of_source(source, people, people_csv)
    counts: dict[str, int] = {} if rejected is None else rejected
    made: list[int] = []
    seen: set[str] = set()

    def crops() -> Iterator[np.ndarray]:
        if photo_people is not None:  # the people route: each crop knows its photo
            sources = [PeopleSource(photo, who) for photo, who in photo_people.items()]
            for src, _, crop in people_crops(
                sources, size_px, augment=False, landmarker_path=landmarker_path,
                rejected=counts, grey_input_supported=grey_input_supported,
            ):  # fmt: skip
                made.append(1)
                seen.update(src.people)
                yield crop
            return
        for _, crop in iter_face_crops(
            source, size_px, landmarker_path=landmarker_path, frame_stride=frame_stride,
            rejected=counts, grey_input_supported=grey_input_supported,
            truncated=truncated,
        ):  # fmt: skip
            made.append(1)
            seen.update(names)
            yield crop

    try:
        return write_calibration_set(
            crops(),
            out_dir,
            source=str(source),
            size_px=size_px,
            preprocessing_path=PREPROCESSING_PATH,
            count=count,
            overwrite=overwrite,
            progress=progress,
            people_of=lambda: sorted(seen),  # the people of the crops written
            people_source=people_source,
            grey_input_supported=grey_input_supported,
        )
    except DataError as exc:
        if made or not counts:
            raise
        refused = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        grey = ""
        if counts.get("needs_colour_camera") and not grey_input_supported:
            grey = (
                "; for a model that takes grey faces (its metadata says "
                "grey_input_supported: `wds-edge export --grey-input`) pass --grey-input"
            )
        raise DataError(
            f"no face in {source} passes the kiosk's checks ({refused}): the kiosk would "
            "refuse every one, so none can calibrate it; use photos / video from the kiosk's "
            f"(colour) camera, lit as at the kiosk{grey}"
        ) from exc
