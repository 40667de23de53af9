"""Turn kiosk recordings into training photos: every n-th frame of a video, saved as images.

A kiosk maker records people at the kiosk (the camera, light and distance the model will
see), extracts frames with :func:`extract_frames` (``wds-edge frames``), labels them
(``wds-edge label --images FRAMES --auto`` or with rough annotations) and trains on them.
Frames are read through :func:`wds_edge.capture.sources.open_source`, the same decoder the kiosk
uses, so training photos and kiosk frames go through identical colour conversion.

Output: ``OUT/<prefix>_f<index:06d>.<ext>`` (uint8 BGR encoded as PNG or JPEG, the frame's
full resolution), one file per selected frame, each written atomically. ``index`` is the
frame number in the source (0-based), so a file name says where in the clip it came from.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from wds_edge.capture.sources import open_source
from wds_edge.errors import InvalidInputError
from wds_edge.io import write_image_atomic
from wds_edge.progress import ProgressCallback

__all__ = ["FRAME_FORMATS", "ExtractedFrames", "extract_frames", "frame_file_name"]

logger = logging.getLogger(__name__)

#: Image formats ``extract_frames`` writes (PNG is lossless: no second compression on top of
#: the video codec's; JPEG is ~10x smaller).
FRAME_FORMATS = ("png", "jpg")
#: Characters kept in a frame file's prefix: letters and digits of any script (two clips
#: named in Cyrillic must not both become "frame"), "_", "." and "-".
_PREFIX_RE = re.compile(r"[^\w.-]+")

ProgressFn = ProgressCallback  # the SDK-wide type; this name kept for importers


@dataclass
class ExtractedFrames:
    """What :func:`extract_frames` did.

    Attributes:
        source: the source that was read.
        out_dir: folder the frames were written to.
        paths: the written image files, in frame order.
        indices: source frame index of each written file (same order as ``paths``).
        frames_read: frames decoded from the source (including skipped ones; with
            ``stop``, at most ``stop``: the frames ``0 .. stop - 1``).
        fps: the source's nominal frame rate (None if unknown).
        size: ``(width, height)`` of the frames (None if no frame was read).
        expected_frames: the video container's frame count (None if it has none).
        ended_early: the video ended before ``expected_frames`` (a truncated file): the
            frames written are valid, the ones after the cut are missing.
        earlier_kept: with ``overwrite``, the earlier run's frames this run did not rewrite
            and kept because it wrote no frame or the video ended early (0 otherwise: they
            were removed).
    """

    source: str
    out_dir: Path
    paths: list[Path] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)
    frames_read: int = 0
    fps: float | None = None
    size: tuple[int, int] | None = None
    expected_frames: int | None = None
    ended_early: bool = False
    earlier_kept: int = 0


def frame_file_name(prefix: str, index: int, image_format: str = "png") -> str:
    """File name of frame ``index``: ``<prefix>_f<index:06d>.<format>``."""
    return f"{prefix}_f{index:06d}.{image_format}"


def _earlier_frames(out_dir: str | Path, prefix: str) -> list[Path]:
    """The frame files of ``prefix`` in ``out_dir``, of every format in
    :data:`FRAME_FORMATS` (``<prefix>_f<index>.<format>``; other files are not frames)."""
    out = Path(out_dir)
    if not out.is_dir():
        return []
    name = re.compile(rf"{re.escape(prefix)}_f\d{{6,}}\.(?:{'|'.join(FRAME_FORMATS)})")
    return sorted(p for p in out.iterdir() if name.fullmatch(p.name) and p.is_file())


def _check_args(every: int, start: int, stop: int | None, image_format: str) -> None:
    if every < 1:
        raise InvalidInputError(f"--every must be >= 1 (1 = every frame), got {every}")
    if start < 0:
        raise InvalidInputError(f"--start must be a frame index >= 0, got {start}")
    if stop is not None and stop <= start:
        raise InvalidInputError(
            f"--stop ({stop}) must be greater than --start ({start}); frames start <= i < stop "
            "are considered"
        )
    if image_format not in FRAME_FORMATS:
        raise InvalidInputError(
            f"image format {image_format!r} is not supported; use one of {FRAME_FORMATS}"
        )


def extract_frames(
    source: str | Path,
    out_dir: str | Path,
    *,
    every: int = 1,
    start: int = 0,
    stop: int | None = None,
    image_format: str = "png",
    prefix: str | None = None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> ExtractedFrames:
    """Save frames ``start, start + every, ...`` (``< stop``) of a video as image files.

    Args:
        source: a video file (anything ``open_source`` opens; cameras and
            streams need ``stop``, since they never end).
        out_dir: folder to write into (created).
        every: keep one frame in ``every`` (1 = all).
        start: first frame index considered (0-based).
        stop: frame index to stop before (exclusive); None = to the end of the file.
        image_format: ``"png"`` (lossless) or ``"jpg"``.
        prefix: file-name prefix; default the source's file stem.
        overwrite: replace the frames of an earlier run with the same prefix (PNG and
            JPEG): the frames this run writes replace theirs one by one, and the rest of them
            are removed at the end, once this run wrote at least one frame and read the video
            to its end (or ``stop``). A run that fails, writes no frame or finds the video
            truncated keeps them (``earlier_kept``). Without ``overwrite`` such files make
            this call fail before anything is written.
        progress: called as ``progress(frames_read, stop_or_None, last_written_name)``.

    Returns:
        :class:`ExtractedFrames` (paths, source indices, counts, fps, size, and whether
        the video ended before its frame count: ``ended_early``).

    Raises:
        InvalidInputError: bad arguments, an endless source without ``stop``, or earlier
            frames in ``out_dir`` without ``overwrite``.
        CaptureError: the source cannot be opened or decoded.
    """
    _check_args(every, start, stop, image_format)
    text = str(source)
    stem = prefix if prefix is not None else Path(text).stem or "frame"
    stem = _PREFIX_RE.sub("_", stem).strip("_") or "frame"
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"{out}: --out must be a folder, but a file of that name exists")
    existing = _earlier_frames(out, stem)
    if existing and not overwrite:
        raise InvalidInputError(
            f"{out} already holds {len(existing)} frame(s) named {stem}_f*.{{"
            f"{','.join(FRAME_FORMATS)}}} (e.g. {existing[0].name}); pass --force to replace "
            "them or choose another --out"
        )
    with open_source(text, threaded=False) as frames:
        if frames.is_live and stop is None:
            raise InvalidInputError(
                f"{text} is a live source that never ends; pass --stop N to save frames before N"
            )
        result = ExtractedFrames(
            source=text, out_dir=out, fps=frames.fps, expected_frames=frames.expected_frames
        )
        out.mkdir(parents=True, exist_ok=True)
        for frame in frames:
            index = frame.index
            if stop is not None and index >= stop:  # past a gap in the indices
                break
            result.frames_read += 1
            if index >= start and not (index - start) % every:
                path = out / frame_file_name(stem, index, image_format)
                write_image_atomic(path, frame.image_bgr)
                result.paths.append(path)
                result.indices.append(index)
                result.size = (frame.image_bgr.shape[1], frame.image_bgr.shape[0])
                if progress is not None:
                    progress(result.frames_read, stop, path.name)
            if stop is not None and index >= stop - 1:  # frame `stop` is not decoded
                break
        result.ended_early = frames.ended_early
    # an earlier run's frames this run did not rewrite go, all formats (a frame left of the
    # other format is a second photo of one stem, which `label` refuses); only now that the
    # new ones exist: a run that wrote nothing or was cut short leaves them
    written = set(result.paths)
    stale = [path for path in existing if path not in written]
    if stale and result.paths and not result.ended_early:
        for path in stale:
            path.unlink(missing_ok=True)
        logger.info("%s: removed %d frame(s) of an earlier run", out, len(stale))
    else:
        result.earlier_kept = len(stale)
    if not result.paths:
        logger.warning(
            "%s: no frame selected (read %d frames; start %d, stop %s, every %d)",
            text, result.frames_read, start, stop, every,
        )  # fmt: skip
    return result
