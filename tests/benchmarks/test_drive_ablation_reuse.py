"""benchmarks/drive_ablation.py keeps a finished run only when it was trained with the
settings asked: it reused any run of the same (seed, mode, dice) whatever --epochs / --base /
--crop-size / --pad-584 said, and titled the table with the new flags. Real training, tiny
(base 4, 64 px crops, 1-2 epochs on 6 DRIVE images)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from repo_scripts import load_script


@pytest.fixture(scope="module")
def drive6(drive_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DRIVE layout (symlinks) with 6 images: 2 train + the script's 4 validation images."""
    root = tmp_path_factory.mktemp("drive6")
    for sub in ("images", "1st_manual", "mask"):
        (root / sub).mkdir()
    for n in range(21, 27):
        for sub, name in (("images", f"{n}_training.tif"), ("1st_manual", f"{n}_manual1.gif"),
                          ("mask", f"{n}_training_mask.gif")):  # fmt: skip
            (root / sub / name).symlink_to(drive_dir / sub / name)
    return root


def test_a_finished_run_of_other_settings_is_refused_not_reused(
    drive6: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    bench = load_script("benchmarks/drive_ablation.py", register=True)
    out = tmp_path / "out"

    def run(*extra: str) -> int:
        return bench.main(["--reduced", "--data", str(drive6), "--out", str(out), "--modes",
                           "plain", "--seeds", "0", "--base", "4", "--crop-size", "64",
                           "--device", "cpu", *extra])  # fmt: skip

    assert run("--epochs", "1") == 0
    results = out / "results.json"
    first = json.loads(results.read_text())
    (only,) = first["runs"]
    assert only["config"]["epochs"] == 1 and first["settings"]["epochs"] == 1
    assert first["machine"] == first["environment"]["cpu"]["model"] != "x86_64"
    capsys.readouterr()

    # other epochs: refused before anything trains, the results untouched
    with pytest.raises(SystemExit) as exc:
        run("--epochs", "2")
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert "epochs: run has 1, asked 2" in err and "--force-retrain" in err and "--out" in err
    assert json.loads(results.read_text()) == first

    # the same settings with --tta-flip: kept, and scored with TTA now
    assert run("--epochs", "1", "--tta-flip") == 0
    (kept,) = json.loads(results.read_text())["runs"]
    assert kept["wall_s"] == only["wall_s"] and "best_tta_flip" in kept
    assert "finished earlier, TTA scored" in capsys.readouterr().out

    # --force-retrain: trained again with the new settings; the title says what the runs had
    assert run("--epochs", "2", "--force-retrain") == 0
    again = json.loads(results.read_text())
    (new,) = again["runs"]
    assert new["config"]["epochs"] == 2 and again["settings"]["epochs"] == 2
    assert "epochs 2" in capsys.readouterr().out


def test_the_title_names_what_the_runs_share() -> None:
    bench = load_script("benchmarks/drive_ablation.py", register=True)

    def record(epochs: int, mode: str) -> dict:
        config = {"base_channels": 4, "crop_size": 64, "epochs": epochs, "batch_size": 4,
                  "recipe": "project", "augment": "paper", "out": f"runs/{mode}"}  # fmt: skip
        return {"seed": 0, "mode": mode, "dice": "binary", "augment": "paper",
                "pad_584": False, "config": config}  # fmt: skip

    common, differ = bench.describe_runs([record(25, "plain"), record(50, "wds")])
    assert differ == ["epochs"]  # a column of its own, not the title's
    assert common["base_channels"] == 4 and "epochs" not in common and common["dice"] == "binary"


def test_a_finished_run_on_other_data_is_refused(
    drive6: Path, drive_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A finished run was kept (and paired with new runs) whatever --data held: the data is
    not among run_settings. Other images under the same names are refused like another
    setting; a copy of the same files elsewhere is the same data and is kept."""
    pytest.importorskip("torch")
    bench = load_script("benchmarks/drive_ablation.py", register=True)
    out = tmp_path / "out"
    other = tmp_path / "other"  # the same names 21-26, DRIVE 31-36's files
    copy = tmp_path / "copy"  # the same files as drive6
    for sub in ("images", "1st_manual", "mask"):
        (other / sub).mkdir(parents=True)
        (copy / sub).mkdir(parents=True)
    for n in range(21, 27):
        for sub, name in (("images", "{}_training.tif"), ("1st_manual", "{}_manual1.gif"),
                          ("mask", "{}_training_mask.gif")):  # fmt: skip
            (other / sub / name.format(n)).symlink_to(drive_dir / sub / name.format(n + 10))
            (copy / sub / name.format(n)).symlink_to(drive_dir / sub / name.format(n))

    def run(data: Path, *extra: str) -> int:
        return bench.main(["--reduced", "--data", str(data), "--out", str(out), "--modes",
                           "plain", "--seeds", "0", "--base", "4", "--crop-size", "64",
                           "--device", "cpu", "--epochs", "1", *extra])  # fmt: skip

    assert run(drive6) == 0
    results = out / "results.json"
    first = json.loads(results.read_text())
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        run(other)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "data: the run trained on" in err
    assert "other file content" in err and "--force-retrain" in err
    assert json.loads(results.read_text()) == first
    assert run(copy) == 0  # moved copy: kept, not trained again
    assert "finished earlier, kept" in capsys.readouterr().out
    assert json.loads(results.read_text())["runs"] == first["runs"]


def test_an_interrupted_run_is_not_resumed_to_fewer_epochs(
    drive6: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A queue run interrupted after epoch 1 of 3 and resumed with --epochs 2 finished as a
    '2-epoch run' whose first epoch followed the 3-epoch cosine. Refused (the loop's check)."""
    pytest.importorskip("torch")
    from wds_edge_train.config import TrainConfig
    from wds_edge_train.loop import TrainProgress, train

    bench = load_script("benchmarks/drive_ablation.py", register=True)
    out = tmp_path / "out"
    config = TrainConfig.from_recipe(
        "project", data=str(drive6), out=str(out / "seed0" / "plain"), loss="plain",
        dice="binary", seed=0, split_seed=0, val_count=4, device="cpu", tensorboard=False,
        augment="paper", base_channels=4, crop_size=64, epochs=3, batch_size=4,
    )  # fmt: skip

    class Stop(Exception):
        pass

    def stop(event: TrainProgress) -> None:
        if event.kind == "epoch" and event.epoch == 1:
            raise Stop

    with pytest.raises(Stop):
        train(config, progress=stop)
    args = ["--reduced", "--data", str(drive6), "--out", str(out), "--modes", "plain",
            "--seeds", "0", "--base", "4", "--crop-size", "64", "--device", "cpu"]  # fmt: skip
    with pytest.raises(SystemExit) as exc:
        bench.main([*args, "--epochs", "2"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "interrupted after epoch 1 of 3" in err
