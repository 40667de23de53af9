"""'wds-edge eval' scored whatever files carry the run's validation names: a checkpoint trained
on DRIVE 21-24 evaluated with --data holding DRIVE 31-34 under the names 21-24 reported their
scores as the run's validation figures. A run records its validation / test images' digests
and eval warns (log and "warnings") when a named image holds other files; a checkpoint from
before has only its data folder's digest, which is compared instead. Real tiny training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge_train.evaluate import evaluate_checkpoint
from wds_edge_train.loop import TrainConfig, train

NAMES = (("images", "{}_training.tif"), ("1st_manual", "{}_manual1.gif"),
         ("mask", "{}_training_mask.gif"))  # fmt: skip


def _drive(root: Path, drive_dir: Path, offset: int = 0) -> Path:
    """DRIVE layout named 21-24, its files those of 21+offset ... (links)."""
    for sub, _ in NAMES:
        (root / sub).mkdir(parents=True)
    for n in range(21, 25):
        for sub, name in NAMES:
            (root / sub / name.format(n)).symlink_to(drive_dir / sub / name.format(n + offset))
    return root


def _eval(checkpoint: Path, data: Path) -> dict:
    return evaluate_checkpoint(checkpoint, data, device="cpu", split="auto")  # eval's default


@pytest.fixture(scope="module")
def trained(drive_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("named")
    data = _drive(root / "data", drive_dir)
    tiny = {"base_channels": 4, "crop_size": 64, "batch_size": 2, "val_count": 1}
    train(TrainConfig(data=str(data), out=str(root / "run"), epochs=1, tensorboard=False,
                      device="cpu", **tiny))  # fmt: skip
    return data, root / "run"


def test_other_images_under_the_validation_names_are_warned_about(
    trained: tuple[Path, Path], drive_dir: Path, tmp_path: Path
) -> None:
    data, run = trained
    config = json.loads((run / "config.json").read_text())
    (val,) = json.loads((run / "folds.json").read_text())["val"]
    assert set(config["split_digests"]["val"]) == {val}
    assert "warnings" not in _eval(run / "best.pt", data)
    other = _drive(tmp_path / "other", drive_dir, offset=10)
    result = _eval(run / "best.pt", other)
    assert result["split"] == "val" and result["images"] == [val]
    (warning,) = result["warnings"]
    assert f"{val} (image, mask, fov)" in warning and "not the run's val scores" in warning
    # the CLI's JSON carries it
    cli = CliRunner().invoke(app, ["eval", "--checkpoint", str(run / "best.pt"), "--data",
                                   str(other), "--device", "cpu", "--json"])  # fmt: skip
    assert cli.exit_code == 0, cli.output
    assert "not the run's val scores" in json.loads(cli.stdout.splitlines()[-1])["warnings"][0]


def test_a_checkpoint_without_image_digests_compares_its_data_folder(
    trained: tuple[Path, Path], drive_dir: Path, tmp_path: Path
) -> None:
    data, run = trained
    raw = torch.load(run / "best.pt", weights_only=True)
    del raw["config"]["split_digests"]
    old = tmp_path / "old.pt"
    torch.save(raw, old)
    assert "warnings" not in _eval(old, data)
    other = _drive(tmp_path / "other", drive_dir, offset=10)
    (warning,) = _eval(old, other)["warnings"]
    assert "records no per-image digests" in warning and str(data.resolve()) in warning
