"""Frame sources: cameras, streams, video files and images behind one ``open_source(uri)``.

=================================  ==========================================================
``uri``                            source
=================================  ==========================================================
``0`` / ``"0"``                    camera index (OpenCV's default backend)
``v4l2:///dev/video0``             V4L2 device; MJPG is requested first (USB cameras give
                                   full frame rates only in MJPG)
``csi://0``                        Jetson CSI camera through a GStreamer ``nvarguscamerasrc``
                                   pipeline (needs an OpenCV built with GStreamer)
``rtsp://...``, ``https://...``    network stream (FFmpeg); any other ``scheme://`` too
                                   (``rtsps``, ``rtmp(s)``, ``srt``, ``udp``, ...; any case)
``file:///data/clip.mp4``          the local path it names (``/data/clip.mp4``)
``clip.mp4``                       video file, every frame in order (``realtime=True``:
                                   played like a camera at its own fps, frames dropped
                                   when the consumer is slower)
``face.jpg``, ``folder/``, glob    still image(s), sorted by name (``**``: any depth)
=================================  ==========================================================

Live sources (cameras, streams, ``realtime=True`` files) are read by a
background thread that keeps only the newest frame: :meth:`FrameSource.read`
returns each grabbed frame at most once, blocks until a newer one arrives
(``read_timeout_s``, then :class:`CaptureError`), and a camera that stops
delivering is released and reopened with bounded exponential backoff.
Every :class:`Frame` carries a monotonic capture time and a strictly increasing
``timestamp_ms`` suitable for MediaPipe's video mode. ``rotate=90 / 180 / 270`` turns
every kind of source's frames clockwise (a camera mounted on its side or upside down).
"""

from __future__ import annotations

import difflib
import glob as globlib
import logging
import numbers
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import cv2

from wds_edge._checks import is_digits, is_finite_number, is_flag
from wds_edge.capture.frame import (
    Frame,
    FrameSource,
    GuardedCapture,
    capture_fps,
    capture_size,
    container_frame_count,
    read_file_frame,
    stopped_early,
)
from wds_edge.capture.grabber import SyncLiveSource, ThreadedSource
from wds_edge.capture.rotate import RotatedSource, check_rotation
from wds_edge.errors import CaptureError, InvalidInputError
from wds_edge.io import read_image

__all__ = [
    "Frame",
    "FrameSource",
    "open_source",
    "IMAGE_SUFFIXES",
    "gstreamer_available",
    "image_paths",
    "is_file_source",
    "local_path",
    "require_local_source",
]

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
_GLOB_CHARS = re.compile(r"[*?\[]")
#: ``scheme://`` (RFC 3986 scheme syntax, any case): a stream unless the scheme is v4l2,
#: csi or file.
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
#: Camera indices and CSI sensor ids are C ints: 0 <= i < 2**31 (OpenCV crashes the process
#: on a negative index and raises a cv2.error on one past a C int).
_MAX_DEVICE_ID = 2**31 - 1
_SOURCE_FORMS = (
    "a camera index (0, 1, ...), v4l2:///dev/videoN, csi://N, a stream URL (rtsp(s)://, "
    "http(s)://, srt://, ...), or a video / image file, folder or glob (a path or "
    "file:///path)"
)


class _ImageSource(FrameSource):
    """Still images in name order; unreadable files are skipped with a warning."""

    def __init__(self, uri: str, paths: list[Path], skip_unreadable: bool = True) -> None:
        self.uri, self._paths, self._skip = uri, paths, skip_unreadable
        self._next = 0
        self._closed = False

    def read(self) -> Frame | None:
        while not self._closed and self._next < len(self._paths):
            index, path = self._next, self._paths[self._next]
            self._next += 1
            try:
                image = read_image(path)
            except InvalidInputError as exc:
                if not self._skip:
                    raise
                logger.warning("skipping %s: %s", path, exc)
                continue
            self.size = (image.shape[1], image.shape[0])
            return Frame(image, index, time.monotonic(), index * 1000)
        return None

    @property
    def paths(self) -> list[Path]:
        return list(self._paths)

    def close(self) -> None:
        self._closed = True


