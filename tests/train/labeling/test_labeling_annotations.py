"""LabelMe / CVAT parsing and rasterization on tiny fixtures; mask-image rough annotations."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from wds_edge.errors import DataError
from wds_edge_train.labeling.annotations import (
    index_rough_annotations,
    rasterize_shapes,
    read_cvat_xml,
    read_labelme,
    read_mask_image,
    rough_mask,
)

LINE = [[2.0, 10.0], [17.0, 10.0]]
SQUARE = [[2.0, 2.0], [6.0, 2.0], [6.0, 6.0], [2.0, 6.0]]


def _labelme(
    path: Path, image_path: str, shapes: list[dict], w: object = 20, h: object = 20
) -> Path:
    doc = {"version": "5.4.1", "shapes": shapes, "imagePath": image_path,
           "imageWidth": w, "imageHeight": h, "imageData": None}  # fmt: skip
    path.write_text(json.dumps(doc))
    return path


def _expected_line(width: int) -> np.ndarray:
    """Hand-drawn: a horizontal line at y = 10 from x = 2 to 17, ``width`` px thick."""
    m = np.zeros((20, 20), bool)
    half = width // 2
    m[10 - half : 10 + half + 1, 2:18] = True
    return m


def test_labelme_linestrip_and_polygon(tmp_path: Path) -> None:
    path = _labelme(tmp_path / "a.json", "..\\photos\\face01.jpg", [
        {"label": "wrinkle", "points": LINE, "shape_type": "linestrip"},
        {"label": "wrinkle", "points": SQUARE, "shape_type": "polygon"},
        {"label": "x", "points": [[1, 1]], "shape_type": "point"},
    ])  # fmt: skip
    ann = read_labelme(path)
    assert ann.image_name.endswith("face01.jpg") and (ann.width_px, ann.height_px) == (20, 20)
    assert [s.kind for s in ann.shapes] == ["polyline", "polygon"]
    line = rasterize_shapes(ann.shapes[:1], (20, 20), stroke_width_px=3)
    expected = _expected_line(3)
    # Straight runs are exact; only the round caps (1 px beyond the end points) may differ.
    np.testing.assert_array_equal(line[:, 3:17], expected[:, 3:17])
    assert not line[:, :1].any() and not line[:, 19:].any()
    square = rasterize_shapes(ann.shapes[1:], (20, 20), stroke_width_px=1)
    expected_square = np.zeros((20, 20), bool)
    expected_square[2:7, 2:7] = True
    np.testing.assert_array_equal(square, expected_square)
    wide = rasterize_shapes(ann.shapes[:1], (20, 20), stroke_width_px=5)
    np.testing.assert_array_equal(wide[:, 4:16], _expected_line(5)[:, 4:16])


def test_cvat_xml_matches_labelme(tmp_path: Path) -> None:
    xml = tmp_path / "annotations.xml"
    xml.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations><version>1.1</version>'
        '<image id="0" name="images/face01.jpg" width="20" height="20">'
        '<polyline label="wrinkle" occluded="0" source="manual" '
        'points="2.00,10.00;17.00,10.00" z_order="0"/>'
        '<polygon label="wrinkle" points="2,2;6,2;6,6;2,6"/>'
        "</image>"
        '<image id="1" name="face02.png" width="30" height="10">'
        '<box label="w" xtl="1" ytl="1" xbr="3" ybr="2"/></image></annotations>'
    )
    anns = read_cvat_xml(xml)
    assert [a.image_name for a in anns] == ["images/face01.jpg", "face02.png"]
    got = rasterize_shapes(anns[0].shapes, (20, 20), 3)
    lm = read_labelme(_labelme(tmp_path / "b.json", "face01.jpg", [
        {"points": LINE, "shape_type": "line"}, {"points": SQUARE, "shape_type": "polygon"},
    ]))  # fmt: skip
    np.testing.assert_array_equal(got, rasterize_shapes(lm.shapes, (20, 20), 3))
    box = rasterize_shapes(anns[1].shapes, (10, 30), 1)
    assert box.sum() == 6 and box[1:3, 1:4].all()


def test_bad_annotations_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DataError, match="cannot read LabelMe JSON"):
        read_labelme(bad)
    with pytest.raises(DataError, match="malformed points"):
        read_labelme(
            _labelme(tmp_path / "c.json", "x.jpg", [{"points": [1, 2, 3], "shape_type": "line"}])
        )
    video = tmp_path / "video.xml"
    video.write_text("<annotations><track id='0'/></annotations>")
    with pytest.raises(DataError, match="CVAT for images"):
        read_cvat_xml(video)


def test_index_and_rough_mask(tmp_path: Path) -> None:
    rough = tmp_path / "rough"
    rough.mkdir()
    m = np.zeros((20, 20), np.uint8)
    m[5:8, 5:15] = 255
    cv2.imwrite(str(rough / "face03_mask.png"), m)
    cv2.imwrite(str(rough / "face04.png"), (m > 0).astype(np.uint8))  # a 0/1 mask
    cv2.imwrite(str(rough / "small.png"), m[:10])
    _labelme(rough / "face01.json", "face01.jpg", [{"points": LINE, "shape_type": "linestrip"}])
    _labelme(rough / "wrong.json", "wrong.jpg", [{"points": LINE, "shape_type": "line"}], w=40)
    (rough / "broken.json").write_text("[")
    index, problems = index_rough_annotations(rough)
    assert set(index) == {"face03", "face04", "small", "face01", "wrong"}
    assert "broken" in problems
    np.testing.assert_array_equal(rough_mask(index["face03"], (20, 20)), m > 0)
    np.testing.assert_array_equal(read_mask_image(rough / "face04.png"), m > 0)
    assert rough_mask(index["face01"], (20, 20), 3).sum() > 40
    with pytest.raises(DataError, match="rough mask is 20x10 but the image is 20x20"):
        rough_mask(index["small"], (20, 20))
    with pytest.raises(DataError, match="40x20 image"):
        rough_mask(index["wrong"], (20, 20))
    cv2.imwrite(str(rough / "empty.png"), np.zeros((20, 20), np.uint8))
    index, _ = index_rough_annotations(rough)
    with pytest.raises(DataError, match="is empty"):
        rough_mask(index["empty"], (20, 20))


def test_rough_strokes_drawn_in_the_alpha_channel(tmp_path: Path) -> None:
    # Black strokes on a transparent canvas (what many paint programs save): the strokes are
    # only in the alpha; the reader of the training labels decides the same way.
    from wds_edge_train.data import read_mask

    rough = tmp_path / "rough"
    rough.mkdir()
    m = np.zeros((20, 20), bool)
    m[5:8, 5:15] = True
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 3] = np.where(m, 255, 0)
    Image.fromarray(rgba, "RGBA").save(rough / "face05.png")
    index, problems = index_rough_annotations(rough)
    assert not problems
    np.testing.assert_array_equal(rough_mask(index["face05"], (20, 20)), m)
    np.testing.assert_array_equal(read_mask(rough / "face05.png"), m)
    rgba[15:, :] = (255, 0, 0, 128)  # colour and alpha both vary: refused, not guessed
    Image.fromarray(rgba, "RGBA").save(rough / "face06.png")
    index, _ = index_rough_annotations(rough)
    with pytest.raises(DataError, match="both the colour and the transparency"):
        rough_mask(index["face06"], (20, 20))


def test_image_size_that_is_not_a_number_is_a_problem_of_that_file(tmp_path: Path) -> None:
    # int("300px") used to raise ValueError out of the index: the whole label run died.
    rough = tmp_path / "rough"
    rough.mkdir()
    line = [{"points": LINE, "shape_type": "linestrip"}]
    _labelme(rough / "good.json", "good.jpg", line, w="20.0", h=20)
    _labelme(rough / "px.json", "px.jpg", line, w="20px")
    (rough / "cvat.xml").write_text(
        '<annotations><image id="0" name="c.jpg" width="20" height="20.5">'
        '<polyline points="2,10;17,10"/></image></annotations>'
    )
    index, problems = index_rough_annotations(rough)
    assert set(index) == {"good"} and rough_mask(index["good"], (20, 20)).any()
    assert "px.json: imageWidth is '20px', not a whole number of pixels" in problems["px"]
    assert "the height of image c.jpg is '20.5', not a whole number" in problems["cvat"]


def test_a_photo_or_an_inverted_mask_is_not_read_as_a_rough_mask(
    faces_dir: Path, tmp_path: Path
) -> None:
    photo = cv2.resize(cv2.imread(str(faces_dir / "biden2.jpg")), (120, 100))
    cv2.imwrite(str(tmp_path / "face01.jpg"), photo)
    with pytest.raises(DataError, match="looks like a photo, not a rough mask"):
        read_mask_image(tmp_path / "face01.jpg")
    inverted = np.full((100, 120), 255, np.uint8)
    inverted[40:45, 10:110] = 0  # dark strokes on a white canvas
    cv2.imwrite(str(tmp_path / "inverted.png"), inverted)
    with pytest.raises(DataError, match="foreground; a rough mask has bright strokes"):
        read_mask_image(tmp_path / "inverted.png")
    # an anti-aliased JPEG mask (grey edges only) is still a mask
    soft = np.zeros((100, 120), np.uint8)
    cv2.line(soft, (10, 40), (110, 45), 255, 7, cv2.LINE_AA)
    cv2.imwrite(str(tmp_path / "soft_mask.jpg"), soft)
    assert read_mask_image(tmp_path / "soft_mask.jpg")[42, 60]
    # excluded files (the photos of the run) are not indexed at all
    index, problems = index_rough_annotations(tmp_path, exclude=[tmp_path / "face01.jpg"])
    assert "face01" not in index and not problems


def test_cvat_shapes_that_cannot_be_rasterized_are_left_out_with_a_warning(
    tmp_path: Path,
) -> None:
    """One <ellipse> made the whole XML a problem (every image: 'no rough annotation')."""
    xml = tmp_path / "annotations.xml"
    xml.write_text(
        '<annotations><image id="0" name="face01.jpg" width="20" height="20">'
        '<polyline label="wrinkle" points="2,10;17,10"/>'
        '<ellipse label="mole" cx="5" cy="5" rx="2" ry="1"/><tag label="ok"/></image>'
        '<image id="1" name="face02.jpg" width="20" height="20">'
        '<mask label="w" rle="1, 2" left="0" top="0" width="2" height="2"/>'
        '<polygon points="2,2;6,2;6,6;2,6"/></image></annotations>'
    )
    first, second = read_cvat_xml(xml)
    assert [s.kind for s in first.shapes] == ["polyline"]
    assert [s.kind for s in second.shapes] == ["polygon"]
    (warning,) = first.warnings
    assert "annotations.xml: left out <ellipse> of image face01.jpg" in warning
    assert "<mask> of image face02.jpg" in second.warnings[0]
    index, problems = index_rough_annotations(tmp_path)
    assert not problems and index["face01"].warnings() == [warning]
    assert rough_mask(index["face01"], (20, 20), 3)[10, 3:17].all()


def test_labelme_shapes_that_cannot_be_rasterized_are_left_out_with_a_warning(
    tmp_path: Path,
) -> None:
    """One "mask" or "circle" shape failed the whole LabelMe file, its lines with it (CVAT
    leaves such shapes out with a warning): now they are left out, the lines kept."""
    lm = read_labelme(_labelme(tmp_path / "face01.json", "face01.jpg", [
        {"points": LINE, "shape_type": "line"}, {"points": [[5, 5]], "shape_type": "point"},
        {"points": [[5, 5], [7, 5]], "shape_type": "circle"},
        {"points": LINE, "shape_type": "mask", "mask": "iVBORw0KGgo="},
    ]))  # fmt: skip
    assert [s.kind for s in lm.shapes] == ["polyline"]
    circle, mask = lm.warnings
    assert circle.startswith("face01.json: left out <circle> shapes[2]: it cannot be rasterized")
    assert mask.startswith("face01.json: left out <mask> shapes[3]") and "polygon" in mask
    index, problems = index_rough_annotations(tmp_path)
    assert not problems and index["face01"].warnings() == [circle, mask]
    assert rough_mask(index["face01"], (20, 20), 3)[10, 3:17].all()
