"""batch_folder.py: a folder in, JSON + overlays + CSV summary out, bad files listed."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest


def test_batch_folder(
    example_runner,
    example_model: Path,
    example_env: dict,
    faces_dir: Path,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(faces_dir / "biden2.jpg", photos / "a_face.jpg")
    shutil.copy(faces_dir / "ffhq_00016.png", photos / "b_face.png")
    (photos / "c_broken.jpg").write_bytes(b"\x00" * 100)
    out = tmp_path / "out"
    proc = example_runner(
        "batch_folder.py", [str(photos), str(out), "--model", str(example_model)], example_env
    )
    assert proc.returncode == 1, proc.stderr[-2000:]  # one photo failed
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [Path(r["file"]).name for r in rows] == ["a_face.jpg", "b_face.png", "c_broken.jpg"]
    assert [r["status"] for r in rows] == ["ok", "ok", "error"]
    assert float(rows[0]["overall_ratio"]) >= 0.0 and "c_broken.jpg" in rows[2]["error"]
    assert json.loads((out / "a_face.json").read_text())["status"] == "ok"
    assert (out / "b_face_overlay.png").stat().st_size > 1000
    assert not (out / "c_broken.json").exists()


@pytest.mark.parametrize("bad", ["--model", "--landmarker"])
def test_batch_folder_unusable_model_is_one_error_line(
    bad: str,
    example_runner,  # noqa: ANN001
    example_env: dict,
    faces_dir: Path,
    tmp_path: Path,
) -> None:
    """A --model or --landmarker that cannot be used: one `error:` line naming it, exit
    code 2, no traceback, and no output folder (it was made, empty, before the model was
    loaded: kiosk_loop.py makes its --out once the model opened)."""
    junk = tmp_path / ("junk.onnx" if bad == "--model" else "junk.task")
    junk.write_bytes(b"not a model at all")
    out = tmp_path / "out"
    proc = example_runner(
        "batch_folder.py", [str(faces_dir), str(out), bad, str(junk)], example_env
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert str(junk) in lines[0]
    assert not out.exists()


def test_batch_folder_refuses_out_in_the_photos_folder(
    example_runner,  # noqa: ANN001
    example_model: Path,
    example_env: dict,
    faces_dir: Path,
    tmp_path: Path,
) -> None:
    """OUT = PHOTOS: a rerun would analyse the overlays written there as photos; one
    `error:` line, exit code 2, nothing written."""
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(faces_dir / "biden2.jpg", photos / "a_face.jpg")
    proc = example_runner(
        "batch_folder.py", [str(photos), str(photos), "--model", str(example_model)], example_env
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "is the folder the input" in lines[0], proc.stderr
    # the advice names this example's own argument, not analyze's --out (it has none)
    assert "--out" not in lines[0] and lines[0].endswith("a folder of their own (OUT_DIR)")
    assert sorted(p.name for p in photos.iterdir()) == ["a_face.jpg"]


def test_batch_folder_refuses_a_file_as_out_after_the_model_loads_and_leaves_it(
    example_runner,  # noqa: ANN001
    example_model: Path,
    example_env: dict,
    faces_dir: Path,
    tmp_path: Path,
) -> None:
    """OUT_DIR that cannot be a folder (a file): one `error:` line, exit 2, before any photo
    is analysed, and the file is left as it was."""
    blocked = tmp_path / "out"
    blocked.write_text("keep me")
    proc = example_runner(
        "batch_folder.py", [str(faces_dir), str(blocked), "--model", str(example_model)],
        example_env,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(blocked) in lines[0]
    assert proc.stdout == "" and blocked.read_text() == "keep me"