class _VideoFileSource(FrameSource):
    """Every frame of a video file in order (no drops), timestamps from the media position;
    undecodable frames mid-file are read past (a gap in the indices, and a warning).

    ``expected_frames`` is the container's frame count (``None`` if it has none);
    ``ended_early`` becomes true when the decoder stops before that count (a file cut
    off while copying, or truncated while it is read). One thread reads; :meth:`close` may
    come from another (the file is released when a read in progress returns, which then
    raises :class:`CaptureError`).
    """

    def __init__(self, path: Path) -> None:
        self.uri = str(path)
        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            raise CaptureError(
                f"cannot open video file {path}: not a video OpenCV/FFmpeg can decode "
                f"(convert it to H.264 MP4, e.g. ffmpeg -i in -c:v libx264 out.mp4)"
            )
        self.fps, self.size = capture_fps(cap), capture_size(cap)
        self.expected_frames = container_frame_count(cap)
        self._cap = GuardedCapture(cap, self.uri)  # close() may come from another thread
        self.ended_early = False
        self._decoded = 0
        self._position = 0  # the next frame's index in the file (decoded + skipped)
        self._last_ms = -1

    @property
    def frames_read(self) -> int:
        """Frames decoded so far (undecodable ones read past are not counted)."""
        return self._decoded

    def read(self) -> Frame | None:
        """The next frame, or None at the end. Undecodable frames mid-file are read past
        (:func:`~wds_edge.capture.frame.read_file_frame`): the indices skip them.

        Raises:
            CaptureError: closed before, or by another thread during, this read.
        """
        with self._cap.reading() as cap:
            image, skipped = read_file_frame(cap, self.uri, self._position, self.expected_frames)
            pos_ms = cap.get(cv2.CAP_PROP_POS_MSEC) if image is not None else 0.0
        if image is None:
            if not self.ended_early:
                self.ended_early = stopped_early(self.uri, self._position, self.expected_frames)
            return None
        index = self._position + skipped
        self._position = index + 1
        self._decoded += 1
        if not pos_ms and index and self.fps:
            pos_ms = index * 1000.0 / self.fps
        stamp = max(round(pos_ms), self._last_ms + 1)
        self._last_ms = stamp
        return Frame(image, index, time.monotonic(), stamp)

    def close(self) -> None:
        """Release the file (after the read in progress on another thread, if any)."""
        self._cap.close()


# -- opening ----------------------------------------------------------------------------------


def gstreamer_available() -> bool:
    """Whether the installed OpenCV was built with GStreamer (needed for ``csi://``)."""
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GStreamer:"):
            return "YES" in line
    return False


def _csi_pipeline(sensor_id: int, width: int, height: int, fps: int) -> str:
    return (
        f"nvarguscamerasrc sensor-id={sensor_id} ! "
        f"video/x-raw(memory:NVMM), width={width}, height={height}, framerate={fps}/1, "
        f"format=NV12 ! nvvidconv ! video/x-raw, format=BGRx ! videoconvert ! "
        f"video/x-raw, format=BGR ! appsink drop=true max-buffers=1 sync=false"
    )


def _camera_opener(target: int | str, api: int, opts: dict[str, Any]) -> Callable[[], Any]:
    def open_camera() -> Any:
        cap = cv2.VideoCapture(target, api)
        if cap.isOpened():
            if opts.get("mjpg", True) and api == cv2.CAP_V4L2:
                cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
            if opts.get("width") and opts.get("height"):
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, int(opts["width"]))
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, int(opts["height"]))
            if opts.get("fps"):
                cap.set(cv2.CAP_PROP_FPS, float(opts["fps"]))
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the grabber wants the newest frame
        return cap

    return open_camera


def _stream_opener(uri: str, timeout_s: float) -> Callable[[], Any]:
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(timeout_s * 1000),
    ]  # fmt: skip
    return lambda: cv2.VideoCapture(uri, cv2.CAP_FFMPEG, params)


def _live(
    uri: str, opener: Callable[[], Any], threaded: bool | None, what: str, hint: str, **kwargs: Any
) -> FrameSource:
    grabber_options = [name for name in _LIVE_OPTIONS if name in kwargs]
    if threaded is False and grabber_options:  # refused before the device is opened
        raise InvalidInputError(
            f"open_source({uri!r}, threaded=False): {', '.join(grabber_options)} "
            f"{'is an option' if len(grabber_options) == 1 else 'are options'} of the "
            "background grabber, which threaded=False does not use (the caller's thread reads "
            "the device itself); leave threaded out to use them, or leave them out"
        )
    try:
        if threaded is False:
            source = SyncLiveSource(uri, opener)
        else:
            source = ThreadedSource(uri, opener, **kwargs)
    except CaptureError:
        raise CaptureError(f"cannot open {what} {uri!r}: {hint}") from None
    return source


