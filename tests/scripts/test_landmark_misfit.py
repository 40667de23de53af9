"""scripts/landmark_misfit.py: the figures behind the fusion tolerance (issue 21)."""

from __future__ import annotations

from pathlib import Path

import pytest
from repo_scripts import load_script

script = load_script("scripts/landmark_misfit.py")


def test_it_needs_a_video_or_two_photos(faces_dir: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        script.main(["--photos", str(faces_dir / "biden.jpg")])
    assert caught.value.code == 2


def test_two_photos_of_other_poses_misfit_beyond_the_fusion_tolerance(
    faces_dir: Path, landmarker_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wds_edge.analysis.fusion import LANDMARK_TOLERANCE_MM

    photos = [str(faces_dir / name) for name in ("biden.jpg", "biden2.jpg")]
    assert script.main(["--landmarker", str(landmarker_path), "--photos", *photos]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("biden.jpg ~ biden2.jpg: ") and line.endswith(" mm")
    mm = float(line.split(": ")[1].split()[0])
    assert LANDMARK_TOLERANCE_MM < mm < 20.0  # another pose and expression: measured 4.81
