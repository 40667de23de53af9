"""`wds-edge models fetch`: a malformed --sha256 is refused before the download (it was blamed
on the file after the whole download), and a failed fetch leaves no folder it made."""

from __future__ import annotations

from pathlib import Path

import pytest
from fault_helpers import run_cli


@pytest.mark.parametrize("digest", ["abc", "g" * 64, "0" * 63, "0" * 65, "sha256:" + "0" * 64])
def test_a_malformed_sha256_is_refused_before_anything(
    digest: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "models" / "inner"
    missing = tmp_path / "never-read.task"  # not read: the digest is checked first
    code, _out, err = run_cli(capsys, "models", "fetch", "--dest", dest, "--url",
                              missing.as_uri(), "--sha256", digest)  # fmt: skip
    assert code == 2, err
    assert "--sha256 takes a sha256 digest, 64 hex digits" in err and repr(digest) in err
    assert "Could not download" not in err and "corrupt" not in err
    assert not (tmp_path / "models").exists()


def test_an_upper_case_digest_is_accepted(
    landmarker_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wds_edge.perception.landmarker_model import FACE_LANDMARKER_SHA256

    dest = tmp_path / "m"
    code, _out, err = run_cli(capsys, "models", "fetch", "--dest", dest, "--url",
                              landmarker_path.as_uri(), "--sha256",
                              FACE_LANDMARKER_SHA256.upper())  # fmt: skip
    assert code == 0, err
    assert (dest / "face_landmarker.task").is_file()


@pytest.mark.parametrize("why", ["other digest", "download fails"])
def test_a_failed_fetch_leaves_no_folder_it_made(
    why: str, landmarker_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "new" / "models"
    if why == "other digest":
        args = ["--url", landmarker_path.as_uri(), "--sha256", "2" * 64]
    else:
        args = ["--url", (tmp_path / "gone.task").as_uri()]
    code, _out, err = run_cli(capsys, "models", "fetch", "--dest", dest, *args)
    assert code == 2, err
    assert not (tmp_path / "new").exists()  # both folders were made by the command


def test_a_failed_fetch_keeps_a_folder_that_was_there(
    landmarker_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "existing"
    dest.mkdir()
    code, _out, _err = run_cli(capsys, "models", "fetch", "--dest", dest, "--url",
                               landmarker_path.as_uri(), "--sha256", "2" * 64)  # fmt: skip
    assert code == 2
    assert dest.is_dir() and list(dest.iterdir()) == []