def _image_paths(uri: str) -> list[Path] | None:
    """The images a folder or a glob names (regular files only: a subfolder or a broken link
    named like an image is not one), ``[path]`` for one image file, ``None`` otherwise."""
    path = Path(uri).expanduser()
    if path.is_dir():
        return sorted(
            p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        )
    suffix = path.suffix.lower()
    # a glob of images ("frames/*.png", "frames/*"); "kiosk [cam1].mp4" or "rec/*.mp4" is
    # a video name, told "does not exist" below rather than "holds no images"
    if (
        _GLOB_CHARS.search(uri)
        and not path.exists()
        and (suffix in IMAGE_SUFFIXES or not suffix or _GLOB_CHARS.search(suffix))
    ):
        return sorted(
            Path(p)
            for p in globlib.glob(str(path), recursive=True)  # ** as analyze reads it
            if Path(p).suffix.lower() in IMAGE_SUFFIXES and Path(p).is_file()
        )
    if suffix in IMAGE_SUFFIXES:
        return [path]
    return None


def image_paths(uri: str | Path) -> list[Path] | None:
    """The photos an image source names: the images of a folder or a glob (``photos/*.jpg``,
    sorted; possibly none), ``[path]`` for one image file; ``None`` for any other source (a
    video file, a camera, a stream), which :func:`open_source` reads as frames of a video.

    For callers that treat photos and video frames differently (every photo is used, a
    video's frames are thinned by a stride) and must decide as ``open_source`` does.
    """
    return _image_paths(str(uri))


def _scheme(text: str) -> str | None:
    """The lower-case URL scheme of ``text`` (``rtsps`` of ``RTSPS://cam``), else None."""
    match = _URL_SCHEME.match(text)
    return match.group(1).lower() if match else None


def _file_url_path(text: str) -> str:
    """The local path a ``file://`` URL names (``file:///data/my%20clip.mp4`` ->
    ``/data/my clip.mp4``).

    Raises:
        InvalidInputError: a host other than localhost (``file://clip.mp4`` is a host named
            clip.mp4), or no path.
    """
    parts = urlsplit(text)
    if parts.netloc not in ("", "localhost") or not parts.path:
        raise InvalidInputError(
            f"{text}: a file URL is file:///absolute/path (three slashes; "
            f"file://localhost/path too), naming a file on this machine; or give the path itself"
        )
    return unquote(parts.path)


def local_path(uri: str | Path) -> str | Path:
    """The local path a ``file://`` URL names (``file:///data/my%20clip.mp4`` ->
    ``"/data/my clip.mp4"``); any other source is returned unchanged.

    For code that treats a file source as a path (``Path(source)``, ``.is_file()``): the
    URL itself is no path (``Path("file:///a.mp4")`` is ``file:/a.mp4``, which does not
    exist), though :func:`is_file_source`, :func:`require_local_source` and
    :func:`open_source` take it as the file.

    Raises:
        InvalidInputError: a ``file://`` URL with a host other than localhost, or no path.
    """
    if isinstance(uri, str) and _scheme(uri) == "file":
        return _file_url_path(uri)
    return uri


# -- options ------------------------------------------------------------------------------

#: Options of the background grabber of cameras and streams.
_LIVE_OPTIONS = ("read_timeout_s", "max_read_failures", "reconnect_backoff_s")
#: What a camera is asked for.
_CAMERA_OPTIONS = ("width", "height", "fps")
#: The options each kind of source takes (besides ``realtime``, which every kind takes:
#: it plays a video file like a camera; cameras and streams are live and stills are read
#: one by one whatever it says).
_KIND_OPTIONS: dict[str, tuple[str, ...]] = {
    "camera index": (*_CAMERA_OPTIONS, *_LIVE_OPTIONS),
    "V4L2 device": (*_CAMERA_OPTIONS, "mjpg", *_LIVE_OPTIONS),
    "CSI camera": (*_CAMERA_OPTIONS, *_LIVE_OPTIONS),
    "stream": ("open_timeout_s", *_LIVE_OPTIONS),
    "video file": ("read_timeout_s",),
    "images": ("skip_unreadable",),
}
_KNOWN_OPTIONS = ("realtime", *dict.fromkeys(o for opts in _KIND_OPTIONS.values() for o in opts))


