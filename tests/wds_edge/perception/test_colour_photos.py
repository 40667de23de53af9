"""No false colour refusals (issue 21): every colour photo under ../shared/data (faces,
faces_pd, frames of the kiosk clip) passes the white-balance gate of the analyzer; the
grey and strong-cast refusals are tested in test_colour.py and model/test_bundled_colour.py."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageEnhance

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.io import read_image
from wds_edge.perception.colour import (
    GREY_MAX_CHROMA_SPREAD,
    MAX_BLUE_OVER_GREEN,
    MIN_RED_OVER_BLUE,
    MIN_RED_OVER_GREEN,
)


@pytest.fixture(scope="module")
def locator(onnx_model_path: Path, landmarker_path: Path):  # noqa: ANN201
    with WrinkleAnalyzer(
        model_path=str(onnx_model_path), landmarker_path=str(landmarker_path),
        backend="onnxruntime", num_threads=1, warmup=False,
    ) as analyzer:  # fmt: skip
        yield analyzer


def _photos(shared_dir: Path) -> list[Path]:
    data = shared_dir / "data"
    suffixes = {".jpg", ".jpeg", ".png"}
    return sorted(
        p for d in ("faces", "faces_pd") for p in (data / d).iterdir() if p.suffix in suffixes
    )


def test_no_shared_colour_photo_or_clip_frame_is_called_a_colour_cast(
    locator, shared_dir: Path, video_path: Path
) -> None:  # noqa: ANN001
    photos = _photos(shared_dir)
    assert len(photos) == 33  # 9 in faces, 24 in faces_pd
    measured = {}
    for path in photos:
        result = locator.locate(read_image(path))
        assert result.status.value not in ("colour_cast", "needs_colour_camera"), (
            path.name,
            result.quality,
        )
        if "skin_red_over_blue" in result.quality:
            measured[path.name] = _ratios(result.quality)
    cap = cv2.VideoCapture(str(video_path))
    for index in range(0, 180, 10):  # the frames with a sharp face
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = cap.read()
        assert ok
        result = locator.locate(frame)
        assert result.status.value == "ok", (index, result.status, result.quality)
        measured[f"clip {index}"] = _ratios(result.quality)
    cap.release()
    # Each limit keeps a margin from the photo nearest it: the coolest (S001218, R / B 1.26),
    # the least red (C001131, R / G 1.21), the bluest (D000216, B / G 0.99) and the one
    # whose skin chroma varies least (B001260, 0.13 of its green level).
    by = {k: sorted(measured.items(), key=lambda kv, k=k: kv[1][k]) for k in range(4)}
    assert by[0][0][1][0] > MIN_RED_OVER_BLUE + 0.2, by[0][:3]
    assert by[1][0][1][1] > MIN_RED_OVER_GREEN + 0.09, by[1][:3]
    assert by[2][-1][1][2] < MAX_BLUE_OVER_GREEN - 0.2, by[2][-3:]
    assert by[3][0][1][3] > 1.5 * GREY_MAX_CHROMA_SPREAD, by[3][:3]


def _ratios(quality: dict[str, float]) -> tuple[float, float, float, float]:
    """(R / B, R / G, B / G, chroma spread) of the face's skin."""
    rb, rg = quality["skin_red_over_blue"], quality["skin_red_over_green"]
    return rb, rg, rg / rb, quality["skin_chroma_spread"]


def test_issue_21_cool_portraits_pass(locator, shared_dir: Path) -> None:  # noqa: ANN001
    """Issue 21: an everyday outdoor portrait in slightly cool light (skin R / B 1.06,
    R / G 1.19, so B / G 1.12) is ok, neither colour_cast nor grey. Every shared photo the
    analyzer passes is re-coloured to those ratios by per-channel gains from its own skin
    means (the former blue / green limit 1.08 refused all of them)."""
    checked = 0
    for path in _photos(shared_dir):
        frame = read_image(path)
        before = locator.locate(frame)
        if before.status.value != "ok":
            continue  # too small a face: not measured
        rb, rg, bg, _ = _ratios(before.quality)
        gains = (1.19 / 1.06 / bg, 1.0, 1.19 / rg)  # BGR
        cool = np.clip(frame.astype(np.float64) * gains, 0, 255).round().astype(np.uint8)
        result = locator.locate(cool)
        assert result.status.value == "ok", (path.name, result.status, result.quality)
        assert result.colour == "colour"
        rb, rg, bg, chroma = _ratios(result.quality)
        assert abs(rg - 1.19) < 0.02 and abs(rb - 1.06) < 0.03, (path.name, result.quality)
        assert bg > 1.1 and chroma > 1.5 * GREY_MAX_CHROMA_SPREAD, (path.name, result.quality)
        checked += 1
    assert checked >= 25


