"""`wds-edge train` and `eval`: settings they refuse before any work (exit 2, --out not
created), on a small generic-layout folder written here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from fault_helpers import run_cli

pytest.importorskip("torch")


def write_generic(root: Path, stems: list[str], size: int = 64) -> Path:
    """images/<stem>.png + masks/<stem>.png: grey noise with one dark line per image."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for stem in stems:
        image = rng.integers(100, 200, (size, size, 3), dtype=np.uint8)
        mask = np.zeros((size, size), np.uint8)
        y = int(rng.integers(5, size - 5))
        mask[y, 5 : size - 5] = 255
        image[mask > 0] = 40
        cv2.imwrite(str(root / "images" / f"{stem}.png"), image)
        cv2.imwrite(str(root / "masks" / f"{stem}.png"), mask)
    return root


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    return write_generic(tmp_path / "data", [f"p{i}" for i in range(4)])


def _flat(err: str) -> str:
    """stderr without the frame click draws around usage errors."""
    return " ".join(err.replace("│", " ").split())


TINY = ("--base", "4", "--epochs", "1", "--crop-size", "32", "--val-count", "1")


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--mask-threshold", "255", "should be less than or equal to 254"),
        ("--mask-threshold", "-1", "should be greater than or equal to 0"),
        ("--lr", "nan", "lr must be a finite number > 0, got nan"),
        ("--lr", "inf", "lr must be a finite number > 0, got inf"),
        ("--weight-decay", "nan", "weight_decay must be a finite number >= 0"),
        ("--device", "GPU", "--device 'GPU' is not a device; use auto"),
        ("--device", "bogus", "cuda:N (the N-th GPU, from 0)"),
        # the U-Net's deepest layer would be 1x1: BatchNorm fails on a batch of one image
        ("--crop-size", "16", "too small for BatchNorm to train on; use --crop-size 32 or more"),
        # numpy / torch seeds are 0 .. 2**32 - 1: others were a traceback
        ("--seed", "-1", "--seed must be a whole number from 0 to 4294967295, got -1"),
        ("--seed", str(2**32), "--seed must be a whole number from 0 to 4294967295"),
        ("--split-seed", "-1", "--split-seed must be a whole number from 0 to 4294967295"),
        # no validation image: not "lower --val-count"
        ("--val-count", "0", "--val-count must be >= 1 (the validation images select best.pt)"),
        # recorded with the run but weighing nothing: the data has no zones/ masks
        ("--zone-weight", "3", "--zone-weight 3 needs the zones/ masks that 'wds-edge label"),
    ],
)
def test_train_refuses_bad_settings_before_writing(
    capsys, data: Path, tmp_path: Path, option: str, value: str, says: str
) -> None:  # noqa: ANN001
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, *TINY, option, value)
    assert code == 2, err
    assert says in _flat(err) and "Traceback" not in err
    assert not out.exists()


