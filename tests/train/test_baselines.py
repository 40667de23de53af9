"""Classic baselines: unit behaviour, and metrics on real faces against weak labels."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.errors import DataError, InvalidInputError
from wds_edge_train.baselines import baseline_segment, evaluate_baseline, parse_regions


@pytest.mark.parametrize("method", ["hessian", "gabor"])
def test_baseline_finds_a_dark_line_and_ignores_outside(method: str) -> None:
    rng = np.random.default_rng(0)
    img = np.clip(rng.normal(170, 3, (80, 80, 3)), 0, 255).astype(np.uint8)
    img[40, 10:70] = 110
    area = np.zeros((80, 80), bool)
    area[20:60, 5:75] = True
    pred = baseline_segment(img, method, area)
    assert pred[40, 20:60].mean() > 0.9
    assert not pred[~area].any()
    assert pred.mean() < 0.2


def test_parse_regions() -> None:
    assert parse_regions("forehead,eyes") == ("forehead", "eyes")
    assert parse_regions("none") == ()
    assert parse_regions(None) is None
    with pytest.raises(InvalidInputError, match="unknown region"):
        parse_regions("cheeks")


def test_two_labels_of_one_image_are_refused(tmp_path: Path) -> None:
    import cv2

    for folder in ("images", "masks"):
        (tmp_path / folder).mkdir()
    cv2.imwrite(str(tmp_path / "images" / "q.png"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "masks" / "q.png"), np.zeros((8, 8), np.uint8))
    cv2.imwrite(str(tmp_path / "masks" / "q_mask.png"), np.zeros((8, 8), np.uint8))
    with pytest.raises(DataError, match=r"q\.png and q_mask\.png share the name 'q'"):
        evaluate_baseline(tmp_path / "images", tmp_path / "masks", "hessian", regions="none")


def test_two_fov_files_of_one_image_are_refused(tmp_path: Path) -> None:
    import cv2

    for folder in ("images", "masks", "fov"):
        (tmp_path / folder).mkdir()
    cv2.imwrite(str(tmp_path / "images" / "q.png"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "masks" / "q.png"), np.zeros((8, 8), np.uint8))
    full, half = np.full((8, 8), 255, np.uint8), np.zeros((8, 8), np.uint8)
    half[:, :4] = 255
    cv2.imwrite(str(tmp_path / "fov" / "q.gif.png"), half)  # another photo's: not q's
    cv2.imwrite(str(tmp_path / "fov" / "q.png"), full)
    cv2.imwrite(str(tmp_path / "fov" / "q.tif"), half)
    # the first in name order used to be taken silently
    with pytest.raises(DataError, match=r"several files for 'q' \(q\.png, q\.tif\)"):
        evaluate_baseline(tmp_path / "images", tmp_path / "masks", "hessian", regions="none")


def test_ground_truth_is_read_like_train_and_eval(tmp_path: Path) -> None:
    """Table 3 compares baselines with the U-Net: both must score against the same ground
    truth, read by data.read_mask (inverted labels turned back, non-binary ones refused)."""
    import cv2

    rng = np.random.default_rng(0)
    img = np.clip(rng.normal(170, 3, (48, 64, 3)), 0, 255).astype(np.uint8)
    img[20, 8:56] = 110
    label = np.zeros((48, 64), np.uint8)
    label[19:22, 8:56] = 255
    for folder in ("images", "masks", "fov"):
        (tmp_path / folder).mkdir()
    for stem, mask in (
        ("x", label),
        ("y", 255 - label),
        ("z", label // 2 + np.eye(48, 64, dtype=np.uint8)),
    ):
        cv2.imwrite(str(tmp_path / "images" / f"{stem}.png"), img)
        cv2.imwrite(str(tmp_path / "masks" / f"{stem}.png"), mask)
    fov = np.full((48, 64), 255, np.uint8)
    fov[:2] = 0  # 96 % of the image: an FOV is never taken as inverted
    cv2.imwrite(str(tmp_path / "fov" / "x.png"), fov)
    cv2.imwrite(str(tmp_path / "fov" / "y.png"), fov)
    report = evaluate_baseline(tmp_path / "images", tmp_path / "masks", "hessian", regions="none")
    x, y = report.images
    assert x == {**y, "stem": "x"} and x["sensitivity"] > 0.3
    assert "the mask is not binary" in report.problems["z"]
    assert report.areas == "fov"


@pytest.mark.parametrize("method", ["hessian", "gabor"])
def test_baselines_on_real_faces(weak_labels: Path, method: str) -> None:
    report = evaluate_baseline(
        weak_labels / "images", weak_labels / "masks", method, regions="forehead,eyes"
    )
    assert len(report.images) == 3 and not report.problems
    m = report.pooled
    # Loose sanity bounds: better than nothing, far from perfect, mostly-negative areas.
    assert 0.02 < m["jsi"] < 0.6
    assert 0.05 < m["sensitivity"] < 0.9
    assert m["specificity"] > 0.85 and m["accuracy"] > 0.8


def test_baseline_cli_json_like_eval(
    weak_labels: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    # Without the saved landmarks the tight crops are re-detected (padded) by MediaPipe.
    masks = tmp_path / "masks"
    shutil.copytree(weak_labels / "masks", masks)
    result = CliRunner().invoke(app, [
        "baseline", "--method", "hessian", "--images", str(weak_labels / "images"),
        "--masks", str(masks), "--json", "--landmarker", str(landmarker_path),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output.strip().splitlines()[-1])
    assert {"jsi", "accuracy", "sensitivity", "specificity", "per_image_mean"} <= set(doc)
    assert doc["areas"] == "forehead, eyes" and doc["n_images"] == 3
    # each area on its own too, as 'eval --regions' reports it (paper Table 3's rows)
    assert set(doc["per_area"]) == {"forehead", "eyes"}
    assert min(a["jsi"] for a in doc["per_area"].values()) <= doc["jsi"]
    assert doc["jsi"] <= max(a["jsi"] for a in doc["per_area"].values())
    fov = evaluate_baseline(weak_labels, weak_labels, "gabor")  # label folder: fov/ is used
    assert fov.areas == "fov" and 0.0 < fov.pooled["jsi"] < 0.6


def test_fov_filters_follow_the_label_folder_s_face_crop_size(tmp_path: Path) -> None:
    """A folder 'label --auto --crop-size 320' wrote holds faces at half the 640 px scale the
    filters are set for: its labels.json's crop size rescales them, as the landmark areas
    do from the face (the fov / whole-image path kept the 640 px scales: a Gabor wavelength
    of 8 px on 1 px lines)."""
    import cv2

    from wds_edge.model.metrics import segmentation_metrics

    rng = np.random.default_rng(0)
    grey = np.clip(rng.normal(170, 8, (64, 64)), 0, 255).astype(np.uint8)
    label = np.zeros((64, 64), np.uint8)
    for y in (12, 30, 47):
        grey[y, 6:58] = 120  # 1 px lines at 320 px: 2 px at 640 px, a wrinkle's width there
        label[y, 6:58] = 255
    img = np.repeat(grey[..., None], 3, axis=2)
    for folder in ("images", "masks", "fov"):
        (tmp_path / folder).mkdir()
    cv2.imwrite(str(tmp_path / "images" / "f.png"), img)
    cv2.imwrite(str(tmp_path / "masks" / "f.png"), label)
    cv2.imwrite(str(tmp_path / "fov" / "f.png"), np.full((64, 64), 255, np.uint8))
    full = np.ones((64, 64), bool)

    def expected(scale: float) -> float:
        return segmentation_metrics(baseline_segment(img, "gabor", full, scale), label > 0,
                                    full)["jsi"]  # fmt: skip

    assert expected(0.5) > 0.9 > 0.4 > expected(1.0)
    unknown = evaluate_baseline(tmp_path, tmp_path, "gabor", regions="none")
    assert unknown.pooled["jsi"] == pytest.approx(expected(1.0))  # no labels.json: 640 px
    summary = {"mode": "auto", "options": {"crop_size_px": 320, "crop_faces": False}}
    (tmp_path / "labels.json").write_text(json.dumps(summary))
    for images, masks in ((tmp_path, tmp_path), (tmp_path / "images", tmp_path / "masks")):
        report = evaluate_baseline(images, masks, "gabor", regions="none")
        assert report.areas == "fov"
        assert report.pooled["jsi"] == pytest.approx(expected(0.5))
