"""`wds-edge label --auto`: the smallest face crop it labels."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fault_helpers import run_cli


@pytest.fixture()
def photos(tmp_path: Path, faces_dir: Path) -> Path:
    """biden2 (labelled), astronaut (face too small: skipped), a corrupt JPEG (failed)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("biden2.jpg", "astronaut.png"):
        shutil.copy(faces_dir / name, folder / name)
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a JPEG \xff\xd9")
    return folder


def test_a_crop_too_small_to_show_wrinkles_is_a_usage_error(
    capsys, photos: Path, landmarker_path: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    out = tmp_path / "labels"
    code, _, err = run_cli(capsys, "label", "--images", photos, "--auto", "--out", out,
                           "--crop-size", "128", "--landmarker", landmarker_path)  # fmt: skip
    assert code == 2, err
    assert "at least 192 px, got --crop-size 128" in err and "--crop-size 192" in err
    assert not out.exists()  # refused before anything was written
