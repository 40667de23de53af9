"""scripts/make_distill_data.py: a run that fails before its first crop (a wrong landmarker, a
wrong teacher) leaves no labels, and the corrected rerun into the same --out is accepted (the
empty images/ masks/ probs/ it made before opening the inputs got it refused as 'not empty')."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from repo_scripts import load_script

from wds_edge.errors import WdsEdgeError


def test_a_failed_start_leaves_a_folder_the_rerun_takes(
    tmp_path: Path, faces_dir: Path, landmarker_path: Path
) -> None:
    make = load_script("scripts/make_distill_data.py")
    out = tmp_path / "data"
    photo = str(faces_dir / "biden2.jpg")
    with pytest.raises(WdsEdgeError, match="missing.task"):
        make.main(["--out", str(out), "--images", photo, "--landmarker",
                   str(tmp_path / "missing.task")])  # fmt: skip
    assert not out.exists() or list(out.iterdir()) == []
    assert make.main(["--out", str(out), "--images", photo,
                      "--landmarker", str(landmarker_path)]) == 0  # fmt: skip
    assert json.loads((out / "teacher.json").read_text())["kept"][0]["name"] == "biden2"
    assert [p.name for p in (out / "masks").iterdir()] == ["biden2.png"]


def test_only_empty_label_folders_count_as_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make = load_script("scripts/make_distill_data.py")
    out = tmp_path / "data"
    for sub in ("images", "masks", "probs"):  # what an earlier failed start left
        (out / sub).mkdir(parents=True)
    assert make._fresh(out)
    (out / "masks" / "x.png").write_bytes(b"")
    assert not make._fresh(out)
    with pytest.raises(SystemExit) as exc:
        make.main(["--out", str(out), "--images", str(tmp_path)])
    assert exc.value.code == 2 and "is not empty" in capsys.readouterr().err
