"""Pearson agreement against hand-computed values; folders, semi-auto, CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.errors import DataError, InvalidInputError
from wds_edge_train.agreement import label_agreement, label_files, pearson_correlation


def test_pearson_hand_values() -> None:
    assert pearson_correlation(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0])) == pytest.approx(0.0)
    # means 0.5 / 0.75; sum dx*dy = 0.5, sum dx^2 = 1, sum dy^2 = 0.75 -> r = 1 / sqrt(3)
    r = pearson_correlation(np.array([1, 1, 0, 0], bool), np.array([1, 1, 1, 0], bool))
    assert r == pytest.approx(1 / math.sqrt(3))
    assert pearson_correlation(
        np.array([[1, 0], [0, 1]]), np.array([[0, 1], [1, 0]])
    ) == pytest.approx(-1.0)
    assert pearson_correlation(
        np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0])
    ) == pytest.approx(1.0)
    assert pearson_correlation(np.zeros(5), np.zeros(5)) == 1.0
    assert math.isnan(pearson_correlation(np.zeros(4), np.array([0, 1, 0, 0])))
    with pytest.raises(InvalidInputError, match="same shape"):
        pearson_correlation(np.zeros(4), np.zeros(5))


def _write(folder: Path, stem: str, m: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / f"{stem}.png"), m.astype(np.uint8) * 255)


def test_label_sets_pairwise(tmp_path: Path) -> None:
    # Labels are sparse (a label more than half foreground is refused as maybe inverted).
    a = np.array([[1, 1, 0, 0, 0, 0, 0, 0]], bool)
    b = np.array([[1, 1, 1, 0, 0, 0, 0, 0]], bool)
    c = np.array([[1, 0, 1, 0, 0, 0, 0, 0]], bool)
    _write(tmp_path / "ann1", "img", a)
    _write(tmp_path / "ann2", "img", b)
    _write(tmp_path / "ann3", "img", c)
    _write(tmp_path / "ann3", "other", c)  # only in one set: ignored
    report = label_agreement([tmp_path / "ann1", tmp_path / "ann2", tmp_path / "ann3"])
    rs = {(p.set_a, p.set_b): p for p in report.raw}
    # r = (n sum ab - sum a sum b) / sqrt((n sum a - (sum a)^2)(n sum b - (sum b)^2)), n = 8
    # a, b: (16 - 6) / sqrt(12 * 15) = sqrt(5) / 3
    assert rs["ann1", "ann2"].mean_r == pytest.approx(math.sqrt(5) / 3)
    assert rs["ann1", "ann2"].pooled_r == pytest.approx(math.sqrt(5) / 3)
    # a, c: (8 - 4) / sqrt(12 * 12) = 1 / 3
    assert rs["ann1", "ann3"].mean_r == pytest.approx(1 / 3)
    # b, c: (16 - 6) / sqrt(15 * 12) = sqrt(5) / 3
    assert rs["ann2", "ann3"].mean_r == pytest.approx(math.sqrt(5) / 3)
    assert report.mean_raw == pytest.approx((2 * math.sqrt(5) + 1) / 9)
    assert rs["ann1", "ann3"].n_images == 1


def test_pooled_r_over_images_and_problems(tmp_path: Path) -> None:
    _write(tmp_path / "x", "i1", np.array([[1, 0]], bool))
    _write(tmp_path / "y", "i1", np.array([[1, 0]], bool))
    _write(tmp_path / "x", "i2", np.array([[0, 0]], bool))
    _write(tmp_path / "y", "i2", np.array([[0, 1]], bool))
    _write(tmp_path / "y", "i3", np.zeros((3, 3), bool))
    _write(tmp_path / "x", "i3", np.zeros((2, 2), bool))
    report = label_agreement([tmp_path / "x", tmp_path / "y"])
    pair = report.raw[0]
    assert pair.per_image["i1"] == 1.0 and math.isnan(pair.per_image["i2"])
    assert pair.n_undefined == 1 and pair.mean_r == 1.0
    # pooled over i1 + i2: x = [1,0,0,0], y = [1,0,0,1] -> r = 1 / sqrt(3)
    assert pair.pooled_r == pytest.approx(1 / math.sqrt(3))
    assert any("differs" in m for m in report.problems.values())


def test_semi_auto_and_cli(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    photo = np.clip(rng.normal(170, 6, (40, 60, 3)), 0, 255).astype(np.uint8)
    photo[20, 5:55] = 80
    (tmp_path / "photos").mkdir()
    cv2.imwrite(str(tmp_path / "photos" / "f.png"), photo)
    wide = np.zeros((40, 60), bool)
    wide[16:25, 5:55] = True
    narrow = np.zeros((40, 60), bool)
    narrow[18:23, 8:52] = True
    _write(tmp_path / "a", "f", wide)
    _write(tmp_path / "b", "f", narrow)
    report = label_agreement(
        [tmp_path / "a", tmp_path / "b"], images_dir=tmp_path / "photos", semi_auto=True
    )
    assert report.semi_auto is not None
    # Semi-automatic labels snap both rough strokes to the same wrinkle: agreement rises.
    assert report.mean_semi_auto > report.mean_raw
    result = CliRunner().invoke(
        app, ["label-agreement", str(tmp_path / "a"), str(tmp_path / "b"), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["raw"]["pairs"][0]["mean_r"] == pytest.approx(report.mean_raw, abs=1e-6)
    with pytest.raises(InvalidInputError, match="--images"):
        label_agreement([tmp_path / "a", tmp_path / "b"], semi_auto=True)


def test_two_files_of_one_name_are_refused(tmp_path: Path) -> None:
    # q.png and q_mask.png (or q.gif) both label image q: which one counts is not guessed.
    m = np.array([[1, 0], [0, 0]], bool)
    _write(tmp_path / "a", "q", m)
    _write(tmp_path / "b", "q", m)
    _write(tmp_path / "a", "q_mask", ~m)
    with pytest.raises(DataError, match=r"q\.png and q_mask\.png share the name 'q'.*_mask"):
        label_agreement([tmp_path / "a", tmp_path / "b"])
    (tmp_path / "a" / "q_mask.png").unlink()
    assert set(label_files(tmp_path / "a")) == {"q"}
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(tmp_path / "b" / "q.gif")
    with pytest.raises(DataError, match=r"q\.gif and q\.png share the name 'q'"):
        label_files(tmp_path / "b")


def test_labels_are_read_like_train_and_eval(tmp_path: Path) -> None:
    # An inverted label (black lines on white) is the same ground truth for training and
    # for agreement; a non-binary one is refused (or binarized with mask_threshold).
    m = np.zeros((20, 30), bool)
    m[9, 3:27] = True
    _write(tmp_path / "a", "f", m)
    _write(tmp_path / "b", "f", ~m)
    cv2.imwrite(str(tmp_path / "b" / "g.png"), np.where(m, 200, 90).astype(np.uint8))
    cv2.imwrite(str(tmp_path / "a" / "g.png"), np.where(m, 255, 0).astype(np.uint8))
    cv2.imwrite(
        str(tmp_path / "b" / "h.png"),
        np.where(m, 200, 90).astype(np.uint8) + np.eye(20, 30, dtype=np.uint8),
    )
    _write(tmp_path / "a", "h", m)
    report = label_agreement([tmp_path / "a", tmp_path / "b"])
    assert report.raw[0].per_image == {"f": 1.0, "g": 1.0}
    assert "the mask is not binary" in report.problems["b/h.png"]
    report = label_agreement([tmp_path / "a", tmp_path / "b"], mask_threshold=127)
    assert report.raw[0].per_image == {"f": 1.0, "g": 1.0, "h": 1.0} and not report.problems