def _flag(value: Any) -> bool:
    if not is_flag(value):
        raise TypeError("True or False")
    return value


def _positive(expected: str) -> Callable[[Any], float]:
    """A check of a finite real number > 0; ``expected`` says what it is, for the error."""

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(expected)
        if not (is_finite_number(value) and value > 0):
            raise ValueError(expected)
        return float(value)

    return check


_seconds = _positive("a number of seconds > 0 (e.g. 5.0)")
_rate = _positive("frames per second > 0 (e.g. 30)")


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError("a whole number >= 1")
    if value < 1:
        raise ValueError("a whole number >= 1")
    return int(value)


def _backoff(value: Any) -> tuple[float, float]:
    expected = "(first, max) seconds > 0 with first <= max, e.g. (0.1, 2.0)"
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(expected)
    first, most = (_seconds(v) for v in value)
    if first > most:
        raise ValueError(expected)
    return first, most


_OPTION_CHECKS: dict[str, Callable[[Any], Any]] = {
    "realtime": _flag,
    "mjpg": _flag,
    "skip_unreadable": _flag,
    "read_timeout_s": _seconds,
    "open_timeout_s": _seconds,
    "reconnect_backoff_s": _backoff,
    "max_read_failures": _count,
    "width": _count,
    "height": _count,
    "fps": _rate,
}


