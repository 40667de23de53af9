"""The demo's outputs: annotated video + JSON lines (atomic), snapshots, memory readings."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from wds_edge.capture.sources import is_file_source, local_path
from wds_edge.errors import InvalidInputError, OutputError
from wds_edge.io import (
    encode_image,
    ensure_writable_dir,
    fsync_dir,
    output_error,
    same_file,
    temporary_path,
    write_files_atomic,
)

__all__ = [
    "DemoRecorder",
    "RECORD_CODECS",
    "check_distinct_outputs",
    "check_record_path",
    "check_screenshot_path",
    "save_snapshot",
    "process_rss_mb",
    "count_video_frames",
]

#: The containers ``--record`` writes (by file suffix) and the codec each gets.
RECORD_CODECS = {".mp4": "mp4v", ".avi": "MJPG"}
#: Free bytes under which a failed video write is put down to a full disk.
_FULL_DISK_BYTES = 1 << 20
#: A timed recording (a source that drops frames) fills a gap between two shown frames by
#: repeating the earlier one, up to this many seconds; a longer gap (a camera lost for a
#: while) is cut to this length, so a long outage does not fill the file with one frame.
MAX_FILLED_GAP_S = 2.0


def check_record_path(path: str | Path) -> Path:
    """``path`` names a container :class:`DemoRecorder` writes (``.mp4`` or ``.avi``).

    Raises:
        InvalidInputError: another suffix; the message names the ones that work.
    """
    path = Path(path)
    if path.suffix.lower() not in RECORD_CODECS:
        kind = f"'{path.suffix}' files" if path.suffix else "a file without a suffix"
        raise InvalidInputError(
            f"{path}: --record cannot write {kind}; name the recording .mp4 (mp4v) or .avi (MJPG)"
        )
    return path


def check_screenshot_path(path: str | Path) -> Path:
    """OpenCV can encode the demo's canvas (uint8 BGR) as ``path``'s image format (the
    suffix, as :func:`~wds_edge.io.write_image_atomic` picks it; none means PNG).

    Raises:
        InvalidInputError: no OpenCV encoder for the suffix; the message names the fix.
    """
    path = Path(path)
    ext = path.suffix.lower() or ".png"
    try:
        encode_image(np.zeros((8, 8, 3), np.uint8), ext, path)
    except InvalidInputError:
        raise InvalidInputError(
            f"{path}: --screenshot cannot be saved as '{ext}' (OpenCV has no encoder for it "
            "here); name the screenshot .png or .jpg"
        ) from None
    return path


def check_distinct_outputs(
    source: str | int | Path | None,
    outputs: Mapping[str, str | Path | None],
    source_option: str = "--source",
) -> None:
    """No output names the source's file, and no two outputs name one file.

    ``--record`` naming the ``--source`` video replaced the video being read; two outputs of
    one name wrote into each other (the last one moved into place won). Names are compared
    resolved (``.``, ``..``, symlinks) and, where both files exist, as files (hard links).

    Args:
        source: the demo's source; compared only when it is a local file or folder.
        outputs: the option (or field) that names each output -> its path (None: not asked).
        source_option: how the message names the source (``--source``, ``source``).

    Raises:
        InvalidInputError: the two options and their names, and the fix.
    """
    named = [(option, Path(path)) for option, path in outputs.items() if path]
    if source is not None and is_file_source(source):
        source_path = Path(local_path(source))  # type: ignore[arg-type]
        for option, path in named:
            if same_file(path, source_path):
                raise InvalidInputError(
                    f"{option} {path} is the {source_option} {source}: writing it would "
                    f"replace what the demo reads; give {option} another file name"
                )
    for i, (option, path) in enumerate(named):
        for other_option, other in named[i + 1 :]:
            if same_file(path, other):
                raise InvalidInputError(
                    f"{option} {path} and {other_option} {other} name the same file: each "
                    f"output needs a file of its own; give one of them another name"
                )


def process_rss_mb() -> float:
    """Resident set size of this process in MiB (``/proc/self/status``; 0 if unknown)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource

        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)
    except ImportError:  # Windows
        return 0.0


def _partial(path: Path) -> Path:
    """A fresh temporary beside ``path``: ``.wdstmp-<pid>-<name>-<random><suffix>``.

    The real suffix stays last (VideoWriter picks the container from it); the random part
    keeps two recorders of one name apart; the wds-edge prefix lets the next run remove
    what a killed run left behind."""
    return temporary_path(path, path.suffix)


