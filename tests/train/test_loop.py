"""Training on real DRIVE images on the CPU: loss goes down, files, resume, CLI eval."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.errors import DataError, InvalidInputError, ModelError
from wds_edge_train.checkpoint import OutputKindError, load_checkpoint
from wds_edge_train.data import discover_samples, load_sample
from wds_edge_train.dataset import CropDataset
from wds_edge_train.loop import TrainConfig, TrainProgress, train
from wds_edge_train.losses import DeepSupervisionLoss
from wds_edge_train.model import WrinkleUNet

TINY = {"base_channels": 8, "crop_size": 128, "batch_size": 2, "val_count": 1, "tensorboard": False}


def _rows(run: Path) -> list[dict[str, str]]:
    with open(run / "log.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def cli_run(drive_small: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny run through the CLI: base 8, crop 128, 2 train images, 6 epochs x 1 step."""
    run = tmp_path_factory.mktemp("run") / "wds"
    result = CliRunner().invoke(app, [
        "train", "--data", str(drive_small), "--out", str(run), "--base", "8",
        "--crop-size", "128", "--batch-size", "2", "--val-count", "1", "--epochs", "6",
        "--augment", "none", "--device", "cpu",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    return run


def test_fixed_batch_loss_goes_down(drive_small: Path) -> None:
    _, samples = discover_samples(drive_small)
    ds = CropDataset([load_sample(s) for s in samples[:2]], 128, augment="none", seed=0)
    x, m, f = (torch.stack(t) for t in zip(*(ds[i] for i in range(2)), strict=True))
    torch.manual_seed(0)
    net, loss_fn = WrinkleUNet(4, 8).train(), DeepSupervisionLoss("wds")
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    losses = []
    for _ in range(10):
        loss = loss_fn(net(x), m, f)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0], losses


def test_trained_model_fits_training_images_better(cli_run: Path, drive_small: Path) -> None:
    """The run's loss goes down: its last model scores a lower loss on training crops than
    the same seeded initial model (train-mode BatchNorm, crops the run never drew)."""
    splits = json.loads((cli_run / "folds.json").read_text())
    _, samples = discover_samples(drive_small)
    train_set = [load_sample(s) for s in samples if s.stem in splits["train"]]
    ds = CropDataset(train_set, 128, augment="none", seed=99)
    x, m, f = (torch.stack(t) for t in zip(*(ds[i] for i in range(len(ds))), strict=True))
    torch.manual_seed(0)  # the loop seeds torch with --seed (0) right before building the net
    initial = WrinkleUNet(4, 8).train()
    last = load_checkpoint(cli_run / "last.pt").model.train()
    loss_fn = DeepSupervisionLoss("wds")
    with torch.no_grad():
        assert loss_fn(last(x), m, f).item() < loss_fn(initial(x), m, f).item()


def test_run_folder_and_validation_loss(cli_run: Path) -> None:
    names = {p.name for p in cli_run.iterdir()}
    assert {"best.pt", "last.pt", "config.json", "folds.json", "log.csv", "metrics.json"} <= names
    rows = _rows(cli_run)
    assert [int(r["epoch"]) for r in rows] == list(range(1, 7))
    assert all(float(r["val_loss"]) > 0 for r in rows)
    assert float(rows[0]["lr"]) == pytest.approx(0.01)
    assert float(rows[1]["lr"]) < float(rows[0]["lr"])  # cosine annealing
    folds = json.loads((cli_run / "folds.json").read_text())
    assert len(folds["train"]) == 2 and len(folds["val"]) == 1 and folds["test"] == []
    config = json.loads((cli_run / "config.json").read_text())
    assert config["data"]["layout"] == "drive" and config["loss"] == "wds"
    # AMP is asked for by default but runs only on CUDA: the provenance says what ran
    (prov,) = config["provenance"]
    assert config["amp"] is True and prov["amp"] is False and prov["device"] == "cpu"


def test_checkpoint_metadata_and_selection(cli_run: Path) -> None:
    best = load_checkpoint(cli_run / "best.pt")
    rows = _rows(cli_run)
    jsis = [float(r["val_jsi"]) for r in rows]
    assert best.metrics["best_epoch"] == best.epoch == 1 + jsis.index(max(jsis))
    assert best.metrics["val"]["jsi"] == pytest.approx(max(jsis))
    splits = json.loads((cli_run / "folds.json").read_text())
    assert best.metrics["split"] == "val" and best.metrics["val_images"] == splits["val"]
    assert best.raw["extra"]["splits"]["val"] == splits["val"]
    for key in (
        "base_channels",
        "activation",
        "loss",
        "epochs",
        "crop_size",
        "data",
        "fold",
        "folds",
        "seed",
    ):
        assert key in best.config
    assert best.model_config["base_channels"] == 8


def test_eval_cli_json(cli_run: Path, drive_small: Path) -> None:
    result = CliRunner().invoke(app, [
        "eval", "--checkpoint", str(cli_run / "best.pt"), "--data", str(drive_small),
        "--json", "--split", "val", "--device", "cpu",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    obj = json.loads(result.output)
    best = load_checkpoint(cli_run / "best.pt")
    for k in ("jsi", "accuracy", "sensitivity", "specificity"):
        assert 0.0 <= obj[k] <= 1.0
        assert obj[k] == pytest.approx(best.metrics["val"][k], abs=1e-9)
    assert obj["images"] == best.metrics["val_images"]


def test_existing_run_needs_resume(cli_run: Path, drive_small: Path) -> None:
    with pytest.raises(InvalidInputError, match="--resume"):
        train(TrainConfig(data=str(drive_small), out=str(cli_run), **TINY))


class _Interrupt(Exception):
    pass


def test_resume_continues_exactly(drive_small: Path, tmp_path: Path) -> None:
    cfg = {**TINY, "data": str(drive_small), "epochs": 3}
    train(TrainConfig(out=str(tmp_path / "a"), **cfg))

    def stop_after_two(event: TrainProgress) -> None:
        if event.kind == "epoch" and event.epoch == 2:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        train(TrainConfig(out=str(tmp_path / "b"), **cfg), progress=stop_after_two)
    assert load_checkpoint(tmp_path / "b" / "last.pt").epoch == 2
    train(TrainConfig(out=str(tmp_path / "b"), **cfg), resume=True)

    a, b = _rows(tmp_path / "a"), _rows(tmp_path / "b")
    assert [r["epoch"] for r in b] == ["1", "2", "3"]
    for key in ("lr", "train_loss", "val_loss", "val_jsi"):
        assert [r[key] for r in a] == [r[key] for r in b], key
    sa = load_checkpoint(tmp_path / "a" / "last.pt").model.state_dict()
    sb = load_checkpoint(tmp_path / "b" / "last.pt").model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)

    # extending the run: the cosine schedule is re-drawn for 4 epochs from epoch 3 on
    train(TrainConfig(out=str(tmp_path / "b"), **{**cfg, "epochs": 4}), resume=True)
    lrs = [float(r["lr"]) for r in _rows(tmp_path / "b")]
    # epoch 4 (index 3) of 4: 1e-6 + (0.01 - 1e-6) * (1 + cos(3 pi / 4)) / 2
    assert lrs[3] == pytest.approx(1e-6 + (0.01 - 1e-6) * (1 - 0.5**0.5) / 2)
    with pytest.raises(InvalidInputError, match="loss: run has 'wds', asked 'plain'"):
        train(TrainConfig(out=str(tmp_path / "b"), **{**cfg, "loss": "plain"}), resume=True)
    with pytest.raises(OutputKindError, match="--dice binary checkpoint .* --dice two-class"):
        train(TrainConfig(out=str(tmp_path / "b"), **{**cfg, "dice": "two-class"}), resume=True)


def test_resume_after_an_image_was_renamed_is_a_clear_error(
    drive_small: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(drive_small, data, symlinks=True)
    train(TrainConfig(data=str(data), out=str(tmp_path / "r"), epochs=1, **TINY))
    stem = json.loads((tmp_path / "r" / "folds.json").read_text())["train"][0]
    number = stem.split("_")[0]  # DRIVE: image, manual and FOV mask share the number
    for path in data.glob(f"*/{number}_*"):  # same count of images, one name changed
        path.rename(path.with_name("99" + path.name[len(number) :]))
    with pytest.raises(DataError, match=rf"not in it \({stem}\).*restore them"):
        train(TrainConfig(data=str(data), out=str(tmp_path / "r"), epochs=2, **TINY), resume=True)


def test_resume_refuses_another_process_count(
    drive_small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A one-process run resumed under torchrun with 2 processes would double the effective
    batch and halve the steps per epoch: refused, naming both counts; nothing is rewritten."""
    import torch.distributed as dist

    run = tmp_path / "r"
    train(TrainConfig(data=str(drive_small), out=str(run), epochs=1, **TINY))
    (prov,) = json.loads((run / "config.json").read_text())["provenance"]
    assert prov["world_size"] == 1
    before = (run / "config.json").read_bytes()
    monkeypatch.setenv("WORLD_SIZE", "2")  # what torchrun --nproc_per_node=2 sets (rank 0)
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setattr(dist, "is_initialized", lambda: True)  # no process group needed
    with pytest.raises(
        InvalidInputError,
        match=r"world_size: run has 1 training process\(es\), this start has 2 .*effective "
        r"batch.*without torchrun",
    ):
        train(TrainConfig(data=str(drive_small), out=str(run), epochs=2, **TINY), resume=True)
    assert (run / "config.json").read_bytes() == before


def test_resume_knows_its_data_by_content_not_by_the_path_typed(
    drive_small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    """The data path is stored resolved; a resume accepts the same folder however it is
    typed and a moved copy with the same files (with a note), and refuses other data with
    advice that can be followed (--data is required, it cannot be dropped): other names, or
    the same names with other content (relabelled masks, other images), in place or not."""
    shutil.copytree(drive_small, tmp_path / "data", symlinks=True)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "r"
    cfg = {**TINY, "out": str(run), "epochs": 1}  # resumed at epoch 1 of 1: no training
    train(TrainConfig(data="data", **cfg))
    saved = json.loads((run / "config.json").read_text())["data"]
    assert saved["path"] == str((tmp_path / "data").resolve())
    assert saved["n_images"] == 3 and len(saved["files_sha256"]) == 64
    train(TrainConfig(data=str(tmp_path / "data"), **cfg), resume=True)  # absolute
    monkeypatch.chdir(tmp_path / "sub")
    train(TrainConfig(data="../data", **cfg), resume=True)  # relative to another folder

    (tmp_path / "data").rename(tmp_path / "moved")
    with caplog.at_level("WARNING", logger="wds_edge_train.loop"):
        train(TrainConfig(data=str(tmp_path / "moved"), **cfg), resume=True)
    assert "now given as" in caplog.text and "same file names" in caplog.text
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["path"] == str((tmp_path / "moved").resolve())

    other = tmp_path / "other"  # one image fewer
    shutil.copytree(tmp_path / "moved", other, symlinks=True)
    for path in other.glob("*/23_*"):
        path.unlink()
    with pytest.raises(InvalidInputError) as err:
        train(TrainConfig(data=str(other), **cfg), resume=True)
    msg = str(err.value)
    run_data = str(tmp_path.resolve() / "data")  # last.pt's (no epoch ran since the move)
    assert (
        f"data: the run used {run_data} (3 drive-layout images), asked {other.resolve()} (2" in msg
    )
    assert "pass the run's data folder as --data" in msg and "drop those" not in msg
    shutil.copytree(tmp_path / "moved", tmp_path / "renamed", symlinks=True)
    for path in (tmp_path / "renamed").glob("*/23_*"):  # as many images, other names
        path.rename(path.with_name("24" + path.name[2:]))
    with pytest.raises(InvalidInputError, match="3 drive-layout images, other file names"):
        train(TrainConfig(data=str(tmp_path / "renamed"), **cfg), resume=True)

    # The same names, other content: relabelled in place, or a copy with other labels or
    # images (files_sha256 hashed only the names: both resumed, best.pt then compared JSI
    # across ground truths). The copies' files are symlinks into the shared DRIVE folder:
    # each is replaced by a file of its own before it is changed.
    def replace(path: Path, change) -> None:  # noqa: ANN001
        array = np.asarray(Image.open(path))
        path.unlink()
        Image.fromarray(change(array)).save(path)

    relabelled = tmp_path / "relabelled"
    shutil.copytree(tmp_path / "moved", relabelled, symlinks=True)
    replace(relabelled / "1st_manual" / "23_manual1.gif", np.fliplr)
    content = (
        rf"asked {relabelled.resolve()}: the same 3 drive-layout images by name, but the "
        r"content of its masks differs.*To resume, restore the files the run trained on.*"
        r"start a new --out"
    )
    with pytest.raises(InvalidInputError, match=content):
        train(TrainConfig(data=str(relabelled), **cfg), resume=True)
    other_images = tmp_path / "other_images"
    shutil.copytree(tmp_path / "moved", other_images, symlinks=True)
    replace(other_images / "images" / "21_training.tif", lambda a: a // 2)
    with pytest.raises(InvalidInputError, match=r"the content of its images differs"):
        train(TrainConfig(data=str(other_images), **cfg), resume=True)
    (tmp_path / "moved").rename(tmp_path / "data")  # the run's own folder, as it was
    train(TrainConfig(data=str(tmp_path / "data"), **cfg), resume=True)
    replace(tmp_path / "data" / "1st_manual" / "22_manual1.gif", np.flipud)
    replace(tmp_path / "data" / "mask" / "22_training_mask.gif", np.flipud)
    in_place = (
        r"data: the content of its masks, fov masks changed since the run started "
        rf"\({tmp_path.resolve() / 'data'}: the same 3 images by name\)"
    )
    with pytest.raises(InvalidInputError, match=in_place):
        train(TrainConfig(data=str(tmp_path / "data"), **{**cfg, "epochs": 2}), resume=True)
    assert load_checkpoint(run / "last.pt").epoch == 1  # nothing trained on the new labels


def test_resume_of_a_run_that_stored_the_path_as_typed(
    drive_small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs written before the path was resolved hold it as typed and no file-name digest:
    the same folder (resolved from here) or a copy with the same images still resumes."""
    shutil.copytree(drive_small, tmp_path / "data", symlinks=True)
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "r"
    cfg = {**TINY, "out": str(run), "epochs": 1}
    train(TrainConfig(data="data", **cfg))
    raw = torch.load(run / "last.pt", weights_only=True)
    raw["config"]["data"] = {"path": "data", "layout": "drive", "n_images": 3}
    torch.save(raw, run / "last.pt")
    train(TrainConfig(data=str(tmp_path / "data"), **cfg), resume=True)
    raw = torch.load(run / "last.pt", weights_only=True)
    raw["config"]["data"] = {"path": "data", "layout": "drive", "n_images": 3}
    torch.save(raw, run / "last.pt")
    shutil.copytree(tmp_path / "data", tmp_path / "copy", symlinks=True)
    train(TrainConfig(data=str(tmp_path / "copy"), **cfg), resume=True)


def test_kfold_run_scores_test_fold(drive_small: Path, tmp_path: Path) -> None:
    res = train(TrainConfig(data=str(drive_small), out=str(tmp_path / "cv"), epochs=1,
                            folds=3, fold=2, **{**TINY, "val_count": 1}))  # fmt: skip
    folds = json.loads((tmp_path / "cv" / "folds.json").read_text())
    assert len(folds["test"]) == 1 and len(folds["val"]) == 1 and len(folds["train"]) == 1
    assert res.metrics["test_images"] == folds["test"]
    assert set(res.metrics["test"]) == {"jsi", "accuracy", "sensitivity", "specificity"}
    assert load_checkpoint(res.best_path).metrics["test_images"] == folds["test"]


def test_bad_settings(drive_small: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="multiple of 16"):
        train(TrainConfig(data=str(drive_small), out=str(tmp_path / "x"), crop_size=100))
    with pytest.raises(InvalidInputError, match="--loss"):
        train(TrainConfig(data=str(drive_small), out=str(tmp_path / "x"), loss="dice"))


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["wds", "plain"])
def test_torchrun_ddp_on_cpu(drive_small: Path, tmp_path: Path, loss: str) -> None:
    """Two DDP processes (gloo on CPU) train together; only rank 0 writes the run folder.
    ``plain`` (the U-Net baseline) leaves heads 2-4 without gradient."""
    import shutil
    import subprocess
    import sys

    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        torchrun = Path(shutil.which("torchrun") or "torchrun")
    proc = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node=2", "-m", "wds_edge.cli", "train",
         "--data", str(drive_small), "--out", str(tmp_path / "ddp"), "--base", "8",
         "--crop-size", "64", "--epochs", "2", "--batch-size", "1", "--val-count", "1",
         "--device", "cpu", "--loss", loss],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((tmp_path / "ddp" / "config.json").read_text())["world_size"] == 2
    assert len(_rows(tmp_path / "ddp")) == 2
    assert load_checkpoint(tmp_path / "ddp" / "best.pt").epoch >= 1


def test_generic_layout_with_fov_trains(tmp_path: Path) -> None:
    """The layout 'wds-edge label' writes (images/, masks/, fov/) trains and evaluates."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    for i in range(3):
        image = rng.integers(90, 160, (64, 64, 3), dtype=np.uint8)
        mask = np.zeros((64, 64), np.uint8)
        cv2.line(mask, (5, 10 + 15 * i), (58, 20 + 10 * i), 255, 1)
        image[mask > 0] //= 2  # wrinkles are darker than the skin around them
        fov = np.zeros((64, 64), np.uint8)
        fov[4:60, 4:60] = 255
        for sub, arr in (("images", image), ("masks", mask), ("fov", fov)):
            (tmp_path / "data" / sub).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(tmp_path / "data" / sub / f"face{i}.png"), arr)
    res = train(TrainConfig(data=str(tmp_path / "data"), out=str(tmp_path / "run"), epochs=2,
                            **{**TINY, "crop_size": 64}))  # fmt: skip
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"]["layout"] == "generic" and res.best_epoch in (1, 2)
    assert set(res.metrics["val"]) == {"jsi", "accuracy", "sensitivity", "specificity"}


def test_cli_train_reports_bad_data(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    result = CliRunner().invoke(
        app, ["train", "--data", str(tmp_path), "--out", str(tmp_path / "r")]
    )
    assert "no images found" in str(result.exception)
    result = CliRunner().invoke(
        app, ["train", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--crop-size", "100"]
    )
    assert "multiple of 16" in str(result.exception)


def test_a_last_batch_of_one_image_is_dropped(tmp_path: Path) -> None:
    """5 training images in batches of 4: one step per epoch, the lone fifth image is left
    for another epoch (a step on one image is the noisiest BatchNorm gets); 6 keep their
    4 + 2; a single training image is still trained on."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    for i in range(8):
        image = rng.integers(90, 160, (48, 48, 3), dtype=np.uint8)
        mask = np.zeros((48, 48), np.uint8)
        cv2.line(mask, (4, 8 + 4 * i), (44, 12 + 4 * i), 255, 1)
        for sub, arr in (("images", image), ("masks", mask)):
            (tmp_path / "data" / sub).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(tmp_path / "data" / sub / f"p{i}.png"), arr)
    for n_val, batch, steps in ((3, 4, 1), (2, 4, 2), (7, 4, 1), (3, 5, 1)):
        seen: list[TrainProgress] = []
        run = tmp_path / f"run{n_val}-{batch}"
        cfg = {**TINY, "crop_size": 32, "val_count": n_val, "batch_size": batch}
        train(TrainConfig(data=str(tmp_path / "data"), out=str(run), epochs=1, **cfg),
              progress=seen.append)  # fmt: skip
        assert [e.steps for e in seen if e.kind == "start"] == [steps], (n_val, batch)
        assert len([e for e in seen if e.kind == "step"]) == steps, (n_val, batch)


def _generic_data(root: Path, stems: list[str], size: int = 32) -> Path:
    """images/ + masks/ of the generic layout: noise with one dark line per image."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    for sub in ("images", "masks"):
        (root / sub).mkdir(parents=True)
    for i, stem in enumerate(stems):
        image = rng.integers(90, 160, (size, size, 3), dtype=np.uint8)
        mask = np.zeros((size, size), np.uint8)
        mask[4 + i % (size - 8), 3 : size - 3] = 255
        image[mask > 0] //= 2
        cv2.imwrite(str(root / "images" / f"{stem}.png"), image)
        cv2.imwrite(str(root / "masks" / f"{stem}.png"), mask)
    return root


VIDEO_FRAMES = [f"clip{v}_f{10 * i:06d}" for v in range(4) for i in range(3)]


def test_frames_of_one_video_share_a_split_and_folds_json_lists_the_groups(
    tmp_path: Path,
) -> None:
    """frames --every 10 -> label -> train --folds: a video's frames (one person, near
    identical) are never in two of train / val / test; folds.json records the groups."""
    data = _generic_data(tmp_path / "data", [*VIDEO_FRAMES, "photo_a", "photo_b"])
    cfg = {**TINY, "crop_size": 32, "val_count": None, "epochs": 1}
    train(TrainConfig(data=str(data), out=str(tmp_path / "cv"), folds=3, fold=1, **cfg))
    folds = json.loads((tmp_path / "cv" / "folds.json").read_text())
    assert folds["grouping"]["rule"] == "video" and folds["grouping"]["n_groups"] == 6
    assert folds["groups"]["clip2"] == ["clip2_f000000", "clip2_f000010", "clip2_f000020"]
    assert folds["groups"]["photo_a"] == ["photo_a"]
    seen: dict[str, set[str]] = {}
    for split in ("train", "val", "test"):
        for stem in folds[split]:
            seen.setdefault(stem.split("_f")[0], set()).add(split)
    assert all(len(splits) == 1 for splits in seen.values()), seen
    assert folds["test"] and folds["val"] and folds["train"]
    config = json.loads((tmp_path / "cv" / "config.json").read_text())
    assert config["grouping"] == folds["grouping"] and config["groups"] is None


def test_resume_detects_other_groups(tmp_path: Path) -> None:
    data = _generic_data(tmp_path / "data", ["anna_1", "anna_2", "bob_1", "bob_2", "carl_1"])
    people = tmp_path / "people.csv"
    people.write_text("image,group\nanna_1,anna\nanna_2,anna\nbob_1,bob\nbob_2,bob\ncarl_1,carl\n")
    cfg = {**TINY, "crop_size": 32, "epochs": 1, "data": str(data), "out": str(tmp_path / "r")}
    train(TrainConfig(groups=str(people), **cfg))
    folds = json.loads((tmp_path / "r" / "folds.json").read_text())
    assert folds["grouping"]["rule"] == "csv" and len(folds["groups"]) == 3
    train(TrainConfig(groups=str(people), **cfg), resume=True)  # the same groups
    people.write_text("anna_1,anna\nanna_2,anna\nbob_1,bob\nbob_2,bob2\ncarl_1,carl\n")
    changed = r"grouping: the run's images were 3 groups \(csv\), now 4 \(csv\).*the --groups"
    with pytest.raises(InvalidInputError, match=changed):
        train(TrainConfig(groups=str(people), **cfg), resume=True)
    with pytest.raises(InvalidInputError, match=r"group_by: run has None, asked"):
        train(TrainConfig(group_by=r"^(.+)_\d$", **cfg), resume=True)


def test_a_run_split_before_groups_existed_resumes_with_its_splits(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Its config has no grouping and its splits were cut image by image: it resumes with
    them, says that frames of one video may be in several splits, and records rule 'image'."""
    data = _generic_data(tmp_path / "data", VIDEO_FRAMES)
    run = tmp_path / "r"
    cfg = {**TINY, "crop_size": 32, "data": str(data), "out": str(run)}
    train(TrainConfig(epochs=1, **cfg))
    raw = torch.load(run / "last.pt", weights_only=True)
    del raw["config"]["grouping"]
    # cut image by image: frames of clip3 in train and val
    raw["extra"]["splits"] = {"train": VIDEO_FRAMES[:10], "val": VIDEO_FRAMES[10:], "test": []}
    torch.save(raw, run / "last.pt")
    with caplog.at_level("WARNING", logger="wds_edge_train.loop"):
        train(TrainConfig(epochs=2, **cfg), resume=True)
    assert "started before splits were cut by video / person" in caplog.text
    assert "(12 images are 4 groups)" in caplog.text
    folds = json.loads((run / "folds.json").read_text())
    assert folds["train"] == VIDEO_FRAMES[:10] and folds["val"] == VIDEO_FRAMES[10:]
    assert folds["grouping"]["rule"] == "image" and folds["grouping"]["n_groups"] == 12
    train(TrainConfig(epochs=3, **cfg), resume=True)  # and again, now with rule 'image'
    assert len(_rows(run)) == 3


