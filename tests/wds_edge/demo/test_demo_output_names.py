"""The demo's output names are checked before the model and the source load."""

from __future__ import annotations

from pathlib import Path

import pytest

from wds_edge.demo.app import DemoConfig, run_demo
from wds_edge.demo.outputs import check_record_path, check_screenshot_path
from wds_edge.errors import InvalidInputError


@pytest.mark.parametrize("name", ["a.png", "a.JPG", "a.jpeg", "a.bmp", "a"])
def test_screenshot_names_opencv_encodes(name: str) -> None:
    assert check_screenshot_path(name) == Path(name)


@pytest.mark.parametrize("name", ["a.txt", "a.mkv", "a.json"])
def test_screenshot_names_opencv_cannot_encode(name: str) -> None:
    with pytest.raises(InvalidInputError, match=r"name the screenshot \.png or \.jpg"):
        check_screenshot_path(name)


def test_record_names() -> None:
    assert check_record_path("a.MP4") == Path("a.MP4") and check_record_path("b.avi")
    for name in ("a.mkv", "a"):
        with pytest.raises(InvalidInputError, match=r"\.mp4 \(mp4v\) or \.avi"):
            check_record_path(name)


@pytest.mark.parametrize("field", ["record_path", "screenshot_path"])
def test_run_demo_checks_the_names_before_the_source_opens(tmp_path: Path, field: str) -> None:
    # the source does not exist: before the check, the CaptureError about it came first
    config = DemoConfig(
        source=str(tmp_path / "missing.mp4"), headless=True, **{field: tmp_path / "out.mkv"}
    )
    with pytest.raises(InvalidInputError, match="out.mkv"):
        run_demo(config)
    assert list(tmp_path.iterdir()) == []