class DemoRecorder:
    """Writes annotated frames to an mp4 and per-frame records to a JSON-lines file.

    Both go to hidden temporary files beside the targets (``.wdstmp-*``) and are moved into
    place by :meth:`close`, so a reader never sees a half-written file under the final name.

    Untimed, every frame written is one frame of the video. Timed (a source that drops
    frames: a camera, a stream, a file played in real time), each frame is placed by its
    capture time: the gap since the previous one is filled by repeating the previous frame
    (what the screen showed meanwhile), so the file plays in real time at ``fps``; a frame
    that comes before its slot (a source faster than ``fps``) is left out of the video, and
    a gap longer than ``max_gap_s`` is cut to that length.

    Args:
        video_path: ``.mp4`` (mp4v codec) or ``.avi`` (MJPG); None: no video.
        jsonl_path: JSON-lines file; None: no records.
        fps: frame rate stamped into the video.
        timed: place frames by the ``capture_time_s`` given to :meth:`write`.
        max_gap_s: a timed recording's longest filled gap (seconds).

    Attributes:
        frames: records written (frames shown). video_frames: frames in the video.
        repeated: video frames that repeat a shown frame to fill a gap (timed).
        left_out: shown frames left out of the video, early for their slot (timed).
        gaps_cut: gaps longer than ``max_gap_s``, cut to it (timed).
    """

    def __init__(
        self,
        video_path: str | Path | None,
        jsonl_path: str | Path | None,
        fps: float = 30.0,
        *,
        timed: bool = False,
        max_gap_s: float = MAX_FILLED_GAP_S,
    ) -> None:
        self.video_path = check_record_path(video_path) if video_path else None
        self.jsonl_path = Path(jsonl_path) if jsonl_path else None
        self.fps = fps if fps > 0 else 30.0
        self.timed = timed
        self._max_fill = max(0, round(max_gap_s * self.fps))
        self._writer: cv2.VideoWriter | None = None
        self._jsonl: IO[str] | None = None
        self._video_partial: Path | None = None  # the temporaries, while they are written
        self._jsonl_partial: Path | None = None
        self._video_error: OutputError | None = None  # a video write that failed
        self._t0: float | None = None  # capture time of video frame 0 (timed)
        self._last: np.ndarray | None = None  # the last frame written (timed: the fill)
        self.frames = 0
        self.video_frames = 0
        self.repeated = 0
        self.left_out = 0
        self.gaps_cut = 0
        if self.jsonl_path is not None:
            try:
                self.jsonl_path.parent.mkdir(parents=True, exist_ok=True)
                self._jsonl_partial = _partial(self.jsonl_path)
                self._jsonl = open(self._jsonl_partial, "w", encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                raise output_error(self.jsonl_path, "JSON lines", exc) from None

    def write(
        self, canvas_bgr: np.ndarray, record: dict[str, Any], capture_time_s: float | None = None
    ) -> None:
        """Append one annotated frame (uint8 BGR) and its JSON record.

        ``capture_time_s`` (``time.monotonic()`` seconds, the frame's capture time) places
        the frame in a timed recording; without it the frame is appended.
        """
        if self.video_path is not None:
            if self._writer is None:
                self.video_path.parent.mkdir(parents=True, exist_ok=True)
                codec = RECORD_CODECS[self.video_path.suffix.lower()]
                h, w = canvas_bgr.shape[:2]
                partial = _partial(self.video_path)
                writer = cv2.VideoWriter(
                    str(partial), cv2.VideoWriter_fourcc(*codec), self.fps, (w, h)
                )
                if not writer.isOpened():
                    # nothing to finish: close() must not move a video that was never begun
                    writer.release()
                    with contextlib.suppress(OSError):  # never made; a read-only folder
                        partial.unlink()
                    # a folder that cannot take the file (read-only, full) says so first
                    ensure_writable_dir(self.video_path.parent, "video")
                    other = ".avi (MJPG)" if codec != "MJPG" else ".mp4 (mp4v)"
                    raise OutputError(
                        f"cannot write the video to {self.video_path}: OpenCV cannot open a "
                        f"{codec} writer for {w}x{h} frames here (a codec that is missing or "
                        f"does not take that size); name the recording {other}, or leave "
                        "--record out"
                    )
                self._writer = writer
                self._video_partial = partial
                self._size = (w, h)
            if (canvas_bgr.shape[1], canvas_bgr.shape[0]) != self._size:
                canvas_bgr = cv2.resize(canvas_bgr, self._size)  # a camera may reconnect resized
            self._write_video(self._writer, canvas_bgr, capture_time_s)
        if self._jsonl is not None:
            try:
                self._jsonl.write(json.dumps(record, separators=(",", ":")) + "\n")
            except OSError as exc:  # the buffer's flush: a full disk, a vanished folder
                raise output_error(self.jsonl_path, "JSON lines", exc) from None  # type: ignore[arg-type]
        self.frames += 1

    def _put(self, writer: cv2.VideoWriter, frame: np.ndarray) -> None:
        """One video frame; a write OpenCV reports as failed (``False``; older OpenCV
        returns None and :meth:`close` finds the loss instead) ends the recording."""
        if writer.write(frame) is False:
            self._video_error = self._video_failure(f"writing frame {self.video_frames + 1} failed")
            raise self._video_error
        self.video_frames += 1

    def _video_failure(self, detail: str) -> OutputError:
        """The OutputError of a video the writer could not complete: a full disk said so."""
        path = self.video_path
        try:
            free = shutil.disk_usage(path.parent).free  # type: ignore[union-attr]
        except OSError:
            free = None
        if free is not None and free < _FULL_DISK_BYTES:
            return output_error(path, "video", OSError(errno.ENOSPC, "no space left"))  # type: ignore[arg-type]
        return OutputError(
            f"cannot write the video to {path}: {detail} (OpenCV's video writer could not "
            "write the file); check the disk and run again, or leave --record out"
        )

    def _write_video(
        self, writer: cv2.VideoWriter, canvas_bgr: np.ndarray, t: float | None
    ) -> None:
        if self.timed and t is not None:
            if self._t0 is None:
                self._t0 = t  # the first frame is slot 0 of the timeline
            missing = round((t - self._t0) * self.fps) - self.video_frames  # slots to fill
            if missing < 0:  # its slot is taken: the source is faster than fps
                self.left_out += 1
                self._last = canvas_bgr  # still what the screen shows next
                return
            if missing > self._max_fill:  # a long outage: cut it, move the timeline on
                self._t0 += (missing - self._max_fill) / self.fps
                self.gaps_cut += 1
                missing = self._max_fill
            if self._last is not None:
                for _ in range(missing):
                    self._put(writer, self._last)  # what the screen showed until this frame
                    self.repeated += 1
            self._last = canvas_bgr
        self._put(writer, canvas_bgr)

    def close(self, *, keep: bool = True) -> dict[str, str]:
        """Finish both files and move them into place; returns {"video"/"jsonl": path}.

        ``keep=False`` (a run that failed): remove the temporary files instead, so nothing
        of the failed run appears under the target names (returns {}). A video whose writer
        never opened has no file to move, and none is reported. Idempotent.

        Both files are finished (the video's end written, checked to hold every frame
        written; the JSON lines flushed to the disk) before either is moved into place.
        When one cannot be finished (a failed write, a full disk, an end the writer could
        not write, which leaves a video that does not play), both are dropped like a failed
        run's: an earlier file at either name is never replaced by a broken one.

        Raises:
            OutputError: a file could not be finished or moved into place (a full disk, a
                folder that took the name, ...); the temporaries are removed.
        """
        done: dict[str, str] = {}
        errors: list[Exception] = []
        finished: list[tuple[str, Path, Path, str]] = []  # (kind, temporary, target, what)
        steps = (
            ("video", self.video_path, "video", self._finish_video),
            ("jsonl", self.jsonl_path, "JSON lines", self._finish_jsonl),
        )
        try:
            for kind, target, what, finish in steps:
                try:
                    partial = finish(keep and not errors)  # one failed: drop the other too
                except Exception as exc:  # the other one is still closed; the first is raised
                    errors.append(exc)
                    continue
                if partial is not None:
                    finished.append((kind, partial, target, what))  # type: ignore[arg-type]
            for kind, partial, target, what in finished:
                if errors:
                    break
                try:
                    os.replace(partial, target)
                    fsync_dir(target.parent)
                except OSError as exc:  # e.g. a folder took the name meanwhile
                    errors.append(output_error(target, what, exc))
                else:
                    done[kind] = str(target)
        finally:
            for kind, partial, _target, _what in finished:
                if kind not in done:
                    with contextlib.suppress(OSError):
                        partial.unlink()
        if errors:
            raise errors[0]
        return done

    def _finish_video(self, keep: bool) -> Path | None:
        """Release the writer (it writes the container's end: the mp4 index); the checked
        temporary to move into place, or None (no video, or ``keep`` False: removed).

        Raises:
            OutputError: a frame could not be written, or the file does not hold every
                frame written (the temporary is removed).
        """
        if self._writer is None:
            return None
        writer, self._writer = self._writer, None
        partial, self._video_partial = self._video_partial, None
        finished = False
        try:
            writer.release()
            if not keep or partial is None or not partial.exists():
                return None
            if self._video_error is not None:
                raise self._video_error
            self._check_video(partial)
            with open(partial, "rb") as handle:
                os.fsync(handle.fileno())
            finished = True
            return partial
        except OSError as exc:
            raise output_error(self.video_path, "video", exc) from None  # type: ignore[arg-type]
        finally:
            if not finished and partial is not None:
                with contextlib.suppress(OSError):
                    partial.unlink()

    def _check_video(self, partial: Path) -> None:
        """The finished temporary plays and holds every frame written (the count its
        container lists; decoded with :func:`count_video_frames` where it lists none or
        another number)."""
        cap = cv2.VideoCapture(str(partial))
        try:
            opened = cap.isOpened()
            listed = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if opened else 0
        finally:
            cap.release()
        frames = listed if listed == self.video_frames else count_video_frames(partial)
        if frames < self.video_frames:
            what = (
                f"holds {frames} of its {self.video_frames} frames" if frames else "does not play"
            )
            raise self._video_failure(f"the finished file {what}")

    def _finish_jsonl(self, keep: bool) -> Path | None:
        """Flush the JSON lines to the disk and close them; the temporary to move into
        place, or None (no JSON lines, or ``keep`` False: removed).

        Raises:
            OutputError: the lines could not be written (the temporary is removed).
        """
        if self._jsonl is None:
            return None
        handle, self._jsonl = self._jsonl, None
        partial, self._jsonl_partial = self._jsonl_partial, None
        finished = False
        try:
            if not keep:  # dropped: a flush that fails does not matter
                with contextlib.suppress(OSError):
                    handle.close()
                return None
            try:
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                handle.close()  # flushes again if the flush failed: the fd is closed anyway
            finished = True
            return partial
        except OSError as exc:
            raise output_error(self.jsonl_path, "JSON lines", exc) from None  # type: ignore[arg-type]
        finally:
            if not finished and partial is not None:
                with contextlib.suppress(OSError):
                    partial.unlink()


def save_snapshot(
    folder: str | Path,
    frame_bgr: np.ndarray,
    annotated_bgr: np.ndarray,
    result: Any,
    record: dict[str, Any],
) -> Path:
    """Save ``<stamp>_frame.png``, ``<stamp>_overlay.png`` and ``<stamp>.json`` as one unit
    (:func:`~wds_edge.io.write_files_atomic`: all three or none).

    The JSON holds the frame record and the full result (mask as base64 PNG). Returns
    the JSON path.

    Raises:
        OutputError: ``folder`` cannot be written (a file, read-only, full, ...).
    """
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{int(time.time() * 1000) % 1000:03d}"
    base = Path(folder) / f"wds_{stamp}"
    data = {"record": record, "result": result.to_dict(include_arrays=True)}
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    json_path = Path(f"{base}.json")
    write_files_atomic(
        {
            Path(f"{base}_frame.png"): encode_image(frame_bgr, ".png"),
            Path(f"{base}_overlay.png"): encode_image(annotated_bgr, ".png"),
            json_path: text.encode("utf-8"),
        }
    )
    return json_path


def count_video_frames(path: str | Path) -> int:
    """Decode a video with OpenCV and count its frames (0 if it does not open)."""
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return 0
        n = 0
        while cap.grab():
            n += 1
        return n
    finally:
        with contextlib.suppress(Exception):
            cap.release()
