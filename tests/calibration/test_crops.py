"""One crop function: calibration and export-parity crops of a rolled face are the kiosk's.

A real photo is rotated by 10 degrees (a tilted head). The analyzer's model input is
recorded at its backend; the calibration crops (``wds_edge_calibration.crops``) and the crops export
parity runs on (``wds_edge_export.parity.parity_report``) must give the very same model input and
the same crop pixels, roll-aligned.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.io import read_image
from wds_edge.model.preprocessing import model_input
from wds_edge.perception.crop import eye_line_angle_deg
from wds_edge_calibration.crops import face_crops_from_images, iter_face_crops

SIZE_PX = 128
ROLL_DEG = 10.0


@pytest.fixture(scope="module")
def rolled_face_png(faces_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    image = read_image(faces_dir / "biden2.jpg")
    height, width = image.shape[:2]
    rotate = cv2.getRotationMatrix2D((width / 2.0, height / 2.0), ROLL_DEG, 1.0)
    rolled = cv2.warpAffine(image, rotate, (width, height), flags=cv2.INTER_LINEAR)
    path = tmp_path_factory.mktemp("rolled") / "rolled.png"  # lossless: same pixels read back
    assert cv2.imwrite(str(path), rolled)
    return path


@pytest.fixture(scope="module")
def model_128(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - (module, path, meta)
    torch = pytest.importorskip("torch", reason="exporting the test model needs torch")
    pytest.importorskip("onnx", reason="exporting the test model needs onnx")
    from wds_edge_export.onnx_export import export_model
    from wds_edge_train.model import WrinkleUNet

    torch.manual_seed(0)
    model = WrinkleUNet(base_channels=8).eval()
    path = tmp_path_factory.mktemp("models") / "b8_128.onnx"
    metadata = export_model(model, path, input_size_px=SIZE_PX, batch="dynamic")
    return model, path, metadata


@pytest.fixture(scope="module")
def kiosk_input(model_128, rolled_face_png: Path, landmarker_path: Path):  # noqa: ANN001, ANN201
    """(model input the analyzer ran, its crop transform, the crop the transform gives)."""
    _, path, _ = model_128
    frame = read_image(rolled_face_png)
    with WrinkleAnalyzer(
        model_path=str(path),
        backend="onnxruntime",
        landmarker_path=str(landmarker_path),
        warmup=False,
    ) as analyzer:
        seen: list[np.ndarray] = []
        infer = analyzer.backend.infer

        def recording_infer(batch: np.ndarray) -> np.ndarray:
            seen.append(np.array(batch, copy=True))
            return infer(batch)

        analyzer.backend.infer = recording_infer  # type: ignore[method-assign]
        result = analyzer.analyze(frame)
        preprocessing = analyzer.metadata.preprocessing
    assert result.segmented and len(seen) == 1, result.status
    transform = result.crop_transform
    # Independent of kiosk_crop: the transform's own warp of the BGR frame, then RGB.
    crop_rgb = cv2.cvtColor(
        cv2.warpAffine(frame, transform.matrix, (SIZE_PX, SIZE_PX), flags=cv2.INTER_LINEAR),
        cv2.COLOR_BGR2RGB,
    )
    return seen[0], transform, crop_rgb, preprocessing, result.landmarks_px


def test_the_kiosk_crop_of_a_rolled_face_is_roll_aligned(kiosk_input) -> None:  # noqa: ANN001
    _, transform, _, _, landmarks_px = kiosk_input
    # Turned 10 degrees counter-clockwise (the photo itself has a few degrees of roll):
    # the frame's eye line is clearly tilted, the crop's is level.
    assert transform.roll_deg < -5.0
    in_crop = transform.points_to_crop(landmarks_px)
    assert eye_line_angle_deg(in_crop) == pytest.approx(0.0, abs=1e-6)


def test_calibration_crops_equal_the_analyzers_crop(
    kiosk_input,
    rolled_face_png: Path,
    landmarker_path: Path,  # noqa: ANN001
) -> None:
    batch, _, crop_rgb, preprocessing, _ = kiosk_input
    for crops in (
        list(face_crops_from_images([rolled_face_png], SIZE_PX, landmarker_path=landmarker_path)),
        list(iter_face_crops(rolled_face_png, SIZE_PX, landmarker_path=landmarker_path)),
    ):
        assert len(crops) == 1
        _, calib_rgb = crops[0]
        assert calib_rgb.dtype == np.uint8 and calib_rgb.shape == (SIZE_PX, SIZE_PX, 3)
        np.testing.assert_array_equal(calib_rgb, crop_rgb)
        np.testing.assert_array_equal(model_input(calib_rgb, preprocessing), batch)


def test_export_parity_crops_equal_the_analyzers_crop(
    kiosk_input,
    model_128,
    rolled_face_png: Path,
    landmarker_path: Path,
    monkeypatch,  # noqa: ANN001
) -> None:
    from wds_edge_export import parity

    batch, _, crop_rgb, preprocessing, _ = kiosk_input
    model, path, metadata = model_128
    received: list[list[tuple[str, np.ndarray]]] = []
    real_parity_on_crops = parity.parity_on_crops

    def recording_parity_on_crops(model, onnx_path, crops, metadata):  # noqa: ANN001, ANN202
        received.append(list(crops))
        return real_parity_on_crops(model, onnx_path, crops, metadata)

    monkeypatch.setattr(parity, "parity_on_crops", recording_parity_on_crops)
    report = parity.parity_report(
        model, path, [rolled_face_png], metadata=metadata, landmarker_path=landmarker_path
    )
    assert report["images"] == 1
    (crops,) = received
    np.testing.assert_array_equal(crops[0][1], crop_rgb)
    np.testing.assert_array_equal(model_input(crops[0][1], preprocessing), batch)


# -- the analyzer's own checks and landmark search (no torch: the bundled test fixture) --

FIXTURE_128 = Path(__file__).resolve().parents[1] / "fixtures" / "wds_b4_128_dyn.onnx"


@pytest.fixture(scope="module")
def fixture_analyzer(landmarker_path: Path):  # noqa: ANN201 - a WrinkleAnalyzer
    with WrinkleAnalyzer(
        model_path=str(FIXTURE_128),
        backend="onnxruntime",
        landmarker_path=str(landmarker_path),
        warmup=False,
    ) as analyzer:
        yield analyzer


def test_calibration_skips_the_grey_and_colour_cast_faces_the_analyzer_refuses(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path, fixture_analyzer
) -> None:
    """Grey copies of two photos and a blue-tinted one: the analyzer refuses all three
    (needs_colour_camera, colour_cast); calibration used to keep them (it applied the
    quality gates only), so INT8 ranges were fitted on faces the kiosk never segments."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("biden2.jpg", "obama.jpg"):
        grey = cv2.cvtColor(read_image(faces_dir / name), cv2.COLOR_BGR2GRAY)
        cv2.imwrite(str(photos / f"grey_{Path(name).stem}.png"), grey)
    tinted = read_image(faces_dir / "biden2.jpg") * np.array([1.4, 1.0, 0.7])  # BGR: bluer
    cv2.imwrite(str(photos / "blue_biden2.png"), np.clip(tinted, 0, 255).astype(np.uint8))
    statuses = sorted(fixture_analyzer.locate(read_image(p)).status.value
                      for p in photos.iterdir())  # fmt: skip
    assert statuses == ["colour_cast", "needs_colour_camera", "needs_colour_camera"]

    rejected: dict[str, int] = {}
    crops = list(iter_face_crops(photos, SIZE_PX, landmarker_path=landmarker_path,
                                 rejected=rejected))  # fmt: skip
    assert crops == []
    assert rejected == {"colour_cast": 1, "needs_colour_camera": 2}
    # a model that takes grey input: the grey faces are kept, as the analyzer keeps them
    kept = list(iter_face_crops(photos, SIZE_PX, landmarker_path=landmarker_path,
                                grey_input_supported=True))  # fmt: skip
    assert sorted(label for label, _ in kept) == ["frame000001#0", "frame000002#0"]