def test_dim_colour_photos_are_not_called_grey(locator, shared_dir: Path) -> None:  # noqa: ANN001
    """Every shared photo darkened to a skin brightness of 60 (the gate takes 50 and up)
    and saved as JPEG at quality 85, as a kiosk camera in poor light gives it: skin chroma
    shrinks with the light (8 grey levels on the least colourful faces that pass the gates,
    under a limit of 15 grey levels); measured relative to the skin's level it stays a
    colour photo."""
    measured = 0
    for path in _photos(shared_dir):
        frame = read_image(path)
        before = locator.locate(frame)
        if before.status.value != "ok":
            continue
        dim = np.clip(frame * (60.0 / before.quality["brightness"]), 0, 255).round()
        ok, data = cv2.imencode(".jpg", dim.astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 85])
        result = locator.locate(cv2.imdecode(data, cv2.IMREAD_COLOR))
        assert result.status.value not in ("needs_colour_camera", "colour_cast"), (
            path.name,
            result.quality,
        )
        measured += "skin_chroma_spread" in result.quality
    assert measured >= 10  # the others are too blurry once dark


def test_a_green_cast_is_refused_with_what_to_fix(locator, faces_dir: Path) -> None:  # noqa: ANN001
    """The model scores such a face near zero with a confident look (obama.jpg: ok, overall
    0.017 -> 0.000); the analyzer refuses it and says to fix the light or the camera."""
    frame = read_image(faces_dir / "obama.jpg")
    frame = np.clip(frame.astype(np.float32) * (1.0, 1.4, 1.0), 0, 255).astype(np.uint8)
    result = locator.locate(frame)
    assert result.status.value == "colour_cast", (result.status, result.quality)
    assert "white light" in result.prompt and "colour camera" in result.prompt


@pytest.mark.parametrize(
    "ratios", [(1.06, 1.06), (1.1, 1.1), (1.15, 1.15), (1.19, 1.12), (1.19, 1.19), (1.25, 1.0)]
)
def test_a_tinted_grey_picture_is_refused_as_a_colour_cast(
    locator, faces_dir: Path, ratios: tuple[float, float]
) -> None:  # noqa: ANN001
    """A grey picture with a tint (R and B raised by a constant offset, saved as JPEG at
    quality 85) is refused whatever its mean skin ratios: within the range of real skin
    (R / G 1.1-1.25, B / G up to the blue limit) they cannot tell it from a colour photo, its
    flat chroma can. The ratio limits alone passed all but the first as ok, scored near zero
    by the model. Its channels differ, so it is colour_cast (the colours are off), not
    needs_colour_camera: only equal channels are a grey camera."""
    frame = read_image(faces_dir / "obama.jpg")
    grey = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    level = locator.locate(grey).quality["brightness"]  # mean grey level of the face's skin
    offsets = ((ratios[1] - 1.0) * level, 0.0, (ratios[0] - 1.0) * level)  # BGR
    tinted = np.clip(grey + np.array(offsets), 0, 255).round().astype(np.uint8)
    ok, data = cv2.imencode(".jpg", tinted, [cv2.IMWRITE_JPEG_QUALITY, 85])
    result = locator.locate(cv2.imdecode(data, cv2.IMREAD_COLOR))
    assert result.status.value == "colour_cast", (result.status, result.quality)
    assert result.colour == "colour" and "white balance" in result.prompt
    assert result.quality["skin_chroma_spread"] <= GREY_MAX_CHROMA_SPREAD, result.quality
    assert abs(result.quality["skin_red_over_green"] - ratios[0]) < 0.03, result.quality


@pytest.mark.parametrize(
    ("name", "saturation"), [("B001260.jpg", 0.5), ("B001260.jpg", 0.6), ("H001072.jpg", 0.5)]
)
def test_a_washed_out_colour_photo_is_a_colour_cast_not_a_grey_camera(
    locator, shared_dir: Path, name: str, saturation: float
) -> None:  # noqa: ANN001
    """A colour portrait with its saturation turned down (Pillow's ImageEnhance.Color, saved
    as JPEG at quality 90: skin R / G 1.12-1.14, R / B 1.15-1.2, plainly colour) has skin
    chroma as flat as a tinted grey picture's (0.053-0.065 of the skin's level on the test
    model's 256 px crop; H001072 at 0.6 measures 0.086 there and passes). It is refused, as
    the model's score drops, but as colour_cast, whose prompt names the colour settings, not
    as needs_colour_camera ("a colour camera is needed", as 2c7e70c said)."""
    photo = Image.open(shared_dir / "data" / "faces_pd" / name).convert("RGB")
    buffer = io.BytesIO()
    ImageEnhance.Color(photo).enhance(saturation).save(buffer, "JPEG", quality=90)
    frame = cv2.imdecode(np.frombuffer(buffer.getvalue(), np.uint8), cv2.IMREAD_COLOR)
    result = locator.locate(frame)
    assert result.status.value == "colour_cast", (result.status, result.quality)
    assert result.colour == "colour"
    assert "colour saturation" in result.prompt and "white balance" in result.prompt
    assert result.quality["skin_red_over_green"] > 1.1, result.quality
    assert result.quality["skin_chroma_spread"] <= GREY_MAX_CHROMA_SPREAD, result.quality