def test_train_takes_the_device_in_any_case(capsys, data: Path, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, *TINY, "--device", "CPU")
    assert code == 0, err
    assert (out / "best.pt").is_file()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(data folder, run folder) of one tiny CPU run on 4 images: 3 train, 1 val."""
    from wds_edge.cli import main

    root = tmp_path_factory.mktemp("trained")
    data = write_generic(root / "data", [f"p{i}" for i in range(4)])
    with pytest.raises(SystemExit) as done:
        main(["train", "--data", str(data), "--out", str(root / "run"), *TINY, "--device", "cpu"])
    assert done.value.code == 0
    return data, root / "run"


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--mask-threshold", "300", "should be less than or equal to 254"),
        ("--device", "GPU", "--device 'GPU' is not a device"),
        ("--device", "cuda:x", "--device 'cuda:x' is not a device"),
    ],
)
def test_eval_refuses_bad_settings(
    capsys, run: tuple[Path, Path], option: str, value: str, says: str
) -> None:  # noqa: ANN001
    data, run_dir = run
    code, _, err = run_cli(capsys, "eval", "--checkpoint", run_dir / "best.pt", "--data", data,
                           "--json", option, value)  # fmt: skip
    assert code == 2, err
    assert says in _flat(err) and "Traceback" not in err


def test_a_landmarker_where_no_landmark_area_is_scored_is_refused(
    capsys, run: tuple[Path, Path], tmp_path: Path
) -> None:  # noqa: ANN001
    """eval --landmarker without --regions (or with --regions none) was accepted and dropped
    without a word, a missing file included; baseline --regions none likewise."""
    data, run_dir = run
    missing = tmp_path / "nowhere.task"
    for extra in ([], ["--regions", "none"]):
        code, _, err = run_cli(capsys, "eval", "--checkpoint", run_dir / "best.pt", "--data",
                               data, "--landmarker", missing, *extra)  # fmt: skip
        assert code == 2 and "pass --regions forehead,eyes" in _flat(err), err
    code, _, err = run_cli(capsys, "baseline", "--method", "hessian", "--images",
                           data / "images", "--masks", data, "--regions", "none",
                           "--landmarker", missing)  # fmt: skip
    assert code == 2 and "pass --regions forehead,eyes" in _flat(err), err
    fov = tmp_path / "with_fov"  # baseline's default area is then the fov: no landmarks used
    shutil.copytree(data, fov)
    (fov / "fov").mkdir()
    for mask in (data / "masks").glob("*.png"):
        cv2.imwrite(str(fov / "fov" / mask.name), np.full((64, 64), 255, np.uint8))
    code, _, err = run_cli(capsys, "baseline", "--method", "hessian", "--images", fov / "images",
                           "--masks", fov, "--landmarker", missing)  # fmt: skip
    assert code == 2 and "(their fov/ masks: the default)" in _flat(err), err


def test_eval_scores_a_held_out_folder_whole(
    capsys, run: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    """MODEL_CARD's command as written: a folder of other people's images (none of them the
    run's) is scored whole with --split auto, and the output says so."""
    _, run_dir = run
    write_generic(tmp_path / "heldout", ["held_a", "held_b"])
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "mine").symlink_to(run_dir)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "eval", "--checkpoint", "runs/mine/best.pt",
                             "--data", "heldout/", "--json")  # fmt: skip
    assert code == 0, err
    obj = json.loads(out)
    assert obj["held_out"] is True and obj["split"] == "all" and obj["trained_on"] == []
    assert obj["images"] == ["held_a", "held_b"] and obj["n_images"] == 2
    assert "none of the 2 images of --data is in the run's data set" in err
    assert "warning" not in err  # no 'training images may be among them'
    code, out, err = run_cli(capsys, "eval", "--checkpoint", "runs/mine/best.pt",
                             "--data", "heldout/")  # fmt: skip
    assert code == 0, err
    assert "2 images, all, held out" in " ".join(out.split())


def test_eval_auto_scores_the_run_s_validation_images_of_its_own_folder(
    capsys, run: tuple[Path, Path]
) -> None:  # noqa: ANN001
    data, run_dir = run
    val = json.loads((run_dir / "folds.json").read_text())["val"]
    code, out, err = run_cli(capsys, "eval", "--checkpoint", run_dir / "best.pt", "--data", data,
                             "--json")  # fmt: skip
    assert code == 0, err
    obj = json.loads(out)
    assert obj["split"] == "val" and obj["images"] == val and obj["held_out"] is False


def test_eval_auto_refuses_a_folder_that_holds_some_of_the_run_s_images(
    capsys, run: tuple[Path, Path], tmp_path: Path
) -> None:  # noqa: ANN001
    """Training images of the run beside new ones: neither its validation images nor
    held out, so scoring all of it would flatter the model; refused, --split all named."""
    data, run_dir = run
    train_stem = json.loads((run_dir / "folds.json").read_text())["train"][0]
    mixed = write_generic(tmp_path / "mixed", ["held_a"])
    for sub in ("images", "masks"):
        shutil.copy(data / sub / f"{train_stem}.png", mixed / sub)
    code, out, err = run_cli(capsys, "eval", "--checkpoint", run_dir / "best.pt",
                             "--data", mixed, "--json")  # fmt: skip
    assert code == 2 and out == ""  # a usage problem (exit 1 is for --regions' problems)
    assert "some of its images are in the run's other splits" in err and "--split all" in err