def test_a_moved_groups_file_resumes_from_its_new_path(tmp_path: Path) -> None:
    """The run's --groups path is not compared on resume (the grouping digest checks its
    rows): a moved file is passed anew and recorded; the old path, gone, says so."""
    data = _generic_data(tmp_path / "data", ["anna_1", "anna_2", "bob_1", "bob_2", "carl_1"])
    people = tmp_path / "people.csv"
    people.write_text("anna_1,anna\nanna_2,anna\nbob_1,bob\nbob_2,bob\ncarl_1,carl\n")
    run = tmp_path / "r"
    cfg = {**TINY, "crop_size": 32, "data": str(data), "out": str(run)}
    train(TrainConfig(groups=str(people), epochs=1, **cfg))
    (tmp_path / "moved").mkdir()
    moved = people.rename(tmp_path / "moved" / "people.csv")
    with pytest.raises(InvalidInputError, match=r"groups file .*people\.csv is not there any "
                       r"more .*pass --groups NEWPATH"):  # fmt: skip
        train(TrainConfig(groups=str(people), epochs=2, **cfg), resume=True)
    train(TrainConfig(groups=str(moved), epochs=2, **cfg), resume=True)
    assert json.loads((run / "config.json").read_text())["groups"] == str(moved.resolve())
    assert len(_rows(run)) == 2