def _refuse_unknown_options(opts: dict[str, Any]) -> None:
    for name in opts:
        if name not in _KNOWN_OPTIONS:
            close = difflib.get_close_matches(name, ("rotate", *_KNOWN_OPTIONS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InvalidInputError(
                f"open_source() got an unknown option {name!r}{hint}; the options are "
                f"{', '.join(_KNOWN_OPTIONS)}"
            )


def _checked_options(kind: str, uri: str, opts: dict[str, Any]) -> dict[str, Any]:
    """``opts`` for a source of ``kind``, each checked and converted (``int`` seconds
    become ``float``).

    Raises:
        InvalidInputError: an option another kind of source takes, or a value of the
            wrong type or range; the message names the option.
    """
    allowed = ("realtime", *_KIND_OPTIONS[kind])
    checked = {}
    for name, value in opts.items():
        if name not in allowed:
            what = "images" if kind == "images" else f"a {kind}"
            raise InvalidInputError(
                f"open_source() option {name!r} does not apply to {what} ({uri}); "
                f"{what} {'take' if kind == 'images' else 'takes'} {', '.join(allowed)}"
            )
        try:
            checked[name] = _OPTION_CHECKS[name](value)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"open_source() option {name}={value!r} ({type(value).__name__}): must be {exc}"
            ) from None
    if ("width" in checked) != ("height" in checked):
        raise InvalidInputError(
            "open_source() options width and height go together: give both (e.g. "
            "width=1280, height=720) or neither"
        )
    return checked


def _live_options(opts: dict[str, Any]) -> dict[str, Any]:
    return {k: opts[k] for k in _LIVE_OPTIONS if k in opts}


def _device_id(value: int, what: str) -> int:
    """``value`` as a camera index / CSI sensor id, 0 <= value < 2**31.

    Raises:
        InvalidInputError: out of that range (the message names the valid forms).
    """
    if not 0 <= value <= _MAX_DEVICE_ID:
        raise InvalidInputError(
            f"{what} {value} is out of range: it is a whole number from 0 to {_MAX_DEVICE_ID} "
            f"(0 is the first); a source is {_SOURCE_FORMS}"
        )
    return value


def _camera_index(uri: Any) -> int | None:
    """The camera index ``uri`` names (an int, or a string of ASCII digits), else None.

    Raises:
        InvalidInputError: ``True`` / ``False``, or an index out of range.
    """
    if isinstance(uri, bool):
        raise InvalidInputError(
            f"open_source() got {uri!r}; a source is {_SOURCE_FORMS}, not True / False"
        )
    if isinstance(uri, numbers.Integral):
        return _device_id(int(uri), "camera index")
    return _device_id(int(uri), "camera index") if is_digits(uri) else None


def is_file_source(uri: str | int | Path) -> bool:
    """True for a local video, image, folder or glob (a path or a ``file://`` URL); False
    for a camera (an index, ``v4l2://``, ``csi://``) or a stream URL (any other scheme).

    Live loops play a file in real time and start it over at its end; a camera or stream
    that stops is lost and reconnected instead.
    """
    if isinstance(uri, (bool, numbers.Integral)):
        return False
    text = str(uri)
    scheme = _scheme(text)
    if scheme is not None:
        return scheme == "file"
    return not is_digits(text)


def require_local_source(uri: str | int | Path) -> None:
    """Refuse a source that names a file or folder that is not there, before any work (a
    command's output folder is made only after its inputs are checked).

    Cameras (an index, ``v4l2://``, ``csi://``), stream URLs and globs are left to
    :func:`open_source` (a glob that matches no image is its "holds no images"); a
    ``file://`` URL is checked as the path it names.

    Raises:
        InvalidInputError: ``no such file or folder: ...`` (``nonexist/`` was told "video
            file nonexist/ does not exist", exit 1, by :func:`open_source`); a ``file://``
            URL that names no local path.
    """
    if isinstance(uri, (bool, numbers.Integral)):
        return
    text = str(uri)
    scheme = _scheme(text)
    if scheme == "file":
        text = _file_url_path(text)
    elif scheme is not None:
        return
    if not text.strip() or is_digits(text) or _GLOB_CHARS.search(text):
        return
    if not Path(text).expanduser().exists():
        raise InvalidInputError(
            f"no such file or folder: {text} (expected a video file, an image, a folder of "
            "images or a glob)"
        )


def open_source(
    uri: str | int | Path, *, threaded: bool | None = None, rotate: int = 0, **opts: Any
) -> FrameSource:
    """Open a camera, stream, video file, image, folder or glob (see the module table).

    Args:
        uri: what to open; a camera index is a whole number from 0 to 2**31 - 1 (an int
            or its digits), a CSI camera ``csi://N`` with N such a number; any other
            ``scheme://`` is a stream but ``file:///path``, the local path.
        threaded: live sources: background latest-frame grabber (default True);
            False reads on the caller's thread. Files are always read in order on the
            caller's thread, unless ``realtime=True``, which plays them on a background
            grabber (with ``threaded=False`` it is refused).
        **opts: by kind of source (another kind's option, an unknown name or a value of
            the wrong type is refused):

            * every kind: ``realtime`` (bool; a video file is played at its fps, dropping
              frames a slow consumer misses; cameras and streams are live anyway);
            * cameras (index, ``v4l2://``, ``csi://``): ``width`` and ``height`` (both or
              neither), ``fps`` (requests), ``mjpg`` (V4L2 only, default True);
            * streams: ``open_timeout_s`` (10.0);
            * cameras and streams: ``read_timeout_s`` (5.0), ``max_read_failures`` (5),
              ``reconnect_backoff_s`` ((first, max) seconds, (0.1, 2.0)), the background
              grabber's (refused with ``threaded=False``);
            * video files: ``read_timeout_s`` (with ``realtime=True``);
            * images, folders and globs: ``skip_unreadable`` (True).

    Raises:
        CaptureError: the source cannot be opened (missing camera or file, no
            GStreamer for ``csi://``, undecodable video); the message says why.
        InvalidInputError: an option this kind of source does not take or a value of
            the wrong type or range (the message names the option); a camera index or CSI
            sensor id that is not a whole number from 0 to 2**31 - 1 (the message names
            the valid sources); ``realtime=True``, or a camera's or stream's
            ``read_timeout_s`` / ``max_read_failures`` / ``reconnect_backoff_s``, with
            ``threaded=False``; a ``rotate``
            other than 0, 90, 180, 270; a ``file://`` URL with a host.
    """
    degrees = check_rotation(rotate)
    source = _open(uri, threaded, opts)
    return source if degrees == 0 else RotatedSource(source, degrees)


def _open(uri: str | int | Path, threaded: bool | None, opts: dict[str, Any]) -> FrameSource:
    """:func:`open_source` without the rotation."""
    if threaded not in (None, True, False):
        raise InvalidInputError(
            f"open_source() threaded must be None, True or False, got {threaded!r}"
        )
    _refuse_unknown_options(opts)
    index = _camera_index(uri)
    if index is not None:
        opts = _checked_options("camera index", str(index), opts)
        return _live(
            str(index),
            _camera_opener(index, cv2.CAP_ANY, opts),
            threaded,
            "camera index",
            f"no camera {index} on this machine (list them with "
            f"`v4l2-ctl --list-devices`; is it in use by another program?)",
            **_live_options(opts),
        )
    text = str(uri)
    if not text.strip():
        raise CaptureError(f"the source is empty; give {_SOURCE_FORMS}")
    scheme = _scheme(text)
    if scheme == "v4l2":
        device = text[len("v4l2://") :]
        opts = _checked_options("V4L2 device", text, opts)
        return _live(
            text,
            _camera_opener(device, cv2.CAP_V4L2, opts),
            threaded,
            "V4L2 device",
            f"{device} does not exist or cannot be opened (check `ls /dev/video*`, "
            f"permissions: user in group 'video')",
            **_live_options(opts),
        )
    if scheme == "csi":
        sensor_id = text[len("csi://") :]
        if sensor_id and not is_digits(sensor_id):
            raise InvalidInputError(
                f"{text}: a CSI camera is csi://N with N the sensor id, a whole number (csi://0 "
                f"is the first sensor); a source is {_SOURCE_FORMS}"
            )
        sensor = _device_id(int(sensor_id), "CSI sensor id") if sensor_id else 0
        opts = _checked_options("CSI camera", text, opts)
        if not gstreamer_available():
            raise CaptureError(
                f"{text} needs OpenCV with GStreamer, but the installed cv2 "
                f"{cv2.__version__} was built without it. On a Jetson use the JetPack OpenCV "
                f"(python3-opencv, venv made with --system-site-packages), not the pip wheel"
            )
        pipeline = _csi_pipeline(
            sensor,
            int(opts.get("width", 1920)),
            int(opts.get("height", 1080)),
            int(opts.get("fps", 30)),
        )
        return _live(
            text,
            lambda: cv2.VideoCapture(pipeline, cv2.CAP_GSTREAMER),
            threaded,
            "CSI camera",
            "is nvargus-daemon running and the sensor connected?",
            **_live_options(opts),
        )
    if scheme is not None and scheme != "file":
        opts = _checked_options("stream", text, opts)
        url = scheme + text[len(scheme) :]  # FFmpeg knows its protocols in lower case only
        opener = _stream_opener(url, float(opts.get("open_timeout_s", 10.0)))
        return _live(
            text,
            opener,
            threaded,
            "stream",
            "check the address, credentials and that the stream is up (try it with ffplay)",
            **_live_options(opts),
        )
    if scheme == "file":
        text = _file_url_path(text)
    paths = _image_paths(text)
    if paths is not None:
        opts = _checked_options("images", text, opts)
        if not paths:
            raise CaptureError(f"{text} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise CaptureError(f"image file {missing[0]} does not exist")
        return _ImageSource(text, paths, bool(opts.get("skip_unreadable", True)))
    path = Path(text).expanduser()
    if not path.exists() and (path.suffix or "/" in text):
        raise CaptureError(f"video file {text} does not exist; check the path")
    if not path.is_file():
        raise CaptureError(
            f"{text!r} is not a camera index, v4l2:///dev/videoN, csi://N, stream URL, "
            f"existing video/image file, folder or glob"
        )
    opts = _checked_options("video file", text, opts)
    if opts.get("realtime"):
        if threaded is False:
            raise InvalidInputError(
                f"open_source({text!r}, realtime=True, threaded=False): realtime plays a video "
                "file on a background grabber (frames a slow reader misses are dropped, as a "
                "camera's); leave threaded out for that, or leave realtime out to read every "
                "frame in order on the caller's thread"
            )
        source = _live(
            text,
            lambda: cv2.VideoCapture(str(path)),
            True,
            "video file",
            "not a video OpenCV/FFmpeg can decode",
            finite=True,
            **_live_options(opts),
        )
        return source
    return _VideoFileSource(path)
