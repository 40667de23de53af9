"""`wds-edge analyze --out DIR` run again: DIR holds the latest run (no file of an earlier
run stands for an input it no longer describes), DIR may not be a folder that a folder or
glob input reads, no input is written over, and --arrays needs JSON to go into."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fault_helpers import run_cli

from wds_edge.io import write_image_atomic

FIXTURE_ONNX = Path(__file__).resolve().parents[2] / "fixtures" / "wds_b4_128_dyn.onnx"


def _analyze(capsys, landmarker: Path, *args: object) -> tuple[int, str, str]:  # noqa: ANN001
    return run_cli(
        capsys, "analyze", *args, "--model", FIXTURE_ONNX, "--backend", "onnxruntime",
        "--landmarker", landmarker, "--threads", "1",
    )  # fmt: skip


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_rerun_leaves_no_file_of_the_earlier_run_for_a_stem(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: an input that failed on the rerun kept its earlier 'ok' JSON (and overlay,
    mask), and a result without a mask (no face now) or an overlay (--no-overlay) kept the
    earlier run's <stem>_mask.png / <stem>_overlay.png beside its new JSON."""
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    photo = photos / "a.jpg"
    shutil.copy(faces_dir / "biden2.jpg", photo)
    code, _, err = _analyze(capsys, landmarker_path, photos, "--out", out, "--save-mask")
    assert code == 0, err
    assert _names(out) == ["a.json", "a_mask.png", "a_overlay.png"]

    photo.write_bytes(b"\xff\xd8 not a jpeg any more")
    code, stdout, err = _analyze(capsys, landmarker_path, photos, "--out", out, "--json")
    assert code == 1 and json.loads(stdout)["status"] == "error", err
    assert _names(out) == []  # no earlier result stands for the input that fails now

    write_image_atomic(photo, np.full((240, 320, 3), 128, np.uint8))  # no face: no mask
    shutil.copy(faces_dir / "biden2.jpg", photos / "b.jpg")
    code, _, err = _analyze(capsys, landmarker_path, photos, "--out", out, "--save-mask")
    assert code == 0, err
    assert json.loads((out / "a.json").read_text())["status"] == "no_face"
    assert "a_mask.png" not in _names(out) and "b_mask.png" in _names(out)
    code, _, err = _analyze(capsys, landmarker_path, photos, "--out", out, "--no-overlay")
    assert code == 0, err
    assert _names(out) == ["a.json", "b.json"]