def test_resume_from_a_checkpoint_without_optimizer_state_is_a_clear_error(
    drive_small: Path, tmp_path: Path
) -> None:
    """best.pt copied over a lost last.pt has weights only: --resume was an AttributeError."""
    run = tmp_path / "r"
    cfg = {**TINY, "data": str(drive_small), "out": str(run)}
    train(TrainConfig(epochs=1, **cfg))
    shutil.copyfile(run / "best.pt", run / "last.pt")
    no_state = r"last\.pt holds no optimizer state .*lacks optimizer, scheduler.*a best\.pt copied"
    with pytest.raises(ModelError, match=no_state):
        train(TrainConfig(epochs=2, **cfg), resume=True)
    raw = torch.load(run / "best.pt", weights_only=True)
    raw["optimizer"], raw["scheduler"] = {"state": {}}, {"last_epoch": 1}
    del raw["extra"]["splits"]
    torch.save(raw, run / "last.pt")
    with pytest.raises(ModelError, match=r"lacks extra\.splits"):
        train(TrainConfig(epochs=2, **cfg), resume=True)


def test_a_new_run_writes_only_to_a_folder_of_its_own(tmp_path: Path) -> None:
    """--out that held other files had its config.json / log.csv / ... overwritten, and --out
    could be the data folder; a run folder whose run failed before last.pt starts again."""
    data = _generic_data(tmp_path / "data", [f"p{i}" for i in range(4)])
    cfg = {**TINY, "crop_size": 32, "epochs": 1, "data": str(data)}
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text('{"mine": true}')
    with pytest.raises(InvalidInputError, match=r"already holds files and is not a training run "
                       r"folder.*choose a new or empty folder"):  # fmt: skip
        train(TrainConfig(out=str(other), **cfg))
    assert (other / "config.json").read_text() == '{"mine": true}'
    assert sorted(p.name for p in other.iterdir()) == ["config.json"]
    for out, where in ((data, "is the data folder"), (data / "run", "lies inside the data folder"),
                       (tmp_path, "holds the data folder")):  # fmt: skip
        with pytest.raises(InvalidInputError, match=rf"--out .* {where} --data .*apart from"):
            train(TrainConfig(out=str(out), **cfg))
    assert not (data / "run").exists() and not (data / "config.json").exists()

    def fail_at_start(event: TrainProgress) -> None:
        if event.kind == "start":
            raise _Interrupt

    run = tmp_path / "run"
    with pytest.raises(_Interrupt):
        train(TrainConfig(out=str(run), **cfg), progress=fail_at_start)
    assert (run / "config.json").is_file() and not (run / "last.pt").exists()
    train(TrainConfig(out=str(run), **cfg))  # started again
    assert len(_rows(run)) == 1


