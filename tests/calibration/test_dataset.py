"""Calibration folders: kiosk-path crops, manifest, warnings, and the cache key."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.errors import DataError, InvalidInputError
from wds_edge_calibration.cache import CalibrationCache, calibration_cache_key
from wds_edge_calibration.dataset import load_calibration_set, write_calibration_set


def test_calibrate_cli_from_video_through_kiosk_path(
    video_path: Path, landmarker_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "calib"
    with caplog.at_level(logging.WARNING):
        result = CliRunner().invoke(
            app,
            ["calibrate", "--source", str(video_path), "--out", str(out), "--count", "12",
             "--size", "64", "--stride", "15", "--landmarker", str(landmarker_path)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and "300" in result.output
    calib = load_calibration_set(out, verify=True)
    # frames 0..179 show the face: stride 15 gives 12 face frames before the count stops
    assert len(calib) == 12
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["source"] == str(video_path) and manifest["size_px"] == 64
    assert "FaceLandmarker" in manifest["preprocessing"] and len(manifest["data_sha256"]) == 64
    # the frames of one video are one unnamed person, the video's content (derived, not a
    # name: quantize refuses only the same video as held-out set), and the command says so
    assert manifest["people"][0].startswith("video:") and manifest["people_source"] == "video file"
    assert "recorded as one unnamed person" in result.output
    crop = calib.crop(0)
    assert crop.shape == (64, 64, 3) and crop.dtype == np.uint8
    batch = next(calib.batches("texture_outside", batch_size=5))
    assert batch.shape == (5, 4, 64, 64) and batch.min() >= 0.0 and batch.max() <= 1.0


def test_folder_rules(kiosk_crops_128, tmp_path: Path) -> None:
    crops = [c for _, c in kiosk_crops_128[:3]]
    out = tmp_path / "c"
    write_calibration_set(crops, out, source="t", size_px=128, preprocessing_path="p")
    # the CLI flag, not a Python argument name, in the message the CLI prints
    with pytest.raises(InvalidInputError, match=r"not empty; .*`wds-edge calibrate --force`"):
        write_calibration_set(crops, out, source="t", size_px=128, preprocessing_path="p")
    with pytest.raises(InvalidInputError, match="uint8 64x64x3"):
        write_calibration_set(crops, tmp_path / "d", source="t", size_px=64, preprocessing_path="p")
    assert not (tmp_path / "d").exists()  # nothing half-written
    (out / "crops" / "000001.png").unlink()
    with pytest.raises(DataError, match="lists 3 crops, found 2"):
        load_calibration_set(out)
    with pytest.raises(DataError, match="wds-edge calibrate"):
        load_calibration_set(tmp_path)


def test_calibration_folder_gets_the_mode_of_a_plain_mkdir(kiosk_crops_128, tmp_path: Path) -> None:
    """Like every other output (umask 022: 0755), not mkdtemp's 0700 (defect: a calibration
    folder made by one user could not be read by the kiosk's service account)."""
    plain = tmp_path / "plain"
    plain.mkdir()
    crops = [c for _, c in kiosk_crops_128[:1]]
    calib = write_calibration_set(crops, tmp_path / "c", source="t", size_px=128,
                                  preprocessing_path="p")  # fmt: skip
    assert stat.S_IMODE(calib.path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


def test_calibration_cache_invalidated_by_data_and_model_change(
    kiosk_crops_128, tmp_path: Path
) -> None:
    crops = [c for _, c in kiosk_crops_128[:3]]
    a = write_calibration_set(
        crops, tmp_path / "a", source="t", size_px=128, preprocessing_path="p"
    )
    changed = [crops[0], crops[1], np.ascontiguousarray(crops[2][::-1])]  # one crop flipped
    b = write_calibration_set(
        changed, tmp_path / "b", source="t", size_px=128, preprocessing_path="p"
    )
    assert a.data_sha256 != b.data_sha256
    cache_file = tmp_path / "model.calib"
    key_a = calibration_cache_key(a.data_sha256, "m" * 64, "10.3.0")
    CalibrationCache(cache_file, key_a).write(b"TRT-10 EntropyCalibration2\nimage: 3c010a14\n")
    assert CalibrationCache(cache_file, key_a).read().startswith(b"TRT-10")
    # new data, new model or new TensorRT -> the cache is not used
    assert (
        CalibrationCache(
            cache_file, calibration_cache_key(b.data_sha256, "m" * 64, "10.3.0")
        ).read()
        is None
    )
    assert (
        CalibrationCache(
            cache_file, calibration_cache_key(a.data_sha256, "n" * 64, "10.3.0")
        ).read()
        is None
    )
    assert (
        CalibrationCache(
            cache_file, calibration_cache_key(a.data_sha256, "m" * 64, "10.4.0")
        ).read()
        is None
    )


def test_manifest_model_reads_old_and_rejects_broken_files(kiosk_crops_128, tmp_path: Path) -> None:
    from wds_edge_calibration.manifest import CalibrationManifest

    out = tmp_path / "c"
    crops = [c for _, c in kiosk_crops_128[:2]]
    written = write_calibration_set(crops, out, source="t", size_px=128, preprocessing_path="p")
    on_disk = json.loads((out / "manifest.json").read_text())
    # Format 1 keys, unchanged by the model.
    keys = "format source count size_px color_order storage preprocessing data_sha256"
    assert set(on_disk) == {*keys.split(), "wds_edge_version", "created_at"}
    assert written.manifest == CalibrationManifest.read(out / "manifest.json")
    # An older, minimal manifest (only the required keys, plus a key we do not know) loads.
    old = {k: on_disk[k] for k in ("count", "size_px", "data_sha256")} | {"note": "old build"}
    (out / "manifest.json").write_text(json.dumps(old))
    calib = load_calibration_set(out, verify=True)
    assert calib.size_px == 128 and calib.manifest.color_order == "RGB"
    assert calib.manifest.model_extra == {"note": "old build"}
    (out / "manifest.json").write_text(json.dumps({**old, "data_sha256": "abc"}))
    with pytest.raises(DataError, match="data_sha256"):
        load_calibration_set(out)
    (out / "manifest.json").write_text(json.dumps({"size_px": 128, "data_sha256": "0" * 64}))
    with pytest.raises(DataError, match="lacks 'count'"):
        load_calibration_set(out)


# -- what --out may be: never the source, never a folder that is not a calibration folder --


def _cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    """``wds-edge ARGV`` in-process: (exit code, stderr)."""
    from wds_edge.cli import main

    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, " ".join(capsys.readouterr().err.split())


@pytest.fixture
def photos(faces_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("biden2.jpg", "obama.jpg"):
        (folder / name).write_bytes((faces_dir / name).read_bytes())
    (folder / "notes.txt").write_text("consent forms in the cabinet\n")
    return folder


def _listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_calibrate_force_refuses_an_out_that_is_in_or_above_the_source(
    photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--out photos --force` used to delete the photos and leave only crops/ and the
    manifest in their place."""
    before = _listing(photos.parent)
    for out in (photos, photos / "calib", photos.parent):
        code, err = _cli(capsys, "calibrate", "--source", photos, "--out", out, "--force",
                         "--count", 5, "--size", 64)  # fmt: skip
        assert code == 2, err
        assert "the source" in err and "new folder" in err and "Traceback" not in err
    code, err = _cli(capsys, "calibrate", "--source", photos / "obama.jpg", "--out", photos,
                     "--force", "--size", 64)  # fmt: skip
    assert code == 2 and "holds the source" in err
    assert _listing(photos.parent) == before


def test_force_replaces_a_calibration_folder_and_nothing_else(
    kiosk_crops_128, photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crops = [c for _, c in kiosk_crops_128[:2]]
    kw = {"source": "t", "size_px": 128, "preprocessing_path": "p", "overwrite": True}
    before = _listing(photos)
    with pytest.raises(InvalidInputError, match="not a calibration folder"):
        write_calibration_set(crops, photos, **kw)
    assert _listing(photos) == before
    # a calibration folder with one more file in it is not replaced either
    calib = write_calibration_set(crops, tmp_path / "calib", **kw)
    (calib.path / "crops" / "my_note.txt").write_text("keep me")
    code, err = _cli(capsys, "calibrate", "--source", photos, "--out", calib.path, "--force",
                     "--size", 128)  # fmt: skip
    assert code == 2 and "not a calibration folder" in err
    assert (calib.path / "crops" / "my_note.txt").read_text() == "keep me"
    (calib.path / "crops" / "my_note.txt").unlink()
    # a calibration folder is replaced, and only the new one is left
    again = write_calibration_set(crops[:1], calib.path, **kw)
    assert len(again) == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["calib", "photos"]


def test_calibrate_out_an_existing_file_is_a_usage_error(
    photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It used to be a NotADirectoryError traceback (exit 1)."""
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    for force in ((), ("--force",)):
        code, err = _cli(capsys, "calibrate", "--source", photos, "--out", afile, *force)
        assert code == 2, err
        assert "exists and is not a folder" in err and "Traceback" not in err
    assert afile.read_text() == "not a folder"


# -- the crops' hash is checked before it keys a cache or names a gate's crops --


def _edit_a_crop(calib_dir: Path) -> None:
    path = calib_dir / "crops" / "000001.png"
    image = cv2.imread(str(path))
    assert cv2.imwrite(str(path), np.ascontiguousarray(image[::-1]))


def test_edited_crops_are_refused_not_given_the_old_hash(kiosk_crops_128, tmp_path: Path) -> None:
    """data_sha256 keys TensorRT's calibration cache and the engine cache and names the
    crops in gate records; it was read from the manifest unchecked, so crops edited after
    `wds-edge calibrate` reused a calibration cache made from the old ones."""
    crops = [c for _, c in kiosk_crops_128[:3]]
    made = write_calibration_set(crops, tmp_path / "c", source="t", size_px=128,
                                 preprocessing_path="p")  # fmt: skip
    loaded_before = load_calibration_set(made.path, verify=False)
    _edit_a_crop(made.path)
    with pytest.raises(DataError, match="crops changed since the manifest"):
        load_calibration_set(made.path)
    for calib in (load_calibration_set(made.path, verify=False), loaded_before):
        with pytest.raises(DataError, match="crops changed since the manifest"):
            calibration_cache_key(calib.data_sha256, "m" * 64, "10.3.0")


def test_quantize_refuses_edited_calibration_crops(
    kiosk_crops_128, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "wds_b4_128_dyn.onnx"
    crops = [c for _, c in kiosk_crops_128[:3]]
    calib = write_calibration_set(crops, tmp_path / "c", source="t", size_px=128,
                                  preprocessing_path="p")  # fmt: skip
    _edit_a_crop(calib.path)
    out = tmp_path / "int8.onnx"
    code, err = _cli(capsys, "quantize", "--onnx", fixture, "--calib", calib.path, "--out", out)
    # a calibration folder that cannot be used is a usage error (exit 2), as in build-engine
    assert code == 2 and "--calib: " in err, err
    assert "crops changed since the manifest" in err and "--force" in err
    assert not out.exists()
