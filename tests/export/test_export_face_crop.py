"""Export gives the model the face-crop size its checkpoint was trained on (the kiosk crops
faces at the model's input size) and refuses another one unless told to."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.cli.errors import exit_code_for
from wds_edge.errors import InvalidInputError
from wds_edge_export.onnx_export import (
    DEFAULT_INPUT_SIZE_PX,
    ScaleMismatchError,
    export_checkpoint,
    export_size_px,
    read_metadata,
)
from wds_edge_train.checkpoint import save_checkpoint
from wds_edge_train.model import WrinkleUNet


def _checkpoint(path: Path, **config: object) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(path, model=WrinkleUNet(base_channels=8),
                           config={"base_channels": 8, "crop_size": 32, **config},
                           metrics={}, epoch=1)  # fmt: skip


def test_export_size_follows_the_trained_face_crops() -> None:
    assert export_size_px({"face_crop_px": 256}, None) == 256
    assert export_size_px({"face_crop_px": 256}, 256) == 256
    assert export_size_px({}, None) == DEFAULT_INPUT_SIZE_PX == 640  # older / unknown
    assert export_size_px({"face_crop_px": None}, 320) == 320
    with pytest.raises(ScaleMismatchError, match=r"--size 640 differs from the 256 px .* 2\.50x"):
        export_size_px({"face_crop_px": 256}, 640)
    assert export_size_px({"face_crop_px": 256}, 640, allow_scale_mismatch=True) == 640
    with pytest.raises(InvalidInputError, match="multiple of 32; pass --size 192 or 224"):
        export_size_px({"face_crop_px": 200}, None, 32)


def test_export_checkpoint_defaults_to_and_records_the_face_crop_size(tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path / "c.pt", face_crop_px=64)
    report = export_checkpoint(ckpt, tmp_path / "m.onnx", simplify=False)
    md = read_metadata(report.path)
    assert md.input_shape == [1, 3, 64, 64]
    assert md.training["face_crop_px"] == 64 and md.training["crop_size"] == 32
    with pytest.raises(ScaleMismatchError):
        export_checkpoint(ckpt, tmp_path / "other.onnx", input_size_px=128, simplify=False)
    assert not (tmp_path / "other.onnx").exists()


def test_cli_export_refuses_another_size_without_the_flag(tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path / "c.pt", face_crop_px=64)
    base = ["export", "--checkpoint", str(ckpt), "--no-parity", "--no-simplify"]
    runner = CliRunner()
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "a.onnx")])
    assert result.exit_code == 0, result.output
    assert "input 64 px = the 64 px face crops" in " ".join(result.output.split())
    assert read_metadata(tmp_path / "a.onnx").input_shape == [1, 3, 64, 64]
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "b.onnx"), "--size", "128"])
    assert isinstance(result.exception, ScaleMismatchError)  # `wds-edge` exits 2 with it
    assert exit_code_for(result.exception) == 2
    assert "--allow-scale-mismatch" in str(result.exception)
    assert not (tmp_path / "b.onnx").exists()
    result = runner.invoke(
        app, [*base, "--out", str(tmp_path / "b.onnx"), "--size", "128", "--allow-scale-mismatch"]
    )
    assert result.exit_code == 0, result.output
    assert "2.00x the scale it learned" in " ".join(result.output.split())
    md = read_metadata(tmp_path / "b.onnx")
    assert md.input_shape == [1, 3, 128, 128] and md.training["face_crop_px"] == 64


def test_an_older_checkpoint_without_the_field_exports_as_before(tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path / "c.pt")  # no face_crop_px: trained before it was recorded
    result = CliRunner().invoke(app, ["export", "--checkpoint", str(ckpt), "--no-parity",
                                      "--no-simplify", "--size", "64",
                                      "--out", str(tmp_path / "m.onnx")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "does not record the face-crop size" in " ".join(result.output.split())
    md = read_metadata(tmp_path / "m.onnx")
    assert md.input_shape == [1, 3, 64, 64] and md.training["face_crop_px"] is None


@pytest.mark.parametrize("crop_faces", [False, True])
def test_export_says_plainly_when_the_labels_were_whole_photos(
    tmp_path: Path, crop_faces: bool
) -> None:
    """`label --rough` without --crop-faces (as MODEL_CARD's and `label --help`'s examples
    had it) labels whole photos, so the checkpoint records no face-crop size; export blamed
    "not 'wds-edge label' data, or trained by an older wds-edge". The labels.json of the data
    folder the checkpoint names says which it was."""
    import json

    labels = tmp_path / "labels"
    labels.mkdir()
    options = {"crop_size_px": 640, "crop_faces": crop_faces}
    (labels / "labels.json").write_text(json.dumps({"mode": "rough", "options": options}))
    data = {"path": str(labels), "layout": "generic", "n_images": 6}
    ckpt = _checkpoint(tmp_path / "c.pt", data=data)  # face_crop_px unknown either way
    result = CliRunner().invoke(app, ["export", "--checkpoint", str(ckpt), "--no-parity",
                                      "--no-simplify", "--size", "64",
                                      "--out", str(tmp_path / "m.onnx")])  # fmt: skip
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    if crop_faces:  # not what this checkpoint's labels say: the general note
        assert "does not record the face-crop size" in output and "are whole photos" not in output
    else:
        assert f"the labels in {labels} are whole photos" in output, output
        assert "the kiosk feeds face crops" in output and "--crop-faces" in output
        assert "older wds-edge" not in output