def test_a_torchrun_process_refuses_a_device_this_machine_lacks(
    drive_small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--device under torchrun was ignored (cuda:3 trained on the CPU of a machine without
    a GPU): it is resolved before the process group starts."""
    monkeypatch.setenv("WORLD_SIZE", "2")  # what torchrun --nproc_per_node=2 sets (rank 0)
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    missing = f"cuda:{torch.cuda.device_count() + 3}"
    with pytest.raises(InvalidInputError, match=rf"--device {missing}\b.*torch sees"):
        train(TrainConfig(data=str(drive_small), out=str(tmp_path / "r"), epochs=1,
                          device=missing, **TINY))  # fmt: skip
    assert not (tmp_path / "r").exists()


def test_recipes_share_their_folds_and_old_runs_keep_theirs(tmp_path: Path) -> None:
    """The official recipe's seed 43 redrew the folds: per-fold comparisons with the project
    recipe were unpaired. The splits come from split_seed (recorded); a run written before it
    (split with its seed) resumes, from the CLI too, and keeps its splits."""
    from wds_edge_train.folds import make_splits

    stems = [f"p{i:02d}" for i in range(12)]
    data = _generic_data(tmp_path / "data", stems)
    cfg = {**TINY, "crop_size": 32, "epochs": 1, "val_count": 2, "folds": 3, "fold": 0,
           "data": str(data)}  # fmt: skip
    for recipe in ("project", "official"):
        train(TrainConfig.from_recipe(recipe, out=str(tmp_path / recipe), **cfg))
    project, official = (
        json.loads((tmp_path / r / "folds.json").read_text()) for r in ("project", "official")
    )
    assert official["seed"] == 43 and official["split_seed"] == project["split_seed"] == 0
    for split in ("train", "val", "test"):
        assert official[split] == project[split], split
    drawn = make_splits(stems, seed=0, folds=3, fold=0, val_count=2)
    assert drawn["test"] == official["test"]
    assert make_splits(stems, seed=43, folds=3, fold=0, val_count=2)["test"] != drawn["test"]
    assert json.loads((tmp_path / "official" / "config.json").read_text())["split_seed"] == 0

    # a run from before split_seed: split with its seed 43, which config.json does not name
    run = tmp_path / "official"
    old = make_splits(stems, seed=43, folds=3, fold=0, val_count=2)
    raw = torch.load(run / "last.pt", weights_only=True)
    del raw["config"]["split_seed"]
    raw["extra"]["splits"] = old
    torch.save(raw, run / "last.pt")
    config = json.loads((run / "config.json").read_text())
    del config["split_seed"]
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(InvalidInputError, match="split_seed: run has 43, asked 0"):
        train(TrainConfig.from_recipe("official", out=str(run), **{**cfg, "epochs": 2}),
              resume=True)  # fmt: skip
    result = CliRunner().invoke(app, ["train", "--data", str(data), "--out", str(run),
                                      "--epochs", "2", "--resume"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((run / "config.json").read_text())["split_seed"] == 43
    folds = json.loads((run / "folds.json").read_text())
    assert folds["split_seed"] == 43 and folds["test"] == old["test"] and len(_rows(run)) == 2


def test_a_run_with_a_zone_weight_but_no_zones_still_resumes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Runs started before a zone weight needed zones/ masks could have one on data without
    them (it weighed nothing): they resume, with its config.json's weight (the CLI's default
    on resume) or with --zone-weight 1, saying so; a new run with it is still refused."""
    data = _generic_data(tmp_path / "data", ["a", "b", "c", "d"])
    run = tmp_path / "r"
    cfg = {**TINY, "crop_size": 32, "data": str(data), "out": str(run)}
    train(TrainConfig(epochs=1, **cfg))
    raw = torch.load(run / "last.pt", weights_only=True)  # as such a run wrote it
    raw["config"]["zone_weight"] = 2.0
    torch.save(raw, run / "last.pt")
    saved = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**saved, "zone_weight": 2.0}))
    with caplog.at_level("WARNING", logger="wds_edge_train.loop"):
        train(TrainConfig(epochs=2, zone_weight=2.0, **cfg), resume=True)
    assert "started with --zone-weight 2, but" in caplog.text
    assert "has no zones/ masks for it to act on: it never weighed anything" in caplog.text
    train(TrainConfig(epochs=3, zone_weight=1.0, **cfg), resume=True)
    assert len(_rows(run)) == 3
    assert json.loads((run / "config.json").read_text())["zone_weight"] == 2.0
    with pytest.raises(InvalidInputError, match=r"--zone-weight 2 needs the zones/ masks"):
        train(TrainConfig(epochs=1, zone_weight=2.0, **{**cfg, "out": str(tmp_path / "new")}))


