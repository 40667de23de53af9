"""Seeded splits and k-fold cross-validation, cut by group (video / person)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wds_edge.errors import InvalidInputError
from wds_edge_train.folds import image_groups, make_splits, shared_groups

STEMS = [f"img{i:02d}" for i in range(20)]


def test_train_val_split_is_seeded_and_disjoint() -> None:
    a = make_splits(STEMS, seed=3, val_count=4)
    assert a == make_splits(list(reversed(STEMS)), seed=3, val_count=4)
    assert len(a["val"]) == 4 and len(a["train"]) == 16 and a["test"] == []
    assert set(a["train"]).isdisjoint(a["val"])
    assert make_splits(STEMS, seed=4, val_count=4)["val"] != a["val"]
    assert len(make_splits(STEMS, seed=0, val_fraction=0.2)["val"]) == 4


def test_kfold_test_folds_partition_the_data() -> None:
    tests = []
    for fold in range(6):
        s = make_splits(STEMS, seed=1, folds=6, fold=fold)
        assert set(s["test"]).isdisjoint(s["train"]) and set(s["test"]).isdisjoint(s["val"])
        assert set(s["val"]).isdisjoint(s["train"])
        assert len(s["train"]) + len(s["val"]) + len(s["test"]) == 20
        tests += s["test"]
    assert sorted(tests) == STEMS  # every image is tested exactly once


def test_bad_arguments() -> None:
    with pytest.raises(InvalidInputError, match="--folds and --fold together"):
        make_splits(STEMS, folds=6)
    with pytest.raises(InvalidInputError, match="0 <= fold < folds"):
        make_splits(STEMS, folds=6, fold=6)
    with pytest.raises(InvalidInputError, match="validation"):
        make_splits(STEMS[:2], val_count=2)
    with pytest.raises(InvalidInputError, match="unique"):
        make_splits(["a", "a", "b"])


@pytest.mark.parametrize("count", [0, -2])
def test_no_validation_image_is_its_own_error(count: int) -> None:
    """--val-count 0 was told to 'lower --val-count'."""
    with pytest.raises(InvalidInputError, match=rf"--val-count must be >= 1 .*got {count}$"):
        make_splits(STEMS, val_count=count)


# Splits cut by group: the frames of one video (one person) never sit in two splits.


def _frames(videos: int, per_video: int) -> list[str]:
    from wds_edge.capture.extract import frame_file_name

    return [
        Path(frame_file_name(f"clip{v}", 10 * i)).stem
        for v in range(videos)
        for i in range(per_video)
    ]


def _split_of(splits: dict[str, list[str]]) -> dict[str, str]:
    return {s: name for name, stems in splits.items() for s in stems}


def test_frames_of_one_video_are_one_group() -> None:
    stems = [*_frames(2, 3), "portrait", "anna_f", "bob_f2x"]
    groups = image_groups(stems)
    assert groups["clip0_f000000"] == groups["clip0_f000020"] == "clip0"
    assert groups["clip1_f000010"] == "clip1"
    # anything else is a group of its own
    assert [groups[s] for s in ("portrait", "anna_f", "bob_f2x")] == [
        "portrait",
        "anna_f",
        "bob_f2x",
    ]


def test_kfold_by_video_keeps_each_video_in_one_split() -> None:
    """The documented workflow (frames --every 10 -> label -> train --folds 6): 6 videos of
    10 frames; every video is the test fold once, whole, and never also in train / val."""
    stems = _frames(6, 10)
    groups = image_groups(stems)
    tested = []
    for fold in range(6):
        s = make_splits(stems, seed=0, folds=6, fold=fold, groups=groups)
        where: dict[str, set[str]] = {}
        for stem, split in _split_of(s).items():
            where.setdefault(groups[stem], set()).add(split)
        assert all(len(v) == 1 for v in where.values()), where
        assert len(s["test"]) == 10 and len(s["val"]) == 10  # ceil(0.2 * 50) -> one video
        tested.append({groups[t] for t in s["test"]})
    assert sorted(g for t in tested for g in t) == [f"clip{v}" for v in range(6)]
    without = make_splits(stems, seed=0, folds=6, fold=0)  # per image: videos leak
    leaked = {groups[s] for s in without["test"]} & {groups[s] for s in without["train"]}
    assert leaked


def test_validation_takes_whole_groups_and_folds_balance_images() -> None:
    stems = [*_frames(3, 8), *[f"photo{i}" for i in range(6)]]
    groups = image_groups(stems)
    for seed in range(5):
        s = make_splits(stems, seed=seed, val_count=3, groups=groups)
        assert len(s["val"]) >= 3
        assert not {groups[x] for x in s["val"]} & {groups[x] for x in s["train"]}
        sizes = [
            len(make_splits(stems, seed=seed, folds=3, fold=f, groups=groups)["test"])
            for f in range(3)
        ]
        assert sum(sizes) == 30 and all(6 <= n <= 14 for n in sizes), sizes


def test_fewer_groups_than_folds_is_refused() -> None:
    stems = _frames(4, 10)
    with pytest.raises(
        InvalidInputError, match=r"40 images in 4 groups .* cannot make 6 folds; use --folds 4"
    ):
        make_splits(stems, folds=6, fold=0, groups=image_groups(stems))


@pytest.mark.parametrize(
    "options", [{}, {"val_count": 1}, {"folds": 2, "fold": 0}, {"folds": 6, "fold": 1}]
)
def test_one_video_says_training_needs_two_groups(options: dict[str, int]) -> None:
    """README's first path (frames of one video -> label -> train): all images are one
    group, so no split can be cut. It said 'add images or lower --val-count', which cannot
    help, and with --folds 'use --folds 1 or fewer', which is refused."""
    stems = _frames(1, 6)
    with pytest.raises(InvalidInputError) as refused:
        make_splits(stems, groups=image_groups(stems), **options)
    said = str(refused.value)
    assert said.startswith("all 6 images are frames of one video ('clip0'")
    assert "training needs at least 2 groups" in said and "another recording or person" in said
    assert "--val-count" not in said and "--folds" not in said


def test_one_person_names_the_group_options(tmp_path: Path) -> None:
    csv = tmp_path / "people.csv"
    csv.write_text("anna_1,a\nanna_2,a\nanna_3,a\n")
    stems = ["anna_1", "anna_2", "anna_3"]
    with pytest.raises(InvalidInputError, match=r"all 3 images are one group \('a': one person.*"
                       r"at least 2 groups.*--groups FILE.csv .*--group-by REGEX"):  # fmt: skip
        make_splits(stems, groups=image_groups(stems, groups_csv=csv))
    with pytest.raises(InvalidInputError, match=r"^1 image cannot be split .*add images$"):
        make_splits(["only"])


def test_folds_advice_never_goes_below_two() -> None:
    """Two videos: a test fold leaves one, which cannot give both training and validation
    images; the advice is to leave out --folds (which works), never --folds 1."""
    stems = _frames(2, 4)
    groups = image_groups(stems)
    for folds in (2, 3):
        with pytest.raises(InvalidInputError) as refused:
            make_splits(stems, folds=folds, fold=0, groups=groups)
        said = str(refused.value)
        assert "leave out --folds" in said and "--folds 1" not in said, said
    assert make_splits(stems, groups=groups)["val"]  # without --folds: one video each
    # three videos, --folds 4: at most 3 folds
    three = _frames(3, 2)
    with pytest.raises(InvalidInputError, match=r"cannot make 4 folds; use --folds 3 or fewer"):
        make_splits(three, folds=4, fold=0, groups=image_groups(three))


def test_one_image_per_group_gives_the_splits_cut_before_groups() -> None:
    """Runs started before groups existed keep their meaning: same seed, same splits."""
    assert make_splits(STEMS, seed=1, folds=6, fold=2, groups=image_groups(STEMS)) == {
        "train": ["img00", "img01", "img04", "img05", "img07", "img09", "img10", "img11",
                  "img13", "img14", "img16", "img18", "img19"],
        "val": ["img06", "img08", "img12", "img17"],
        "test": ["img02", "img03", "img15"],
    }  # fmt: skip
    assert make_splits(STEMS, seed=5, val_count=3)["val"] == ["img03", "img14", "img17"]


def test_groups_from_a_csv(tmp_path: Path) -> None:
    stems = ["anna_1", "anna_2", "bob", "carl_a"]
    csv = tmp_path / "people.csv"
    csv.write_text("image,group\nanna_1.jpg,anna\nanna_2,anna\n\nbob.png,bob\ncarl_a,carl\n")
    assert image_groups(stems, groups_csv=csv) == {
        "anna_1": "anna", "anna_2": "anna", "bob": "bob", "carl_a": "carl",
    }  # fmt: skip
    csv.write_text("anna_1,anna\nanna_2,anna\n")
    with pytest.raises(InvalidInputError, match=r"does not name the group of 2 image\(s\).*bob"):
        image_groups(stems, groups_csv=csv)
    csv.write_text("anna_1,anna\nanna_1.png,bob\n")
    with pytest.raises(InvalidInputError, match="is in two groups"):
        image_groups(["anna_1"], groups_csv=csv)
    csv.write_text("anna_1\n")
    with pytest.raises(InvalidInputError, match=r"line 1 .* is not 'image,group'"):
        image_groups(["anna_1"], groups_csv=csv)
    with pytest.raises(InvalidInputError, match="cannot read it"):
        image_groups(stems, groups_csv=tmp_path / "missing.csv")
    with pytest.raises(InvalidInputError, match="not both"):
        image_groups(stems, groups_csv=csv, group_by="(.+)")


def test_groups_from_a_regular_expression() -> None:
    stems = ["anna_01", "anna_02", "bob_01", "IMG1234"]
    assert image_groups(stems, group_by=r"^(.+)_\d+$") == {
        "anna_01": "anna", "anna_02": "anna", "bob_01": "bob", "IMG1234": "IMG1234",
    }  # fmt: skip
    with pytest.raises(InvalidInputError, match="is not a regular expression"):
        image_groups(stems, group_by="(")
    with pytest.raises(InvalidInputError, match="matches none of the 4 image names"):
        image_groups(stems, group_by=r"^person-(\d+)")


def test_group_by_keeps_the_frames_of_a_video_together() -> None:
    """The help's own expression does not match frame names: those frames are grouped by
    their video, as without --group-by (they were each a group of their own, so a clip's
    frames landed in train, val and test at once)."""
    stems = ["anna_01", "anna_02", "bob_03", "bob_04", "bob_05", *_frames(1, 5)]
    groups = image_groups(stems, group_by=r"^(.+)_\d+$")
    assert {groups[s] for s in _frames(1, 5)} == {"clip0"}
    assert groups["anna_02"] == "anna" and groups["bob_05"] == "bob"
    for fold in range(3):
        where = _split_of(make_splits(stems, seed=0, folds=3, fold=fold, groups=groups))
        assert len({where[s] for s in _frames(1, 5)}) == 1, where
    # an expression that matches frames: its group, when it gives a video's frames one
    assert set(image_groups(stems, group_by=r"^([a-z]+)")[s] for s in _frames(1, 5)) == {"clip"}
    with pytest.raises(
        InvalidInputError, match=r"gives the frames of video 'clip0' .* 5 groups .*always share"
    ):
        image_groups(stems, group_by=r"_f?(\d+)$")


def test_shared_groups_finds_other_frames_of_the_run_s_videos(tmp_path: Path) -> None:
    """eval's held-out check: an image that is none of the run's can still be a frame of a
    video it holds, or (by the run's --group-by / --groups) a photo of one of its people."""
    run = ["anna_01", "anna_02", "bob_01", *_frames(2, 3)]
    later = ["clip0_f000100", "clip7_f000000", "anna_07", "carl_01", "anna_01"]
    assert shared_groups(run, later) == {"clip0_f000100": "clip0"}
    assert shared_groups(run, later, rule="regex", group_by=r"^(.+)_\d+$") == {
        "clip0_f000100": "clip0", "anna_07": "anna",
    }  # fmt: skip
    csv = tmp_path / "people.csv"
    csv.write_text("anna_01,a\nanna_02,a\nbob_01,b\nanna_07,a\n" + "".join(
        f"{s},c\n" for s in _frames(2, 3)
    ))  # fmt: skip
    assert shared_groups(run, later, rule="csv", groups_csv=csv) == {
        "clip0_f000100": "clip0", "anna_07": "a",
    }  # fmt: skip
    # the run's CSV gone: its videos are still compared
    gone = shared_groups(run, later, rule="csv", groups_csv=tmp_path / "moved.csv")
    assert gone == {"clip0_f000100": "clip0"}
