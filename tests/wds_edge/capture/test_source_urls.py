"""Stream URLs of any scheme and case, and file:// URLs: rtsps://, rtmps://, srt://, RTSP://
and file:// were taken for file names and refused as missing files."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_helpers import mjpg_avi

from wds_edge.capture.sources import open_source, require_local_source
from wds_edge.errors import CaptureError, InvalidInputError


@pytest.mark.parametrize(
    "url",
    [
        "rtsps://kiosk.invalid/cam",
        "rtmps://kiosk.invalid/live/cam",
        "srt://kiosk.invalid:9000?mode=caller",
        "RTSP://kiosk.invalid/cam",
        "Https://kiosk.invalid/cam.mjpg",
        "udp://239.0.0.1:1234",
    ],
)
def test_any_url_scheme_is_a_stream(url: str) -> None:
    require_local_source(url)  # not a missing file
    # a stream's options are checked before it is opened: no network is needed to tell
    with pytest.raises(InvalidInputError, match="'mjpg' does not apply to a stream"):
        open_source(url, mjpg=False)


@pytest.fixture(scope="module")
def served_clip(video_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port/clip.avi`` of a real MJPG clip served over HTTP on the loopback."""
    folder = tmp_path_factory.mktemp("served")
    mjpg_avi(video_path, folder / "clip.avi", frames=8)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_port}/clip.avi"
    server.shutdown()
    server.server_close()


def test_an_upper_case_scheme_is_opened(served_clip: str) -> None:
    """FFmpeg knows http://, not HTTP://: the scheme is passed on in lower case."""
    with open_source(f"HTTP://{served_clip}", threaded=False) as source:
        assert source.is_live and source.read() is not None


def test_a_file_url_is_the_local_path(video_path: Path, tmp_path: Path) -> None:
    clip = mjpg_avi(video_path, tmp_path / "my clip.avi", frames=3)  # a space: %20 in the URL
    for url in (clip.as_uri(), f"FILE://localhost{clip}"):
        require_local_source(url)
        with open_source(url) as source:
            assert not source.is_live and len(list(source)) == 3
    with pytest.raises(CaptureError, match="holds no images"):  # a folder: of images
        open_source(tmp_path.as_uri())
    missing = (tmp_path / "gone.mp4").as_uri()
    with pytest.raises(InvalidInputError, match="no such file or folder"):
        require_local_source(missing)
    with pytest.raises(CaptureError, match="gone.mp4 does not exist"):
        open_source(missing)
    for other_host in ("file://clip.mp4", "file://kiosk/data/clip.mp4"):
        with pytest.raises(InvalidInputError, match="file:///absolute/path"):
            open_source(other_host)


def test_is_file_source_knows_file_urls_and_every_stream_scheme(video_path: Path) -> None:
    # The live loops (demo, serve, bench repeatability) play a file in real time and loop
    # it; a file:// URL was taken for a stream ('://'), so at its end it was a lost camera.
    from wds_edge.analysis.live import is_file_source as live_is_file_source
    from wds_edge.capture.sources import is_file_source

    assert live_is_file_source is is_file_source  # one rule for the SDK, demo and service
    assert is_file_source(f"file://{video_path}") and is_file_source(f"FILE://{video_path}")
    assert is_file_source(str(video_path)) and is_file_source(video_path)
    assert is_file_source("clip.mp4") and is_file_source("/data/faces/*.jpg")
    for live in (
        0,
        3,
        "1",
        "rtsp://cam/1",
        "RTSPS://cam:7441/x",
        "srt://h:9000",
        "v4l2:///dev/video0",
        "csi://0",
    ):
        assert not is_file_source(live), live
