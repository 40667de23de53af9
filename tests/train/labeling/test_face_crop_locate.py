"""Labels are made on what `wds-edge analyze` would segment: the labelers run the analyzer's
own locate step (wds_edge.perception.locate), so they refuse a grey photo as the kiosk does and
cut the very crop the analyzer cuts, also from a photo over 1920 px (landmarks found on the
downscaled frame). They had run only the perception gates on the full-size photo: a grey
photo was labelled, and biden.jpg's crop was off by up to 1.5 px and 0.25 deg."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.io import read_image
from wds_edge.perception.landmarks import FaceLandmarker, FaceLandmarkerOptions
from wds_edge_train.labeling.face_crop import FaceCropper, gated_kiosk_crop
from wds_edge_train.labeling.labeled import ImageSkipped
from wds_edge_train.labeling.runner import LabelOptions, label_folder


@pytest.fixture(scope="module")
def analyzer(landmarker_path: Path):  # noqa: ANN201 - the kiosk's analyzer, bundled model
    with WrinkleAnalyzer(
        backend="onnxruntime", landmarker_path=str(landmarker_path), warmup=False
    ) as kiosk:
        yield kiosk


@pytest.fixture(scope="module")
def landmarker(landmarker_path: Path):  # noqa: ANN201 - as the labelers open it
    options = FaceLandmarkerOptions(model_path=landmarker_path, mode="image", max_faces=2)
    with FaceLandmarker(options) as task:
        yield task


@pytest.fixture(scope="module")
def grey_png(faces_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    bgr = read_image(faces_dir / "biden2.jpg")
    grey = cv2.cvtColor(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    path = tmp_path_factory.mktemp("grey") / "biden2_grey.png"
    assert cv2.imwrite(str(path), grey)
    return path


def test_label_crop_is_the_analyzers_crop_on_a_large_photo(
    analyzer: WrinkleAnalyzer, landmarker: FaceLandmarker, faces_dir: Path
) -> None:
    frame = read_image(faces_dir / "biden.jpg")
    assert max(frame.shape[:2]) > analyzer.config.max_landmark_side_px  # 2204 px
    kiosk = analyzer.locate(frame)
    assert kiosk.face_crop is not None and kiosk.status.value == "ok"
    size = analyzer.input_size_px
    got = gated_kiosk_crop(
        landmarker, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), analyzer.config.quality, size
    )
    assert got.transform.roll_deg == kiosk.crop_transform.roll_deg
    np.testing.assert_array_equal(got.transform.matrix, kiosk.crop_transform.matrix)
    np.testing.assert_array_equal(got.transform.box_px, kiosk.crop_transform.box_px)
    np.testing.assert_array_equal(got.landmarks_px, kiosk.landmarks_px.astype(np.float64))
    np.testing.assert_array_equal(got.landmarks_crop_px, kiosk.face_crop.landmarks_crop_px)
    np.testing.assert_array_equal(got.crop_rgb, kiosk.face_crop.crop_rgb)


def test_a_grey_photo_is_refused_with_the_kiosks_status(
    analyzer: WrinkleAnalyzer,
    landmarker: FaceLandmarker,
    landmarker_path: Path,
    grey_png: Path,
    tmp_path: Path,
) -> None:
    frame = read_image(grey_png)
    assert analyzer.locate(frame).status.value == "needs_colour_camera"
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    with pytest.raises(ImageSkipped, match="needs_colour_camera") as info:
        gated_kiosk_crop(landmarker, rgb, analyzer.config.quality, 640)
    assert info.value.status == "needs_colour_camera"
    # label --rough --crop-faces
    cropper = FaceCropper(640, landmarker_path)
    try:
        with pytest.raises(ImageSkipped, match="needs_colour_camera"):
            cropper.crop(rgb, np.zeros(rgb.shape[:2], bool))
    finally:
        cropper.close()
    # label --auto
    out = tmp_path / "out"
    summary = label_folder(
        grey_png.parent, out, auto=True, options=LabelOptions(landmarker_path=landmarker_path)
    )
    assert summary.n_skipped == 1 and summary.n_failed == 0
    (item,) = json.loads((out / "labels.json").read_text())["items"]
    assert item["status"] == "skipped" and "needs_colour_camera" in item["message"]
    assert not (out / "masks" / "biden2_grey.png").exists()
