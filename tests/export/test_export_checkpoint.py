"""export_checkpoint: a real training checkpoint -> ONNX with training summary and parity."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.errors import ModelError
from wds_edge_export.onnx_export import export_checkpoint, read_metadata
from wds_edge_train.checkpoint import save_checkpoint


def _checkpoint(model, path: Path) -> Path:
    config = {"base_channels": 8, "loss": "ds", "epochs": 3, "crop_size": 128, "data": "faces",
              "fold": 1, "folds": 5, "seed": 0}  # fmt: skip
    metrics = {"val": {"jsi": 0.41}, "val_images": 2, "best_epoch": 3}
    return save_checkpoint(path, model=model, config=config, metrics=metrics, epoch=3)


def test_export_checkpoint_fills_training_summary_and_parity(
    proxy_model, face_photos, landmarker_path, tmp_path: Path
) -> None:
    ckpt = _checkpoint(proxy_model, tmp_path / "c.pt")
    report = export_checkpoint(
        ckpt, tmp_path / "m.onnx", parity_images=face_photos[1:3], landmarker_path=landmarker_path,
        input_size_px=128,
    )  # fmt: skip
    md = read_metadata(report.path)
    assert md.training["fold"] == 1 and md.training["metrics"]["val"]["jsi"] == 0.41
    assert md.architecture.loss == "ds"
    assert md.parity["images"] == 2 and md.parity["max_abs_diff"] <= 1e-4
    assert md.parity["masks_identical"]
    assert len(report.onnx_sha256) == 64


def test_cli_export_prints_parity_and_writes_triton_repo(
    proxy_model, faces_dir, landmarker_path, tmp_path: Path
) -> None:
    ckpt = _checkpoint(proxy_model, tmp_path / "c.pt")
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "biden2.jpg").symlink_to(faces_dir / "biden2.jpg")
    result = CliRunner().invoke(
        app,
        ["export", "--checkpoint", str(ckpt), "--out", str(tmp_path / "m.onnx"), "--size", "128",
         "--batch", "dynamic", "--parity-images", str(photos), "--landmarker",
         str(landmarker_path), "--triton", str(tmp_path / "triton")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "max |diff|" in result.output and "mask IoU" in result.output
    assert (tmp_path / "triton" / "wds-unet" / "1" / "model.onnx").is_file()
    assert (tmp_path / "triton" / "wds-unet" / "config.pbtxt").is_file()


def test_metadata_records_the_code_of_every_start(tmp_path: Path) -> None:
    """A run resumed on another commit with local changes: the metadata lists every commit
    (start order) and calls the code dirty, not just what the first start ran."""
    from wds_edge_train.model import WrinkleUNet

    a, b = "a" * 40, "b" * 40
    provenance = [
        {"from_epoch": 0, "commit": a, "dirty": False, "device": "cpu", "amp": False},
        {"from_epoch": 1, "commit": b, "dirty": True, "device": "cpu", "amp": False},
        {"from_epoch": 2, "commit": b, "dirty": False, "device": "cpu", "amp": False},
    ]
    ckpt = save_checkpoint(tmp_path / "c.pt", model=WrinkleUNet(4, 8), metrics={}, epoch=3,
                           config={"loss": "wds", "provenance": provenance})  # fmt: skip
    export_checkpoint(ckpt, tmp_path / "m.onnx", input_size_px=64, simplify=False)
    training = read_metadata(tmp_path / "m.onnx").training
    assert training["commits"] == [a, b] and training["commit"] == a
    assert training["commit_dirty"] is True
    # a start whose git state is unknown (an installed wheel) makes a clean run's state unknown
    from wds_edge_export.onnx_export import _code_provenance

    unknown = [provenance[0], {"commit": None, "dirty": None}]
    assert _code_provenance(unknown) == {"commit": a, "commits": [a, None], "commit_dirty": None}
    assert _code_provenance(provenance[:1])["commit_dirty"] is False


def test_a_failed_parity_keeps_the_model_already_there(
    proxy_model, face_photos, landmarker_path, tmp_path: Path, monkeypatch
) -> None:
    """The parity limits made impossible (a graph that computes something else looks the
    same): the export raises and the model at the destination is the previous one."""
    import wds_edge_export.parity as parity

    ckpt = _checkpoint(proxy_model, tmp_path / "c.pt")
    target = tmp_path / "m.onnx"
    target.write_bytes(b"the previous model")
    monkeypatch.setattr(parity, "PARITY_MAX_ABS_DIFF", -1.0)
    with pytest.raises(ModelError, match="parity failed on 1 face crops"):
        export_checkpoint(ckpt, target, parity_images=face_photos[1:2],
                          landmarker_path=landmarker_path, input_size_px=128)  # fmt: skip
    assert target.read_bytes() == b"the previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt", "m.onnx"]
