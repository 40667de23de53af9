"""A glob of photos (``-s 'photos/*.jpg'``) is a source of photos, as open_source reads it:
every photo is used whatever --stride, and --people-csv names the people in them. Real
MediaPipe face landmarker, real photos."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from wds_edge_calibration.build import build_calibration_set

NAMES = ["biden2.jpg", "obama.jpg", "obama2.jpg"]


@pytest.fixture(scope="module")
def photos(faces_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("glob_photos") / "src"
    folder.mkdir()
    for name in NAMES:
        shutil.copy(faces_dir / name, folder / name)
    (folder / "notes.txt").write_text("not a photo")
    return folder


def _crops(calib: Path) -> int:
    return len(list((calib / "crops").iterdir()))


def test_a_glob_of_photos_uses_every_photo_whatever_the_stride(
    photos: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    """Defect: the glob was read as a video: --stride 2 dropped every other photo without a
    word (and the landmarker ran in video mode across unrelated photos)."""
    folder = build_calibration_set(photos, tmp_path / "folder", count=10, size_px=128,
                                   landmarker_path=landmarker_path)  # fmt: skip
    glob = build_calibration_set(f"{photos}/*.jpg", tmp_path / "glob", count=10, size_px=128,
                                 frame_stride=2, landmarker_path=landmarker_path)  # fmt: skip
    assert _crops(folder.path) == len(NAMES)  # every photo has one face the kiosk takes
    assert _crops(glob.path) == len(NAMES)


def test_a_people_csv_names_the_photos_of_a_glob(
    photos: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    """Defect: --people-csv with a glob was refused as if the source were a video or camera."""
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("photo,person\nbiden2.jpg,biden\nobama.jpg,obama\nobama2.jpg,obama\n")
    made = build_calibration_set(f"{photos}/*.jpg", tmp_path / "calib", count=10, size_px=128,
                                 landmarker_path=landmarker_path, people_csv=csv_file)  # fmt: skip
    assert _crops(made.path) == len(NAMES)
    assert json.loads((made.path / "manifest.json").read_text())["people"] == ["biden", "obama"]