def _blank_masks(data: Path, stems: list[str]) -> None:
    import cv2

    for stem in stems:
        mask = cv2.imread(str(data / "masks" / f"{stem}.png"), cv2.IMREAD_GRAYSCALE)
        cv2.imwrite(str(data / "masks" / f"{stem}.png"), mask * 0)


def test_a_validation_split_without_a_wrinkle_pixel_is_refused(tmp_path: Path) -> None:
    """Pooled JSI over no wrinkle pixel is 1.0 for a model that finds nothing (the metric's
    0/0 convention): best.pt locked onto the untrained epoch 1 ("best epoch 1 (validation
    JSI 1.0000)"). Refused before anything is written, naming the images and the way out."""
    from wds_edge_train.folds import image_groups, make_splits

    stems = ["anna", "bob", "carl", "dora", "eve"]
    data = _generic_data(tmp_path / "data", stems)
    val = make_splits(stems, seed=0, val_count=2, groups=image_groups(stems))["val"]
    _blank_masks(data, val)
    run = tmp_path / "r"
    cfg = {**TINY, "crop_size": 32, "val_count": 2, "epochs": 2, "data": str(data)}
    with pytest.raises(DataError) as err:
        train(TrainConfig(out=str(run), **cfg))
    msg = str(err.value)
    assert f"the 2 validation images ({', '.join(val)}) have no wrinkle pixel" in msg
    assert "validation JSI 1.0" in msg and "--split-seed" in msg and "--folds" in msg
    assert not run.exists()
    # another split seed draws validation images with wrinkles: trained, and not on JSI 1.0
    seed = next(
        s for s in range(1, 50)
        if not set(make_splits(stems, seed=s, val_count=2, groups=image_groups(stems))["val"])
        & set(val)
    )  # fmt: skip
    res = train(TrainConfig(out=str(run), split_seed=seed, **cfg))
    assert all(float(r["val_jsi"]) < 1.0 for r in _rows(run)) and res.best_epoch >= 1


