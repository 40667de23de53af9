"""What `wds-edge export` takes from its inputs before it exports: the Triton folder of the
--model-name it will write, the checkpoint config's threshold and face-crop size, and parity
photos that decode."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from fault_helpers import run_cli

pytest.importorskip("torch", reason="wds-edge export needs torch")

SIZE = 64


def _checkpoint(path: Path, **config: object) -> Path:
    """An untrained base-8 checkpoint whose config says ``config`` (64 px face crops)."""
    import torch

    from wds_edge_train.checkpoint import save_checkpoint
    from wds_edge_train.model import WrinkleUNet

    torch.manual_seed(0)
    settings = {"loss": "wds", "face_crop_px": SIZE, **config}
    return save_checkpoint(path, model=WrinkleUNet(4, 8), config=settings, metrics={}, epoch=1)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _checkpoint(tmp_path_factory.mktemp("ckpt") / "c.pt")


def _props(path: Path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def test_triton_is_checked_in_the_folder_of_the_model_name(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: with --model-name X the pre-check looked at DIR/wds-unet/1, not DIR/X/1: an
    existing X version was found only after --out had been replaced, and an existing
    wds-unet version refused an export that would not touch it."""
    out = tmp_path / "m.onnx"
    out.write_bytes(b"the previous model")
    triton = tmp_path / "triton"
    served = triton / "kiosk-a" / "1" / "model.onnx"
    served.parent.mkdir(parents=True)
    served.write_bytes(b"the served model")
    base = ["export", "--checkpoint", checkpoint, "--out", out, "--no-parity", "--triton", triton]
    code, _, err = run_cli(capsys, *base, "--model-name", "kiosk-a")
    assert code == 2 and f"{served} exists; pass --force" in err, err
    assert out.read_bytes() == b"the previous model"
    assert served.read_bytes() == b"the served model"
    other = triton / "wds-unet" / "1" / "model.onnx"  # another model's version: not touched
    other.parent.mkdir(parents=True)
    other.write_bytes(b"another model")
    code, _, err = run_cli(capsys, *base, "--model-name", "kiosk-b")
    assert code == 0, err
    assert (triton / "kiosk-b" / "1" / "model.onnx").read_bytes() == out.read_bytes()
    assert other.read_bytes() == b"another model"


def test_the_training_threshold_goes_into_the_metadata(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: the checkpoint config's threshold (TrainConfig.threshold) was ignored:
    the metadata said 0.5, so the kiosk marked wrinkles at another threshold than the one
    the model was validated at. An explicit --threshold still wins."""
    ckpt = _checkpoint(tmp_path / "t.pt", threshold=0.35)
    out = tmp_path / "m.onnx"
    code, _, err = run_cli(capsys, "export", "--checkpoint", ckpt, "--out", out, "--no-parity")
    assert code == 0, err
    assert float(_props(out)["threshold"]) == pytest.approx(0.35)
    code, _, err = run_cli(capsys, "export", "--checkpoint", ckpt, "--out", out, "--no-parity",
                           "--threshold", "0.6")  # fmt: skip
    assert code == 0, err
    assert float(_props(out)["threshold"]) == pytest.approx(0.6)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"face_crop_px": "256"}, "face_crop_px is '256' (str), expected a whole number"),
        ({"face_crop_px": 0}, "face_crop_px is 0 (int)"),
        ({"threshold": "0.4"}, "threshold is '0.4' (str), expected a number between 0 and 1"),
        ({"threshold": 1.5}, "threshold is 1.5 (float)"),
    ],
)
def test_a_malformed_checkpoint_config_is_one_line(
    config: dict[str, object], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: face_crop_px "256" (a string) ended in a TypeError traceback."""
    ckpt = _checkpoint(tmp_path / "bad.pt", **config)
    out = tmp_path / "m.onnx"
    code, _, err = run_cli(capsys, "export", "--checkpoint", ckpt, "--out", out, "--no-parity")
    assert code == 2, err
    assert "the checkpoint's config is malformed" in err and message in err, err
    assert not out.exists()


def test_an_undecodable_parity_photo_is_refused_before_the_export(
    checkpoint: Path, faces_dir: Path, landmarker_path: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Defect: a parity photo that does not decode failed the command only after the whole
    export, without saying --no-parity skips the report."""
    import wds_edge_export.onnx_export as onnx_export

    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "biden2.jpg").write_bytes((faces_dir / "biden2.jpg").read_bytes())
    (photos / "broken.jpg").write_bytes(b"not a jpeg at all")
    exported: list[object] = []
    real_export_model = onnx_export.export_model

    def spy(*args: object, **kwargs: object) -> object:
        exported.append(args)
        return real_export_model(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(onnx_export, "export_model", spy)
    out = tmp_path / "m.onnx"
    code, _, err = run_cli(capsys, "export", "--checkpoint", checkpoint, "--out", out,
                           "--parity-images", photos, "--landmarker", landmarker_path)  # fmt: skip
    assert code == 2, err
    assert "broken.jpg" in err and "--no-parity" in err, err
    assert not exported and not out.exists()  # refused before anything was exported


def test_the_export_help_names_only_train_options_that_exist() -> None:
    """Defect: `export --help` said the default threshold came from `wds-edge train
    --threshold`, an option train does not have (only --mask-threshold, another thing)."""
    import re

    from typer.testing import CliRunner

    from wds_edge.cli import app

    runner = CliRunner()
    output = runner.invoke(app, ["export", "--help"]).output
    export_help = " ".join(output.replace("│", " ").split())
    train_help = runner.invoke(app, ["train", "--help"]).output
    named = re.findall(r"wds-edge train (--[a-z-]+)", export_help)
    assert [o for o in named if o not in train_help] == []
    assert "checkpoint config's threshold" in export_help