@pytest.fixture(scope="module")
def frames_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run folder of one tiny CPU run on frames 0-20 of a clip and two photos."""
    from wds_edge.cli import main

    root = tmp_path_factory.mktemp("frames")
    stems = ["clip_f000000", "clip_f000010", "clip_f000020", "p0", "p1"]
    data = write_generic(root / "data", stems)
    with pytest.raises(SystemExit) as done:
        main(["train", "--data", str(data), "--out", str(root / "run"), *TINY, "--device", "cpu"])
    assert done.value.code == 0
    return root / "run"


def test_eval_refuses_other_frames_of_a_video_the_run_holds(
    capsys, frames_run: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    """Frames 100-110 of the clip the run trained on (labelled later): none of them is the
    run's, but they are not held out (the same person, near-identical); they were scored
    as "held_out": true."""
    assert "clip_f000000" in json.loads((frames_run / "folds.json").read_text())["train"]
    later = write_generic(tmp_path / "hoframes", ["clip_f000100", "clip_f000110"])
    ckpt = frames_run / "best.pt"
    for split in (), ("--split", "val"):
        code, out, err = run_cli(capsys, "eval", "--checkpoint", ckpt, "--data", later, "--json",
                                 *split)  # fmt: skip
        assert code == 2 and out == "", err  # was 1, which eval --help keeps for --regions
        flat = _flat(err)
        assert "none of its 2 images is one of the run's, but 2 of them share a group" in flat
        assert "the run's images (clip: other frames of a video" in flat and "--split all" in flat
    code, out, err = run_cli(capsys, "eval", "--checkpoint", ckpt, "--data", later, "--json",
                             "--split", "all")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["held_out"] is False
    assert (
        "2 share a video or person with the run's training images (clip_f000100, clip_f000110)"
        in _flat(err)
    )


def test_eval_split_on_a_held_out_folder_says_to_leave_it_out(
    capsys, frames_run: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    """--split val on a folder none of whose images is the run's: it did say 'some of its
    images are in the run's other splits', which none is."""
    held = write_generic(tmp_path / "heldout", ["held_a", "held_b"])
    code, out, err = run_cli(capsys, "eval", "--checkpoint", frames_run / "best.pt",
                             "--data", held, "--split", "val")  # fmt: skip
    assert code == 2 and out == "", err
    flat = _flat(err)
    assert "other splits" not in flat
    assert "none of its 2 images is one of the run's" in flat and "leave out --split" in flat


def _label_summary(root: Path, crop_size_px: int) -> None:
    """The labels.json 'wds-edge label --auto --crop-size N' writes (the part read here)."""
    doc = {"mode": "auto", "options": {"crop_size_px": crop_size_px}, "items": []}
    (root / "labels.json").write_text(json.dumps(doc))


def test_eval_refuses_labels_of_another_face_crop_size(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    """A model trained on 64 px face crops scored on labels made at 128 px: refused (exit 2)
    naming the label command, as export refuses another size; --allow-scale-mismatch
    scores them with a warning. It scored them without a word."""
    data = write_generic(tmp_path / "data", [f"p{i}" for i in range(4)])
    _label_summary(data, 64)
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, *TINY,
                           "--augment", "none", "--device", "cpu")  # fmt: skip
    assert code == 0, err
    other = write_generic(tmp_path / "other", ["q0", "q1"])
    _label_summary(other, 128)
    args = ("eval", "--checkpoint", out / "best.pt", "--data", other, "--json")
    code, stdout, err = run_cli(capsys, *args)
    assert code == 2 and stdout == "", err
    flat = _flat(err)
    assert "holds labels of 128 px face crops (labels.json)" in flat
    assert "trained on 64 px face crops" in flat and "2.00x the scale it learned" in flat
    assert "'wds-edge label --crop-size 64'" in flat and "--allow-scale-mismatch" in flat
    code, stdout, err = run_cli(capsys, *args, "--allow-scale-mismatch")
    assert code == 0, err
    assert json.loads(stdout)["held_out"] is True
    _label_summary(other, 64)  # the scale it learned: scored as before
    code, stdout, err = run_cli(capsys, *args)
    assert code == 0 and json.loads(stdout)["n_images"] == 2, err


def test_a_wrong_data_folder_is_a_usage_error(
    capsys, run: tuple[Path, Path], tmp_path: Path
) -> None:  # noqa: ANN001
    """A missing --data folder, or one that is no label folder, exits 2 (as 'label --images
    nonexist/' does) naming what was expected; train leaves no --out. Both exited 1."""
    _, run_dir = run
    (tmp_path / "photos").mkdir()  # photos, not labelled: no images/ + masks/
    for data, says in [
        (tmp_path / "nonexist", "nonexist: data folder not found; pass --data a label folder"),
        (tmp_path / "photos", "photos: no data set layout recognised; expected a label folder"),
    ]:
        out = tmp_path / "r"
        code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, *TINY)
        assert code == 2 and says in _flat(err) and "images/ + masks/" in _flat(err), err
        assert not out.exists()
        code, stdout, err = run_cli(capsys, "eval", "--checkpoint", run_dir / "best.pt",
                                    "--data", data, "--json")  # fmt: skip
        assert code == 2 and stdout == "", err
        assert says in _flat(err) and "images/ + masks/" in _flat(err)