def test_a_test_fold_without_a_wrinkle_pixel_is_refused(tmp_path: Path) -> None:
    """The test fold's JSI would read 1.0 for a model that finds nothing, as validation's."""
    from wds_edge_train.folds import image_groups, make_splits

    stems = [f"p{i}" for i in range(6)]
    data = _generic_data(tmp_path / "data", stems)
    splits = make_splits(stems, seed=0, folds=3, fold=0, val_count=1, groups=image_groups(stems))
    _blank_masks(data, splits["test"])
    cfg = {**TINY, "crop_size": 32, "epochs": 1, "data": str(data), "folds": 3, "fold": 0}
    with pytest.raises(DataError, match=r"the 2 test images \(.*\) of --fold 0 have no wrinkle"):
        train(TrainConfig(out=str(tmp_path / "r"), **cfg))


def test_training_data_without_a_wrinkle_pixel_is_refused(tmp_path: Path) -> None:
    """Every mask empty (labels drawn in a colour read as background, a wrong folder) trained
    without a word: there is nothing to learn."""
    stems = ["a", "b", "c", "d"]
    data = _generic_data(tmp_path / "data", stems)
    _blank_masks(data, stems)
    cfg = {**TINY, "crop_size": 32, "epochs": 1, "data": str(data)}
    with pytest.raises(DataError, match=r"none of the 4 masks .* has a wrinkle pixel"):
        train(TrainConfig(out=str(tmp_path / "r"), **cfg))
    assert not (tmp_path / "r").exists()


