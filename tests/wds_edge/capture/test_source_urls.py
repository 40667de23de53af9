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
