"""build_calibration_set (``wds-edge calibrate``) with a ``file://`` URL source: the same
calibration folder as the path it names."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from wds_edge.io import sha256_file
from wds_edge_calibration.build import build_calibration_set, is_video_file
from wds_edge_calibration.manifest import PEOPLE_FROM_VIDEO


def test_a_file_url_video_records_its_person_as_the_path_does(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    """Defect: a ``file://`` URL was opened as the video (open_source takes it), but
    ``Path(source).is_file()`` took it for no video, so its crops were recorded as nobody
    (people None) and quantize could not refuse a held-out set cut from the same video."""
    image = cv2.imread(str(faces_dir / "biden2.jpg"))
    clip = tmp_path / "my clip.avi"  # a space: %20 in the URL
    writer = cv2.VideoWriter(
        str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 5, (image.shape[1], image.shape[0])
    )
    for shift in range(2):
        writer.write(np.roll(image, shift * 4, axis=1))
    writer.release()
    url = clip.as_uri()  # file:///.../my%20clip.avi
    assert is_video_file(url)
    calib = build_calibration_set(
        url, tmp_path / "calib", count=2, size_px=128, landmarker_path=landmarker_path
    )
    assert len(calib) == 2
    assert calib.manifest.people == [f"video:{sha256_file(clip)[:16]}"]
    assert calib.manifest.people_source == PEOPLE_FROM_VIDEO