def test_train_refuses_fewer_videos_than_folds_and_leaves_no_folder(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    """frames of 4 videos cannot make 6 folds without putting a person in two of them."""
    stems = [f"clip{v}_f{10 * i:06d}" for v in range(4) for i in range(3)]
    data = write_generic(tmp_path / "data", stems)
    out = tmp_path / "runs" / "cv"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, *TINY,
                           "--folds", "6", "--fold", "0")  # fmt: skip
    assert code == 2, err
    assert "12 images in 4 groups (videos / people" in err and "use --folds 4 or fewer" in err
    assert not (tmp_path / "runs").exists()


def test_train_groups_option_names_people(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    data = write_generic(tmp_path / "data", ["anna_1", "anna_2", "bob_1", "bob_2", "carl"])
    (tmp_path / "people.csv").write_text("anna_1,a\nanna_2,a\nbob_1,b\nbob_2,b\ncarl,c\n")
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, *TINY,
                           "--groups", tmp_path / "people.csv")  # fmt: skip
    assert code == 0, err
    folds = json.loads((out / "folds.json").read_text())
    assert folds["groups"] == {"a": ["anna_1", "anna_2"], "b": ["bob_1", "bob_2"], "c": ["carl"]}
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", tmp_path / "run2", *TINY,
                           "--group-by", "(")  # fmt: skip
    assert code == 2 and "--group-by '(' is not a regular expression" in err
    assert not (tmp_path / "run2").exists()


def test_train_resumes_a_run_whose_groups_file_moved(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    """--resume reads the run's --groups file from config.json; once it has moved, the
    refusal says to pass --groups NEWPATH, and that path is taken (not refused as another
    setting: the grouping's digest shows it holds the same groups)."""
    data = write_generic(tmp_path / "data", ["anna_1", "anna_2", "bob_1", "bob_2", "carl"])
    people = tmp_path / "people.csv"
    people.write_text("anna_1,a\nanna_2,a\nbob_1,b\nbob_2,b\ncarl,c\n")
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, *TINY,
                           "--groups", people)  # fmt: skip
    assert code == 0, err
    moved = people.rename(tmp_path / "people_moved.csv")
    resume = ("train", "--data", data, "--out", out, "--epochs", "2", "--resume")
    code, _, err = run_cli(capsys, *resume)
    assert code == 2 and "pass --groups NEWPATH" in _flat(err), err
    code, _, err = run_cli(capsys, *resume, "--groups", moved)
    assert code == 0, err
    assert json.loads((out / "config.json").read_text())["groups"] == str(moved.resolve())


def test_train_refuses_an_out_that_is_not_its_own(capsys, data: Path, tmp_path: Path) -> None:  # noqa: ANN001
    """The data folder, or a folder of other files, as --out: exit 2, nothing overwritten."""
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", data, *TINY)
    assert code == 2 and "is the data folder --data" in _flat(err), err
    assert not (data / "config.json").exists()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "log.csv").write_text("mine\n")
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", docs, *TINY)
    assert code == 2 and "is not a training run folder" in _flat(err), err
    assert [p.name for p in docs.iterdir()] == ["log.csv"]
    assert (docs / "log.csv").read_text() == "mine\n"