def test_selection_ties_keep_the_lower_loss_then_the_earliest_epoch() -> None:
    """The documented rule, on an exact tie: equal JSI -> lower loss wins; equal JSI and
    loss -> the earlier epoch (already best) is kept."""
    from wds_edge_train.loop import improves_on

    best = {"jsi": 0.5, "loss": 0.3, "epoch": 2}
    assert improves_on(0.6, 0.9, best)  # higher JSI, whatever the loss
    assert not improves_on(0.4, 0.1, best)  # lower JSI, whatever the loss
    assert improves_on(0.5, 0.2, best)  # tie on JSI: lower loss
    assert not improves_on(0.5, 0.4, best)  # tie on JSI: higher loss
    assert not improves_on(0.5, 0.3, best)  # exact tie: the earliest epoch stays
    assert improves_on(0.0, 5.0, {"jsi": -1.0, "loss": float("inf"), "epoch": 0})  # epoch 1


def test_metrics_json_is_the_best_models_and_an_unfinished_extension_has_none(
    tmp_path: Path,
) -> None:
    """metrics.json was written at the end only: a resume that extends the run and is
    interrupted left the old one (best epoch and figures of the shorter run) beside a
    best.pt / config.json that say otherwise. It is removed before more epochs train, and
    written at the end from best.pt: its val figures and best epoch, and the test fold
    scored with best.pt's weights (written from last.pt, every other test still passed)."""
    from wds_edge_train.evaluate import evaluate_samples

    stems = [f"p{i}" for i in range(6)]
    data = _generic_data(tmp_path / "data", stems)
    run = tmp_path / "r"
    cfg = {**TINY, "crop_size": 32, "data": str(data), "out": str(run), "folds": 3, "fold": 0}
    train(TrainConfig(epochs=1, **cfg))
    assert json.loads((run / "metrics.json").read_text())["best_epoch"] == 1
    # Epoch 1 made unbeatable (JSI 1.0 at loss 0: best.pt stays epoch 1 while last.pt goes
    # on to epoch 3), and best.pt's model one that marks every pixel: whose weights scored
    # the test fold shows in the figures.
    raw = torch.load(run / "last.pt", weights_only=True)
    raw["extra"]["best"] = {"jsi": 1.0, "loss": 0.0, "epoch": 1}
    torch.save(raw, run / "last.pt")
    raw = torch.load(run / "best.pt", weights_only=True)
    raw["model_state"]["head1.bias"] += 20.0
    torch.save(raw, run / "best.pt")

    def stop_after_two(event: TrainProgress) -> None:
        if event.kind == "epoch" and event.epoch == 2:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        train(TrainConfig(epochs=3, **cfg), resume=True, progress=stop_after_two)
    assert json.loads((run / "config.json").read_text())["epochs"] == 3
    assert not (run / "metrics.json").exists()  # the run is not finished: no final figures

    train(TrainConfig(epochs=3, **cfg), resume=True)
    best, last = load_checkpoint(run / "best.pt"), load_checkpoint(run / "last.pt")
    assert last.epoch == 3
    metrics = json.loads((run / "metrics.json").read_text())
    assert best.epoch == metrics["best_epoch"] == metrics["epoch"] == 1
    assert metrics == json.loads(json.dumps(best.metrics))
    row = next(r for r in _rows(run) if r["epoch"] == "1")
    assert metrics["val"]["jsi"] == pytest.approx(float(row["val_jsi"]))
    folds = json.loads((run / "folds.json").read_text())
    _, samples = discover_samples(data)
    test = [load_sample(s) for s in samples if s.stem in folds["test"]]
    scored = evaluate_samples(best.model, test, "cpu")["pooled"]
    assert metrics["test_images"] == folds["test"] and metrics["test"] == scored
    assert scored["sensitivity"] == 1.0 and scored["specificity"] == 0.0  # every pixel
    assert evaluate_samples(last.model, test, "cpu")["pooled"] != scored
    assert last.metrics["epoch"] == 3 and metrics["epoch"] != last.metrics["epoch"]


