"""`analyze --save-mask` / FrameResult.frame_mask: the wrinkle mask in the input's own frame."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from wds_edge.analysis.overlay import WRINKLE_COLOR_BGR, draw_overlay
from wds_edge.analysis.result import FrameResult
from wds_edge.cli import app
from wds_edge.io import read_image


@pytest.fixture(scope="module")
def bundled_analyzer(landmarker_path: Path):  # noqa: ANN201 - WrinkleAnalyzer
    """The bundled starter model (it marks wrinkles on real photos; the test proxy may not)."""
    from wds_edge.analysis.analyzer import WrinkleAnalyzer

    with WrinkleAnalyzer(
        landmarker_path=str(landmarker_path), backend="onnxruntime", num_threads=1
    ) as a:
        yield a


def _portrait(faces_dir: Path, tmp_path: Path) -> Path:
    """biden2 tilted by 8 degrees (the crop then rotates) and padded to a tall frame."""
    img = read_image(faces_dir / "biden2.jpg")
    h, w = img.shape[:2]
    img = cv2.warpAffine(img, cv2.getRotationMatrix2D((w / 2, h / 2), 8.0, 1.0), (w, h))
    img = cv2.copyMakeBorder(img, 0, w // 2, 11, 0, cv2.BORDER_CONSTANT, value=(40, 40, 40))
    path = tmp_path / "turned.png"
    cv2.imwrite(str(path), img)
    return path


def test_frame_mask_is_the_pasted_back_crop_mask(
    bundled_analyzer, faces_dir: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    path = _portrait(faces_dir, tmp_path)
    image = read_image(path)
    result = bundled_analyzer.analyze(image)
    assert result.segmented and result.wrinkle_mask.any()
    mask = result.frame_mask()
    assert mask.shape == image.shape[:2] and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 255} and (mask == 255).any()
    # The overlay colours the counted ones of these pixels (alpha 1: exactly the wrinkle
    # colour there) and no pixel off the mask.
    over = draw_overlay(image, result, show_regions=False, show_scores=False, alpha=1.0)
    tinted = np.all(over == np.array(WRINKLE_COLOR_BGR, np.uint8), axis=2)
    on = mask == 255
    counted = result.wrinkle_mask & result.counted_regions.overall
    counted_on = result.crop_transform.paste_back(counted, image.shape)
    assert counted_on.any() and tinted[counted_on].mean() > 0.98
    assert not (tinted & ~on).any()
    # Mask pixels map back into the crop onto wrinkle pixels of the crop mask.
    ys, xs = np.nonzero(on)
    crop_pts = result.crop_transform.points_to_crop(np.stack([xs, ys], 1).astype(float))
    cx = np.clip(np.round(crop_pts[:, 0]).astype(int), 0, result.wrinkle_mask.shape[1] - 1)
    cy = np.clip(np.round(crop_pts[:, 1]).astype(int), 0, result.wrinkle_mask.shape[0] - 1)
    assert result.wrinkle_mask[cy, cx].mean() > 0.9


def test_no_mask_when_the_model_did_not_run() -> None:
    from wds_edge.perception.quality import FrameStatus

    result = FrameResult(status=FrameStatus.NO_FACE, prompt="", frame_shape=(10, 20))
    assert result.frame_mask() is None


def test_cli_save_mask_writes_the_input_sized_png(
    landmarker_path: Path, faces_dir: Path, tmp_path: Path
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    turned = _portrait(faces_dir, inputs)
    shutil.copy(faces_dir / "obama2.jpg", inputs / "obama2.jpg")
    out = tmp_path / "out"
    args = [
        "analyze", str(inputs), "--out", str(out), "--save-mask", "--landmarker",
        str(landmarker_path), "--backend", "onnxruntime", "--threads", "1",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for src in (turned, inputs / "obama2.jpg"):
        mask = cv2.imread(str(out / f"{src.stem}_mask.png"), cv2.IMREAD_UNCHANGED)
        image = read_image(src)
        assert mask is not None and mask.shape == image.shape[:2] and mask.dtype == np.uint8
        assert set(np.unique(mask)) <= {0, 255}
        assert (out / f"{src.stem}.json").is_file()
    # The file holds what the Python API gives for the same input.
    from wds_edge.analysis.analyzer import WrinkleAnalyzer

    with WrinkleAnalyzer(
        landmarker_path=str(landmarker_path), backend="onnxruntime", num_threads=1
    ) as a:
        api = a.analyze_file(turned).frame_mask()
    np.testing.assert_array_equal(cv2.imread(str(out / "turned_mask.png"), 0), api)


def test_cli_save_mask_needs_out(faces_dir: Path) -> None:
    result = CliRunner().invoke(app, ["analyze", str(faces_dir / "biden2.jpg"), "--save-mask"])
    assert result.exit_code != 0
    assert "--out" in str(result.exception) + result.output
