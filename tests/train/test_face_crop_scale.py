"""The face-crop scale of `wds-edge label` data travels with a run (config.json, checkpoints,
the result), apart from the random training crop; unknown for other data; resume keeps it."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from wds_edge.errors import DataError, InvalidInputError
from wds_edge_train.checkpoint import load_checkpoint
from wds_edge_train.labeling.runner import labelled_face_crop_px
from wds_edge_train.loop import TrainConfig, train

TINY = {"base_channels": 8, "crop_size": 32, "batch_size": 2, "val_count": 1, "epochs": 1,
        "augment": "none", "device": "cpu", "tensorboard": False}  # fmt: skip


def _labels_json(root: Path, mode: str = "auto", crop_faces: bool = False, size: object = 64):
    doc = {"mode": mode, "options": {"crop_size_px": size, "crop_faces": crop_faces}, "items": []}
    (root / "labels.json").write_text(json.dumps(doc))


def _faces(root: Path, size: int = 64, summary: bool = True) -> Path:
    """A generic-layout folder of 3 synthetic ``size`` px 'face crops' (+ labels.json)."""
    rng = np.random.default_rng(0)
    for sub in ("images", "masks"):
        (root / sub).mkdir(parents=True)
    for n in range(3):
        image = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        mask = np.zeros((size, size), np.uint8)
        mask[size // 2, 4:-4] = 255
        cv2.imwrite(str(root / "images" / f"f{n}.png"), image)
        cv2.imwrite(str(root / "masks" / f"f{n}.png"), mask)
    if summary:
        _labels_json(root, size=size)
    return root


def test_labels_json_gives_the_face_crop_size(tmp_path: Path) -> None:
    assert labelled_face_crop_px(tmp_path) is None  # no labels.json: unknown
    _labels_json(tmp_path, "auto", size=256)
    assert labelled_face_crop_px(tmp_path) == 256
    _labels_json(tmp_path, "rough", crop_faces=True, size=320)
    assert labelled_face_crop_px(tmp_path) == 320
    _labels_json(tmp_path, "rough", crop_faces=False, size=640)  # whole photos: no one scale
    assert labelled_face_crop_px(tmp_path) is None
    _labels_json(tmp_path, "auto", size="big")
    with pytest.raises(DataError, match="crop_size_px"):
        labelled_face_crop_px(tmp_path)
    (tmp_path / "labels.json").write_text("{not json")
    with pytest.raises(DataError, match="label the photos again"):
        labelled_face_crop_px(tmp_path)


def test_run_records_the_face_crop_size_apart_from_the_training_crop(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    data = _faces(tmp_path / "faces", 64)
    result = train(TrainConfig(data=str(data), out=str(tmp_path / "run"), **TINY))
    assert result.face_crop_px == 64
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["face_crop_px"] == 64 and config["crop_size"] == 32
    for name in ("best.pt", "last.pt"):
        ckpt = load_checkpoint(tmp_path / "run" / name)
        assert ckpt.config["face_crop_px"] == 64 and ckpt.config["crop_size"] == 32


def test_data_without_labels_json_has_no_face_crop_size(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    data = _faces(tmp_path / "other", 64, summary=False)
    result = train(TrainConfig(data=str(data), out=str(tmp_path / "run"), **TINY))
    assert result.face_crop_px is None
    assert json.loads((tmp_path / "run" / "config.json").read_text())["face_crop_px"] is None


def test_resume_keeps_it_and_accepts_older_runs_without_it(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    data, run = _faces(tmp_path / "faces", 64), tmp_path / "run"
    train(TrainConfig(data=str(data), out=str(run), **TINY))
    # an older run: its checkpoint and config.json predate the field
    raw = torch.load(run / "last.pt", weights_only=True)
    del raw["config"]["face_crop_px"]
    torch.save(raw, run / "last.pt")
    saved = json.loads((run / "config.json").read_text())
    del saved["face_crop_px"]
    (run / "config.json").write_text(json.dumps(saved))
    result = train(TrainConfig(data=str(data), out=str(run), **{**TINY, "epochs": 2}), resume=True)
    assert result.face_crop_px == 64
    assert load_checkpoint(run / "last.pt").config["face_crop_px"] == 64
    # the data relabelled at another scale: no longer the same run
    _labels_json(data, size=128)
    with pytest.raises(InvalidInputError, match="face_crop_px: run has 64, asked 128"):
        train(TrainConfig(data=str(data), out=str(run), **{**TINY, "epochs": 3}), resume=True)


def test_the_training_crop_defaults_to_the_face_crop_size(tmp_path: Path) -> None:
    """No crop_size on 64 px face labels: 64 px crops, recorded in config.json and the
    checkpoints (the default was 640: each crop 99 % mirrored padding)."""
    data = _faces(tmp_path / "faces", 64)
    settings = {k: v for k, v in TINY.items() if k != "crop_size"}
    train(TrainConfig(data=str(data), out=str(tmp_path / "run"), **settings))
    assert json.loads((tmp_path / "run" / "config.json").read_text())["crop_size"] == 64
    assert load_checkpoint(tmp_path / "run" / "last.pt").config["crop_size"] == 64


def test_a_crop_larger_than_the_face_crops_is_refused_before_writing(tmp_path: Path) -> None:
    data = _faces(tmp_path / "faces", 64)
    out = tmp_path / "run"
    with pytest.raises(InvalidInputError, match=r"--crop-size 128 is larger than the 64 px face"):
        train(TrainConfig(data=str(data), out=str(out), **{**TINY, "crop_size": 128}))
    assert not out.exists()


def test_a_run_that_recorded_a_larger_crop_still_resumes(tmp_path: Path) -> None:
    """Runs started before the refusal (640 px crops of 256 px faces) keep their crop."""
    data, run = _faces(tmp_path / "faces", 64), tmp_path / "run"
    train(TrainConfig(data=str(data), out=str(run), **TINY))
    raw = torch.load(run / "last.pt", weights_only=True)
    raw["config"]["crop_size"] = 96
    torch.save(raw, run / "last.pt")
    settings = {k: v for k, v in TINY.items() if k != "crop_size"}
    train(TrainConfig(data=str(data), out=str(run), **{**settings, "epochs": 2}), resume=True)
    assert json.loads((run / "config.json").read_text())["crop_size"] == 96


def test_space_to_depth_refuses_face_crops_export_could_not_take(tmp_path: Path) -> None:
    """80 px face crops (not a multiple of 32) trained to the end with space_to_depth, and
    export then refused the model; refused before the first epoch now."""
    data = _faces(tmp_path / "faces", 80)
    out = tmp_path / "run"
    config = TrainConfig(data=str(data), out=str(out), **{**TINY, "crop_size": 64},
                         stem="space_to_depth")  # fmt: skip
    with pytest.raises(InvalidInputError, match=r"'wds-edge label --crop-size 64' or 96"):
        train(config)
    assert not out.exists()


def test_other_data_mostly_padded_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = _faces(tmp_path / "other", 64, summary=False)
    with caplog.at_level("WARNING", logger="wds_edge_train.loop"):
        train(TrainConfig(data=str(data), out=str(tmp_path / "run"), **{**TINY, "crop_size": 256}))
    assert "fill 6% of the 256 px training crop" in caplog.text and "e.g. 64" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="wds_edge_train.loop"):
        train(TrainConfig(data=str(data), out=str(tmp_path / "run2"), **{**TINY, "crop_size": 64}))
    assert "training crop" not in caplog.text