def test_resume_knows_the_labelling_options_and_old_runs_record_the_content(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """labels.json's options are part of the data (how the labels were made; not --force
    nor where the landmarker file was). A run started before the content was recorded still
    resumes, saying it cannot check, and records it: the next resume compares with it."""
    import cv2

    data = _generic_data(tmp_path / "data", ["a", "b", "c", "d"])
    options = {
        "threshold": "gaussian",
        "stroke_width_px": 7,
        "crop_size_px": 640,
        "landmarker_path": None,
        "force": False,
        "auto_version": 2,
        "crop_faces": False,
    }

    def labels_json(**changed: object) -> None:
        doc = {"mode": "rough", "complete": True, "options": {**options, **changed}, "items": []}
        (data / "labels.json").write_text(json.dumps(doc))

    labels_json()
    run = tmp_path / "r"
    cfg = {**TINY, "crop_size": 32, "data": str(data), "out": str(run)}
    train(TrainConfig(epochs=1, **cfg))
    labels_json(force=True, landmarker_path="/elsewhere/face_landmarker.task")
    train(TrainConfig(epochs=1, **cfg), resume=True)  # the same labels
    labels_json(stroke_width_px=9)
    with pytest.raises(InvalidInputError, match=r"content of its labels\.json options changed"):
        train(TrainConfig(epochs=1, **cfg), resume=True)
    labels_json()

    raw = torch.load(run / "last.pt", weights_only=True)  # as a run written before it
    del raw["config"]["data"]["content_sha256"]
    torch.save(raw, run / "last.pt")
    with caplog.at_level("WARNING", logger="wds_edge_train.loop"):
        train(TrainConfig(epochs=2, **cfg), resume=True)
    assert "started before the data's content was recorded" in caplog.text
    assert "recording their content now" in caplog.text
    saved = load_checkpoint(run / "last.pt").config["data"]["content_sha256"]
    assert saved["masks"] and saved["labels_options"] and saved["fov"] is None
    mask = cv2.imread(str(data / "masks" / "b.png"), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(data / "masks" / "b.png"), np.roll(mask, 3, axis=0))  # relabelled
    with pytest.raises(InvalidInputError, match=r"content of its masks changed"):
        train(TrainConfig(epochs=3, **cfg), resume=True)


def test_resume_refuses_fewer_epochs_than_the_interrupted_runs_horizon(tmp_path: Path) -> None:
    """A 4-epoch run stopped after epoch 2 and resumed with --epochs 3 finished as a
    '3-epoch run' whose epoch 2 had the 4-epoch cosine's lr, and nothing recorded it. It is
    refused; the run's own horizon resumes, and each provenance entry records its horizon.
    A finished run may still be extended."""
    data = _generic_data(tmp_path / "data", [f"p{i}" for i in range(4)])
    run = tmp_path / "r"
    cfg = {**TINY, "crop_size": 32, "data": str(data), "out": str(run)}

    def stop_after_two(event: TrainProgress) -> None:
        if event.kind == "epoch" and event.epoch == 2:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        train(TrainConfig(epochs=4, **cfg), progress=stop_after_two)
    with pytest.raises(InvalidInputError, match=r"interrupted after epoch 2 of 4.*--epochs 4"):
        train(TrainConfig(epochs=3, **cfg), resume=True)
    assert load_checkpoint(run / "last.pt").epoch == 2  # nothing trained
    train(TrainConfig(epochs=4, **cfg), resume=True)
    train(TrainConfig(epochs=5, **cfg), resume=True)  # extending a finished run
    provenance = json.loads((run / "config.json").read_text())["provenance"]
    assert [(p["from_epoch"], p["epochs"]) for p in provenance] == [(0, 4), (2, 4), (4, 5)]
    assert load_checkpoint(run / "last.pt").config["provenance"] == provenance