def test_train_split_seed_draws_the_splits(capsys, data: Path, tmp_path: Path) -> None:  # noqa: ANN001
    """--split-seed, not --seed, draws the splits (seeds 2 and 1 put other images in val)."""
    from wds_edge_train.folds import make_splits

    stems = [f"p{i}" for i in range(4)]
    assert make_splits(stems, seed=2, val_count=1) != make_splits(stems, seed=1, val_count=1)
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, *TINY,
                           "--split-seed", "2", "--seed", "1")  # fmt: skip
    assert code == 0, err
    folds = json.loads((out / "folds.json").read_text())
    assert (folds["seed"], folds["split_seed"]) == (1, 2)
    assert folds["val"] == make_splits(stems, seed=2, val_count=1)["val"]
    assert json.loads((out / "config.json").read_text())["split_seed"] == 2


def test_train_crops_face_labels_at_their_size_and_refuses_larger(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    """README's path with 'label --crop-size 64': train without --crop-size cut 640 px crops,
    99 % mirrored padding; now the labels' size (config.json records it), and a larger
    --crop-size is refused (exit 2, no --out) naming the label size."""
    data = write_generic(tmp_path / "data", [f"p{i}" for i in range(4)])
    _label_summary(data, 64)
    settings = ("--base", "4", "--epochs", "1", "--val-count", "1", "--device", "cpu")
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, *settings)
    assert code == 0, err
    assert json.loads((out / "config.json").read_text())["crop_size"] == 64
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", tmp_path / "r2", *settings,
                           "--crop-size", "640")  # fmt: skip
    assert code == 2 and "--crop-size 640 is larger than the 64 px face crops" in _flat(err), err
    assert not (tmp_path / "r2").exists()


def test_train_space_to_depth_refuses_labels_export_cannot_take(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    data = write_generic(tmp_path / "data", [f"p{i}" for i in range(4)], size=80)
    _label_summary(data, 80)
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, *TINY,
                           "--stem", "space_to_depth", "--crop-size", "64")  # fmt: skip
    assert code == 2, err
    flat = _flat(err)
    assert "holds 80 px face crops" in flat and "'wds-edge label --crop-size 64' or 96" in flat
    assert not out.exists()


