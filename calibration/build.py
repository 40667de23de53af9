"""``wds-edge calibrate``: a calibration folder from photos or a video, the kiosk's way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from wds_edge.errors import DataError, InvalidInputError
from wds_edge.progress import ProgressCallback
from wds_edge_calibration.crops import PREPROCESSING_PATH, iter_face_crops
from wds_edge_calibration.dataset import CalibrationSet, check_out_dir, write_calibration_set

__all__ = ["build_calibration_set"]


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
) -> CalibrationSet:
    """Collect up to ``count`` face crops from ``source`` into ``out_dir``.

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
            ``grey_input_supported``; the analyzer refuses them otherwise).

    Raises:
        InvalidInputError: bad count / size, or an ``out_dir`` that may not be written
            (:func:`wds_edge_calibration.dataset.check_out_dir`: a file, the source or a
            folder in / above it, an existing folder without ``overwrite``, a folder that
            is not a calibration folder); checked before any crop is made.
        DataError: no face found in the source, or none the kiosk would accept.
    """
    if count < 1:
        raise InvalidInputError(f"count must be positive, got {count}")
    if size_px < 16 or size_px % 16:
        raise InvalidInputError(f"size_px must be a multiple of 16, got {size_px}")
    check_out_dir(out_dir, overwrite=overwrite, sources=[source])
    counts: dict[str, int] = {} if rejected is None else rejected
    made: list[int] = []

    def crops() -> Iterator[np.ndarray]:
        for _, crop in iter_face_crops(
            source, size_px, landmarker_path=landmarker_path, frame_stride=frame_stride,
            rejected=counts, grey_input_supported=grey_input_supported,
        ):  # fmt: skip
            made.append(1)
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
        )
    except DataError as exc:
        if made or not counts:
            raise
        refused = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        raise DataError(
            f"no face in {source} passes the kiosk's checks ({refused}): the kiosk would "
            "refuse every one, so none can calibrate it; use photos / video from the kiosk's "
            "(colour) camera, lit as at the kiosk"
        ) from exc