def test_calibrate_says_why_no_face_of_a_grey_folder_was_kept(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    from wds_edge.errors import DataError
    from wds_edge_calibration.build import build_calibration_set

    photos = tmp_path / "grey"
    photos.mkdir()
    grey = cv2.cvtColor(read_image(faces_dir / "biden2.jpg"), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(photos / "grey.png"), grey)
    with pytest.raises(DataError, match=r"1 needs_colour_camera.*colour\) camera") as refused:
        build_calibration_set(photos, tmp_path / "calib", size_px=SIZE_PX,
                              landmarker_path=landmarker_path)  # fmt: skip
    assert not (tmp_path / "calib").exists()
    # the hint names the option that keeps them, and the manifest records it (quantize
    # compares it with the model's grey_input_supported)
    assert "grey_input_supported" in str(refused.value) and "--grey-input" in str(refused.value)
    kept = build_calibration_set(
        photos, tmp_path / "calib", size_px=SIZE_PX, landmarker_path=landmarker_path,
        grey_input_supported=True,
    )  # fmt: skip
    assert kept.manifest.grey_input_supported is True
    manifest = json.loads((kept.path / "manifest.json").read_text())
    assert manifest["grey_input_supported"] is True
    colour = build_calibration_set(faces_dir / "biden2.jpg", tmp_path / "colour",
                                   size_px=SIZE_PX, landmarker_path=landmarker_path)  # fmt: skip
    assert colour.manifest.grey_input_supported is False


def test_a_large_photos_crop_is_the_analyzers_crop(
    faces_dir: Path, landmarker_path: Path, fixture_analyzer
) -> None:
    """biden.jpg is 970 x 2204: the analyzer finds its landmarks on the frame downscaled to
    1920 px (max_landmark_side_px); calibration ran them at full size, so its crops were
    slightly off the kiosk's (4.5 grey levels on average at 640 px)."""
    photo = faces_dir / "biden.jpg"
    frame = read_image(photo)
    assert max(frame.shape[:2]) > fixture_analyzer.config.max_landmark_side_px
    located = fixture_analyzer.locate(frame)
    assert located.status.value == "ok"
    kiosk = located.face_crop.crop_rgb
    ((_, gated),) = iter_face_crops(photo, SIZE_PX, landmarker_path=landmarker_path)
    ((_, ungated),) = face_crops_from_images([photo], SIZE_PX, landmarker_path=landmarker_path)
    np.testing.assert_array_equal(gated, kiosk)
    np.testing.assert_array_equal(ungated, kiosk)


def test_stride_thins_video_frames_never_photos(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`--stride` is 'Video: use every n-th frame'; on a photo folder it used to drop every
    other photo."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("biden2.jpg", "obama.jpg"):
        (photos / name).symlink_to(faces_dir / name)
    with caplog.at_level("WARNING"):
        crops = list(iter_face_crops(photos, SIZE_PX, landmarker_path=landmarker_path,
                                     frame_stride=2))  # fmt: skip
    assert [label for label, _ in crops] == ["frame000000#0", "frame000001#0"]
    assert "frame stride 2 ignored" in caplog.text