def test_train_one_video_says_it_needs_another(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    """README's first path (frames of one video -> label -> train): told to add images or
    lower --val-count (which cannot help), and with --folds 2 to use --folds 1."""
    data = write_generic(tmp_path / "data", [f"clip_f{10 * i:06d}" for i in range(6)])
    for extra in (), ("--folds", "2", "--fold", "0"):
        code, _, err = run_cli(capsys, "train", "--data", data, "--out", tmp_path / "r", *TINY,
                               *extra)  # fmt: skip
        flat = _flat(err)
        assert code == 2 and "all 6 images are frames of one video ('clip'" in flat, err
        assert "at least 2 groups" in flat and "--folds 1" not in flat
        assert "lower --val-count" not in flat


@pytest.fixture()
def people_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    """(run folder, its --groups CSV) of a tiny run grouped by people, and a held-out folder."""
    data = write_generic(tmp_path / "data", ["anna_1", "anna_2", "bob_1", "bob_2", "carl"])
    write_generic(tmp_path / "held", ["dora_1", "anna_9"])
    people = tmp_path / "people.csv"
    people.write_text("anna_1,a\nanna_2,a\nbob_1,b\nbob_2,b\ncarl,c\ndora_1,d\nanna_9,a\n")
    code = _main("train", "--data", data, "--out", tmp_path / "run", *TINY, "--device", "cpu",
                 "--groups", people)  # fmt: skip
    assert code == 0
    capsys.readouterr()  # the training run's output
    return tmp_path / "run", people


def _main(*args: object) -> int:
    from wds_edge.cli import main

    with pytest.raises(SystemExit) as done:
        main([str(a) for a in args])
    return int(done.value.code or 0)


def test_eval_with_the_run_s_groups_file_moved(
    capsys, caplog: pytest.LogCaptureFixture, people_run: tuple[Path, Path], tmp_path: Path
) -> None:  # noqa: ANN001
    """The run's --groups CSV moved: eval warned twice 'give a CSV', had no --groups, and
    called a folder held out that holds another photo of the run's anna. Now it warns once
    and says held_out null; --groups NEWPATH (checked against the run's grouping) compares
    the people again."""
    run_dir, people = people_run
    moved = people.rename(tmp_path / "moved.csv")
    held = write_generic(tmp_path / "dora", ["dora_1", "dora_2"])
    args = ("eval", "--checkpoint", run_dir / "best.pt", "--data", held, "--json")
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    obj = json.loads(out)
    assert obj["held_out"] is None and "cannot read it" in obj["held_out_unverified"]
    warned = [r.getMessage() for r in caplog.records if "cannot be read" in r.getMessage()]
    assert len(warned) == 1 and "pass --groups NEWPATH" in warned[0], warned
    assert "'held_out' is null" in _flat(err)
    caplog.clear()
    code, out, err = run_cli(capsys, *args, "--groups", moved)
    assert code == 0, err
    obj = json.loads(out)
    assert obj["held_out"] is True and obj["held_out_unverified"] is None
    assert "cannot be read" not in caplog.text
    # with the people compared, anna's other photo is not held out
    code, out, err = run_cli(capsys, "eval", "--checkpoint", run_dir / "best.pt", "--data",
                             tmp_path / "held", "--json", "--groups", moved)  # fmt: skip
    assert code == 2 and out == "" and "share a group with the run's images (a" in _flat(err)
    # a file of other groups is not the run's
    other = tmp_path / "other.csv"
    other.write_text("anna_1,a\nanna_2,b\nbob_1,b\nbob_2,b\ncarl,c\n")
    code, out, err = run_cli(capsys, *args, "--groups", other)
    assert code == 2 and out == "", err
    assert "does not give the run's 5 images the groups the run" in _flat(err)


def test_eval_groups_for_a_run_not_grouped_by_a_file(
    capsys, run: tuple[Path, Path], tmp_path: Path
) -> None:  # noqa: ANN001
    _, run_dir = run
    (tmp_path / "g.csv").write_text("p0,a\n")
    held = write_generic(tmp_path / "held", ["q0"])
    code, out, err = run_cli(capsys, "eval", "--checkpoint", run_dir / "best.pt", "--data", held,
                             "--groups", tmp_path / "g.csv")  # fmt: skip
    assert code == 2 and "was not grouped by a --groups file" in _flat(err), err


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"epochs": 3,', "not valid JSON: Expecting property name enclosed in double quotes"),
        ("[1, 2]", "a JSON list, not an object of settings"),
    ],
)
def test_train_resume_with_a_broken_config_json_is_one_line(
    capsys, data: Path, tmp_path: Path, text: str, says: str
) -> None:  # noqa: ANN001
    """Defect: a cut-off config.json ended --resume in a JSONDecodeError traceback, a JSON
    list in a TypeError one."""
    out = tmp_path / "run1"
    out.mkdir()
    (out / "config.json").write_text(text)
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, "--resume")
    assert code == 2, err
    flat = _flat(err)
    assert f"config.json is not a wds-edge run config ({says}" in flat, err
    assert "restore the file" in flat and "Traceback" not in err
    assert (out / "config.json").read_text() == text


@pytest.mark.parametrize(
    ("saved", "says"),
    [
        ({"epochs": "many"}, 'config.json: its setting "epochs": "many" is not valid (expected '
                             "a whole number)"),
        ({"loss": "nope"}, 'config.json: its setting "loss": "nope" is not valid (loss must be '
                           "one of"),
    ],
)  # fmt: skip
def test_train_resume_with_a_bad_saved_setting_names_the_key(
    capsys, data: Path, tmp_path: Path, saved: dict, says: str
) -> None:  # noqa: ANN001
    """Defect: a config.json with {"epochs": "many"} ended --resume in a TypeError traceback
    (from TrainConfig.validate), and {"loss": "nope"} said "--loss must be one of ...",
    an option the user never passed."""
    out = tmp_path / "run1"
    out.mkdir()
    (out / "config.json").write_text(json.dumps(saved))
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, "--resume")
    assert code == 2, err
    flat = _flat(err)
    assert says in flat and "--resume continues the run" in flat, err
    assert "Traceback" not in err and "--loss" not in flat
    # an option given on the command line overrides the bad saved value, and its own bad
    # value is told as the option's
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", out, "--resume",
                           "--loss", "bad")  # fmt: skip
    assert code == 2 and "--loss must be one of" in _flat(err), err