def test_stems_follow_the_input_order_failed_inputs_included(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """x/a.jpg and y/a.jpg are a.json and a_2.json whether or not x/a.jpg can be read: a
    failed first one used to hand its stem to the second, so a rerun named them otherwise."""
    first, second, out = tmp_path / "x" / "a.jpg", tmp_path / "y" / "a.jpg", tmp_path / "out"
    for path in (first, second):
        path.parent.mkdir()
        shutil.copy(faces_dir / "biden2.jpg", path)
    code, _, err = _analyze(capsys, landmarker_path, first, second, "--out", out)
    assert code == 0, err
    first.write_bytes(b"broken")
    code, _, _ = _analyze(capsys, landmarker_path, first, second, "--out", out)
    assert code == 1
    assert _names(out) == ["a_2.json", "a_2_overlay.png"]
    assert json.loads((out / "a_2.json").read_text())["input"] == str(second)


@pytest.mark.parametrize(
    ("inputs", "out"),
    [(["photos"], "photos"), (["photos/*.jpg"], "photos"), (["photos/**/*.jpg"], "photos/res")],
)
def test_the_output_folder_may_not_be_read_as_input(
    inputs: list[str], out: str, faces_dir: Path, landmarker_path: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Defect: --out the input folder made every rerun analyse its own overlays and masks
    as photos (p_overlay.json, p_overlay_overlay.png, ...: more with each run)."""
    monkeypatch.chdir(tmp_path)
    Path("photos").mkdir()
    shutil.copy(faces_dir / "biden2.jpg", "photos/p.jpg")
    code, _, err = _analyze(capsys, landmarker_path, *inputs, "--out", out, "--save-mask")
    assert code == 2, err
    assert "is the folder the input" in err or "is inside the folder the input" in err
    assert "write the results to a folder of their own (--out DIR)" in " ".join(err.split())
    assert _names(Path("photos")) == ["p.jpg"]
    # a subfolder of a folder input is not read (folders are not recursive): allowed
    code, _, err = _analyze(capsys, landmarker_path, "photos", "--out", "photos/res")
    assert code == 0, err
    code, _, err = _analyze(capsys, landmarker_path, "photos", "--out", "photos/res")
    assert code == 0 and _names(Path("photos/res")) == ["p.json", "p_overlay.png"], err


def test_arrays_go_into_the_json_lines_and_need_json(
    faces_dir: Path, landmarker_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: --arrays without --out was accepted and dropped (the --json lines never had
    the arrays), while --save-mask without --out was refused."""
    photo = faces_dir / "biden2.jpg"
    code, _, err = _analyze(capsys, landmarker_path, photo, "--arrays")
    assert code == 2 and "--arrays puts landmarks and the mask into the JSON" in err, err
    code, stdout, err = _analyze(capsys, landmarker_path, photo, "--arrays", "--json")
    assert code == 0, err
    line = json.loads(stdout)
    assert len(line["landmarks_px"]) == 478 and line["wrinkle_mask_png"]


def test_files_named_in_the_output_folder_are_read_as_named(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Defect: `analyze same/a.jpg same/a_overlay.png --out same` wrote a.jpg's overlay over
    the user's a_overlay.png (exit 0): that input gets an error outcome naming the clash, the
    other goes on. A file named in the output folder is otherwise fine: `cd a; analyze
    biden2.jpg --out .` (refused for a while as 'the folder the input is read from') writes
    its results, and a missing file is reported as missing, not as a folder clash."""
    monkeypatch.chdir(tmp_path)
    Path("same").mkdir()
    shutil.copy(faces_dir / "biden2.jpg", "same/a.jpg")
    shutil.copy(faces_dir / "obama.jpg", "same/a_overlay.png")
    before = Path("same/a_overlay.png").read_bytes()
    code, stdout, err = _analyze(capsys, landmarker_path, "same/a.jpg", "same/a_overlay.png",
                                 "--out", "same", "--json")  # fmt: skip
    assert code == 1, err
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert lines[0]["status"] == "error"
    assert "same/a_overlay.png would replace that file, an input of this run" in lines[0]["error"]
    assert lines[1]["status"] != "error"
    assert Path("same/a_overlay.png").read_bytes() == before
    assert "a.json" not in _names(Path("same"))

    Path("a").mkdir()
    shutil.copy(faces_dir / "biden2.jpg", "a/biden2.jpg")
    monkeypatch.chdir("a")
    code, _, err = _analyze(capsys, landmarker_path, "biden2.jpg", "--out", ".")
    assert code == 0, err
    assert _names(Path(".")) == ["biden2.jpg", "biden2.json", "biden2_overlay.png"]
    code, stdout, err = _analyze(capsys, landmarker_path, "missing.jpg", "--out", ".", "--json")
    assert code == 1, err
    assert "missing.jpg" in json.loads(stdout)["error"]


def test_an_input_is_never_written_over_through_a_link(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """An input that is a link to a file in the output folder: the result of another input
    that would replace it is refused (an error naming the clash), the rest goes on."""
    monkeypatch.chdir(tmp_path)
    Path("photos").mkdir()
    Path("out").mkdir()
    shutil.copy(faces_dir / "biden2.jpg", "photos/a.jpg")
    shutil.copy(faces_dir / "obama.jpg", "photos/b.jpg")
    shutil.copy(faces_dir / "obama.jpg", "out/a_overlay.png")
    before = Path("out/a_overlay.png").read_bytes()
    Path("photos/a_overlay.png").symlink_to(Path("out/a_overlay.png").resolve())
    inputs = ["photos/a.jpg", "photos/a_overlay.png", "photos/b.jpg"]
    code, stdout, err = _analyze(capsys, landmarker_path, *inputs, "--out", "out", "--json")
    assert code == 1, err
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert lines[0]["status"] == "error"
    assert "out/a_overlay.png would replace that file, an input of this run" in lines[0]["error"]
    assert lines[1]["status"] != "error" and lines[2]["status"] != "error"
    assert Path("out/a_overlay.png").read_bytes() == before
    assert "a.json" not in _names(Path("out"))


def test_the_help_says_which_files_of_an_earlier_run_stay(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: the help said DIR "then holds the latest run" (an earlier run's files of a
    stem this run does not write removed), but a_2.json of an earlier run's second input
    stays when the rerun has only the first: files of other stems are left alone."""
    from typer.testing import CliRunner

    from wds_edge.cli import app

    first, second, out = tmp_path / "x" / "a.jpg", tmp_path / "y" / "a.jpg", tmp_path / "out"
    for path in (first, second):
        path.parent.mkdir()
        shutil.copy(faces_dir / "biden2.jpg", path)
    code, _, err = _analyze(capsys, landmarker_path, first, second, "--out", out, "--no-overlay")
    assert code == 0 and _names(out) == ["a.json", "a_2.json"], err
    code, _, err = _analyze(capsys, landmarker_path, first, "--out", out, "--no-overlay")
    assert code == 0 and _names(out) == ["a.json", "a_2.json"], err
    help_text = " ".join(
        CliRunner().invoke(app, ["analyze", "--help"]).output.replace("│", " ").split()
    )
    assert "holds the latest run" not in help_text
    assert "files of other stems (inputs of an earlier run that this run does" in help_text
