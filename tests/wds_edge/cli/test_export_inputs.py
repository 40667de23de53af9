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
