"""Seeded splits and k-fold cross-validation."""

from __future__ import annotations

import pytest

from wds_edge.errors import InvalidInputError
from wds_edge_train.folds import make_splits

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
