"""First-generation weak labels (--auto-version 1) on the real faces of ../shared/data/faces."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.perception.regions import region_masks
from wds_edge_train.labeling.preview import LABEL_COLOUR_BGR
from wds_edge_train.labeling.runner import LabelOptions, label_folder

FACES = ("biden2.jpg", "obama.jpg", "ffhq_00016.png", "obama_and_biden.jpg")


@pytest.fixture(scope="module")
def auto_out(
    faces_dir: Path, landmarker_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    images = tmp_path_factory.mktemp("faces")
    for name in FACES:
        shutil.copy(faces_dir / name, images / name)
    (images / "no_face.png").write_bytes(
        cv2.imencode(".png", np.full((200, 300, 3), 128, np.uint8))[1]
    )
    out = tmp_path_factory.mktemp("auto")
    summary = label_folder(
        images,
        out,
        auto=True,
        options=LabelOptions(landmarker_path=landmarker_path, force=True, auto_version=1),
    )
    # a photo without a face is skipped on purpose (the quality gates), not a failure
    assert summary.weak_labels and summary.n_failed == 0 and summary.n_skipped == 1
    return out


def test_auto_labels_are_plausible_and_inside_regions(auto_out: Path) -> None:
    doc = json.loads((auto_out / "labels.json").read_text())
    assert doc["weak_labels"] is True and "WEAK LABELS" in doc["note"]
    items = {i["stem"]: i for i in doc["items"]}
    assert items["no_face"]["status"] == "skipped" and "no_face" in items["no_face"]["message"]
    for stem in (Path(n).stem for n in FACES):
        assert items[stem]["status"] == "ok"
        label = cv2.imread(str(auto_out / "masks" / f"{stem}.png"), cv2.IMREAD_GRAYSCALE) > 0
        crop = cv2.imread(str(auto_out / "images" / f"{stem}.png"))
        assert label.shape == crop.shape[:2] == (640, 640)
        lm = json.loads((auto_out / "landmarks" / f"{stem}.json").read_text())["landmarks_crop_px"]
        regions = np.zeros_like(label)
        for m in region_masks(np.asarray(lm), 640).values():
            regions |= m
        assert label.any()
        assert not (label & ~regions).any(), "weak labels must stay inside the landmark regions"
        fov = cv2.imread(str(auto_out / "fov" / f"{stem}.png"), cv2.IMREAD_GRAYSCALE) > 0
        face_fraction = label.sum() / fov.sum()
        # Paper data set: about 1.5 % of the face is wrinkle.
        assert 0.003 < face_fraction < 0.05, face_fraction
        assert 0.005 < label.sum() / regions.sum() < 0.10


def test_preview_shows_the_label(auto_out: Path) -> None:
    preview = cv2.imread(str(auto_out / "previews" / "biden2.jpg"))
    label = cv2.imread(str(auto_out / "masks" / "biden2.png"), cv2.IMREAD_GRAYSCALE) > 0
    assert preview.shape == (28 + 640, 2 * 640, 3)
    right = preview[28:, 640:].astype(int)
    assert LABEL_COLOUR_BGR == (0, 255, 0)
    b, g, r = right[..., 0], right[..., 1], right[..., 2]
    green = (g > r + 60) & (g > b + 60)  # JPEG chroma subsampling smears thin lines a bit
    assert green[label].mean() > 0.8
    assert green[~label].mean() < 0.01
    left = preview[28:, :640]
    crop = cv2.imread(str(auto_out / "images" / "biden2.png"))
    assert np.abs(left.astype(int) - crop).mean() < 4  # left panel = the photo


def test_a_crop_too_small_for_the_model_is_refused(landmarker_path: Path) -> None:
    from wds_edge.errors import InvalidInputError
    from wds_edge_train.labeling.auto import MIN_CROP_SIZE_PX, AutoLabeler

    with pytest.raises(InvalidInputError, match="at least 192 px, got --crop-size 0"):
        AutoLabeler(crop_size_px=0, landmarker_path=landmarker_path)
    assert MIN_CROP_SIZE_PX == 192
