"""The batch run: bad files are reported and skipped, nothing is half-written, --force."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

import wds_edge_train.labeling.runner as runner
from wds_edge.cli import app
from wds_edge.errors import InvalidInputError
from wds_edge_train.labeling.runner import LabelOptions, label_folder


def _photo(seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.clip(rng.normal(170, 6, size=(h, w, 3)), 0, 255).astype(np.uint8)
    img[20, 8:56] = 90  # a wrinkle
    return img


def _stroke(h: int = 48, w: int = 64) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[17:24, 8:56] = 255
    return m


@pytest.fixture()
def batch(tmp_path: Path) -> tuple[Path, Path]:
    images, rough = tmp_path / "images", tmp_path / "rough"
    images.mkdir()
    rough.mkdir()
    for i in range(3):
        cv2.imwrite(str(images / f"good{i}.png"), _photo(i))
        cv2.imwrite(str(rough / f"good{i}.png"), _stroke())
    (images / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG \xff\xd9")
    cv2.imwrite(str(rough / "corrupt.png"), _stroke())
    cv2.imwrite(str(images / "mismatch.png"), _photo(7))
    cv2.imwrite(str(rough / "mismatch.png"), _stroke(40, 40))
    cv2.imwrite(str(images / "empty.png"), _photo(8))
    cv2.imwrite(str(rough / "empty.png"), np.zeros((48, 64), np.uint8))
    cv2.imwrite(str(images / "unannotated.png"), _photo(9))
    return images, rough


def _leftovers(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.name.startswith(".") and p.suffix == ".tmp"]


def test_bad_files_are_reported_and_skipped(batch: tuple[Path, Path], tmp_path: Path) -> None:
    images, rough = batch
    out = tmp_path / "out"
    seen: list[str] = []
    summary = label_folder(images, out, rough_dir=rough, progress=lambda d, t, n: seen.append(n))
    assert len(seen) == 7
    status = {i.stem: i for i in summary.items}
    assert [s for s, i in status.items() if i.status == "ok"] == ["good0", "good1", "good2"]
    assert "cannot decode" in status["corrupt"].message
    assert "rough mask is 40x40 but the image is 64x48" in status["mismatch"].message
    assert "is empty" in status["empty"].message
    assert "no rough annotation for unannotated.png" in status["unannotated"].message
    for stem in ("good0", "good1", "good2"):
        mask = cv2.imread(str(out / "masks" / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
        assert set(np.unique(mask)) == {0, 255} and mask[20, 10:54].all()
        assert not mask[_stroke() == 0].any()
        assert cv2.imread(str(out / "images" / f"{stem}.png")).shape == (48, 64, 3)
        assert cv2.imread(str(out / "previews" / f"{stem}.jpg")) is not None
    for stem in ("corrupt", "mismatch", "empty", "unannotated"):
        assert not list(out.rglob(f"{stem}.*"))
    assert not _leftovers(out)
    doc = json.loads((out / "labels.json").read_text())
    assert doc["counts"] == {"total": 7, "ok": 3, "skipped": 0, "failed": 4}
    assert doc["weak_labels"] is False


def test_never_overwrites_without_force(batch: tuple[Path, Path], tmp_path: Path) -> None:
    images, rough = batch
    out = tmp_path / "out"
    label_folder(images, out, rough_dir=rough)
    before = (out / "masks" / "good0.png").stat().st_mtime_ns
    with pytest.raises(InvalidInputError, match="--force"):
        label_folder(images, out, rough_dir=rough)
    assert (out / "masks" / "good0.png").stat().st_mtime_ns == before
    # With --force a file that now fails loses its stale outputs.
    cv2.imwrite(str(rough / "good1.png"), np.zeros((48, 64), np.uint8))
    summary = label_folder(images, out, rough_dir=rough, options=LabelOptions(force=True))
    assert summary.n_ok == 2 and not (out / "masks" / "good1.png").exists()


def test_force_removes_the_outputs_of_photos_no_longer_in_the_run(
    batch: tuple[Path, Path], tmp_path: Path
) -> None:
    # Stale masks were trained on (discover_samples finds them) though labels.json did not
    # list them: with --force, OUT holds exactly this run's labels.
    from wds_edge_train.data import discover_samples

    images, rough = batch
    out = tmp_path / "out"
    label_folder(images, out, rough_dir=rough)
    (out / "masks" / "notes.txt").write_text("not an output of the run")
    (images / "good2.png").unlink()
    summary = label_folder(images, out, rough_dir=rough, options=LabelOptions(force=True))
    assert [i.stem for i in summary.items if i.status == "ok"] == ["good0", "good1"]
    assert not list(out.rglob("good2.*"))
    assert (out / "masks" / "notes.txt").exists()
    _, samples = discover_samples(out)
    listed = json.loads((out / "labels.json").read_text())["items"]
    assert [s.stem for s in samples] == [i["stem"] for i in listed if i["status"] == "ok"]
    help_text = CliRunner().invoke(app, ["label", "--help"]).output.replace("│", " ")
    assert "photos that are not in --images" in " ".join(help_text.split())


def test_failed_write_leaves_no_partial_outputs(
    batch: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    images, rough = batch
    out = tmp_path / "out"
    real = runner.write_image_atomic

    def failing(path: Path, image: np.ndarray) -> Path:
        if Path(path).name == "good1.jpg":  # the preview, after the image was written
            raise OSError("disk full")
        return real(path, image)

    monkeypatch.setattr(runner, "write_image_atomic", failing)
    summary = label_folder(images, out, rough_dir=rough)
    item = next(i for i in summary.items if i.stem == "good1")
    assert item.status == "failed" and "disk full" in item.message
    assert not list(out.rglob("good1.*")) and (out / "masks" / "good2.png").exists()
    assert not _leftovers(out)


def test_cli_exit_codes(batch: tuple[Path, Path], tmp_path: Path) -> None:
    images, rough = batch
    result = CliRunner().invoke(
        app, ["label", "--images", str(images), "--rough", str(rough), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1, result.output
    assert "3 labelled, 4 failed" in " ".join(result.output.split())
    usage = subprocess.run(
        [sys.executable, "-m", "wds_edge.cli", "label", "--images", str(images),
         "--out", str(tmp_path / "p")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert usage.returncode == 2 and "--rough DIR or --auto" in usage.stderr
    help_text = CliRunner().invoke(app, ["label", "--help"]).output
    assert "Bradley-Roth" in help_text and "official code" in " ".join(help_text.split())


def test_rough_strokes_on_a_photo_are_labelled_in_the_kiosk_crop(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    """--crop-faces: the photo and its strokes are cut by the kiosk's crop first (paper
    Sec. 4.1: photos cropped and resized to 640 before the ground truth is made), so the
    label lands where the stroke was drawn, in crop pixels, with the crop's landmarks."""
    from wds_edge.analysis.analyzer import WrinkleAnalyzer
    from wds_edge.io import read_image

    photo = read_image(faces_dir / "biden2.jpg")
    with WrinkleAnalyzer(landmarker_path=str(landmarker_path)) as analyzer:
        transform = analyzer.locate(photo).crop_transform
    assert transform is not None
    # a stroke across the forehead, drawn in the photo along crop row 150, columns 250-390
    ends = transform.points_to_frame(np.array([[250.0, 150.0], [390.0, 150.0]]))
    strokes = np.zeros(photo.shape[:2], np.uint8)
    cv2.line(strokes, *[tuple(int(round(v)) for v in p) for p in ends], 255, 9)
    images, rough = tmp_path / "images", tmp_path / "rough"
    images.mkdir()
    rough.mkdir()
    cv2.imwrite(str(images / "biden2.png"), photo)
    cv2.imwrite(str(rough / "biden2.png"), strokes)
    opts = LabelOptions(crop_faces=True, landmarker_path=landmarker_path)
    summary = label_folder(images, tmp_path / "out", rough_dir=rough, options=opts)
    (item,) = summary.items
    assert item.status == "ok", item.message
    assert (item.width_px, item.height_px) == (640, 640) and item.stats["crop_scale"] > 0
    label = cv2.imread(str(tmp_path / "out" / "masks" / "biden2.png"), cv2.IMREAD_GRAYSCALE)
    assert label.shape == (640, 640) and cv2.imread(
        str(tmp_path / "out" / "images" / "biden2.png")
    ).shape == (640, 640, 3)
    ys, xs = np.nonzero(label)
    assert len(ys) > 20 and abs(np.median(ys) - 150) < 8 and xs.min() >= 240 and xs.max() <= 400
    marks = json.loads((tmp_path / "out" / "landmarks" / "biden2.json").read_text())
    assert marks["crop_size_px"] == 640 and len(marks["landmarks_crop_px"]) == 478
    # without --crop-faces the label keeps the photo's size
    plain = label_folder(images, tmp_path / "plain", rough_dir=rough)
    assert (plain.items[0].width_px, plain.items[0].height_px) == (1200, 1200)


@pytest.mark.parametrize("width", [0, -3])
def test_a_stroke_width_below_one_is_refused_before_any_output(
    batch: tuple[Path, Path], tmp_path: Path, width: int
) -> None:
    """A width < 1 draws nothing: one usage error, not a failure per photo in labels.json."""
    images, rough = batch
    with pytest.raises(InvalidInputError, match=rf"--stroke-width must be .* >= 1, got {width}"):
        LabelOptions(stroke_width_px=width)
    opts = LabelOptions()
    opts.stroke_width_px = width  # changed after construction: label_folder checks again
    out = tmp_path / "out"
    with pytest.raises(InvalidInputError, match="--stroke-width must be"):
        label_folder(images, out, rough_dir=rough, options=opts)
    assert not out.exists()


def test_photos_beside_their_labelme_json_are_not_their_own_rough_masks(
    faces_dir: Path, tmp_path: Path
) -> None:
    """LabelMe saves face01.json beside face01.jpg, so --rough can be the photo folder: the
    photo itself must not become part of its rough mask (it did: 64,562 rough px)."""
    photos = tmp_path / "photos"
    photos.mkdir()
    photo = cv2.resize(cv2.imread(str(faces_dir / "biden2.jpg")), (301, 257))
    cv2.imwrite(str(photos / "face01.jpg"), photo)
    shapes = [{"shape_type": "linestrip", "points": [[60, 60], [200, 70]]}]
    doc = {"shapes": shapes, "imagePath": "face01.jpg", "imageWidth": 301, "imageHeight": 257}
    (photos / "face01.json").write_text(json.dumps(doc))
    summary = label_folder(photos, tmp_path / "out", rough_dir=photos)
    (item,) = summary.items
    assert item.status == "ok", item.message
    assert item.stats["sources"] == ["face01.json"]
    assert 0 < item.rough_px < 7 * 150  # the stroke, not the photo


@pytest.mark.parametrize(
    ("images_in", "rough_in", "refused"),
    [("out/images", "strokes", "--images"), ("photos", "out/masks/sub", "--rough"),
     ("photos", "out", "--rough")],
)  # fmt: skip
def test_an_input_folder_the_run_writes_into_is_refused(
    tmp_path: Path, images_in: str, rough_in: str, refused: str
) -> None:
    """--images OUT/images --force removed the photo of a failed image (and --auto wrote
    its crops over the photos); nothing is touched, whatever --force says."""
    out = tmp_path / "out"
    images, rough = tmp_path / images_in, tmp_path / rough_in
    for folder in (images, rough, out / "images"):
        folder.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(images / "a.png"), _photo(1))
    cv2.imwrite(str(images / "b.png"), _photo(2))  # no stroke: fails
    cv2.imwrite(str(rough / "a.png"), _stroke())
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(InvalidInputError, match=rf"{refused} .* is OUT.*choose another --out"):
        label_folder(images, out, rough_dir=rough, options=LabelOptions(force=True))
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def _cvat(path: Path, body: str) -> None:
    path.write_text(f"<annotations>{body}</annotations>")


def test_cvat_problems_reach_the_photos_and_the_summary(tmp_path: Path) -> None:
    """An unsupported shape is left out with a note on its photo; a file that cannot be
    read and names no photo (annotations.xml) is in the summary and in each message of a
    photo left without a rough annotation (they only said 'no rough annotation')."""
    images, rough = tmp_path / "images", tmp_path / "rough"
    images.mkdir()
    rough.mkdir()
    for stem in ("a", "b"):
        cv2.imwrite(str(images / f"{stem}.png"), _photo(1))
    line = '<polyline points="8,20;55,20"/>'
    _cvat(rough / "annotations.xml",
          f'<image name="a.png" width="64" height="48">{line}<ellipse cx="5" cy="5" rx="2" '
          f'ry="1"/></image><image name="b.png" width="64" height="48">{line}</image>')  # fmt: skip
    summary = label_folder(images, tmp_path / "out", rough_dir=rough)
    a, b = summary.items
    assert a.status == b.status == "ok" and not summary.annotation_problems
    assert "left out <ellipse> of image a.png" in a.message and a.stats["annotation_warnings"]
    assert b.message == ""
    _cvat(
        rough / "annotations.xml",
        '<image name="a.png" width="64" height="48"><polyline points="8,20;oops"/></image>',
    )
    summary = label_folder(images, tmp_path / "out2", rough_dir=rough)
    assert [i.status for i in summary.items] == ["failed", "failed"]
    for item in summary.items:
        assert "could not be read" in item.message and "malformed points" in item.message
    assert "malformed points" in summary.annotation_problems["annotations"]
    doc = json.loads((tmp_path / "out2" / "labels.json").read_text())
    assert doc["annotation_problems"] == summary.annotation_problems


def test_an_interrupted_run_still_says_its_folder_holds_face_crops(
    faces_dir: Path,
    landmarker_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """labels.json was written only at the end: an interrupted --auto run left crops and
    masks without it, so train recorded face_crop_px None (export fell back to 640) and
    --augment auto picked paper instead of kiosk."""
    from wds_edge_train.config import resolve_augment

    images, out = tmp_path / "photos", tmp_path / "weak"
    images.mkdir()
    for name in ("biden2.jpg", "obama.jpg"):
        (images / name).write_bytes((faces_dir / name).read_bytes())
    monkeypatch.setattr(runner, "SUMMARY_EVERY_S", 0.0)
    during: list[dict] = []

    def interrupt(done: int, total: int, name: str) -> None:
        during.append(json.loads((out / "labels.json").read_text()))
        raise KeyboardInterrupt  # Ctrl-C after the first photo

    opts = LabelOptions(crop_size_px=256, landmarker_path=landmarker_path)
    with pytest.raises(KeyboardInterrupt):
        label_folder(images, out, auto=True, options=opts, progress=interrupt)
    assert during[0]["complete"] is False and during[0]["options"]["crop_size_px"] == 256
    doc = json.loads((out / "labels.json").read_text())
    assert doc["complete"] is False and [i["stem"] for i in doc["items"]] == ["biden2"]
    assert (out / "masks" / "biden2.png").exists() and not (out / "masks" / "obama.png").exists()
    assert runner.labelled_face_crop_px(out) == 256 and "did not finish" in caplog.text
    assert resolve_augment("auto", "generic", out) == "kiosk"
    summary = label_folder(images, out, auto=True, options=LabelOptions(
        crop_size_px=256, landmarker_path=landmarker_path, force=True))  # fmt: skip
    assert summary.complete and json.loads((out / "labels.json").read_text())["complete"]


def test_strokes_outside_the_face_crop_are_named_as_such(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    """They failed as 'the threshold left no wrinkle pixel inside the rough annotation'."""
    images, rough = tmp_path / "images", tmp_path / "rough"
    images.mkdir()
    rough.mkdir()
    (images / "biden2.jpg").write_bytes((faces_dir / "biden2.jpg").read_bytes())
    strokes = np.zeros((1200, 1200), np.uint8)
    cv2.line(strokes, (20, 1180), (200, 1180), 255, 7)  # the bottom-left corner, off the face
    cv2.imwrite(str(rough / "biden2.png"), strokes)
    opts = LabelOptions(crop_faces=True, landmarker_path=landmarker_path)
    (item,) = label_folder(images, tmp_path / "out", rough_dir=rough, options=opts).items
    assert item.status == "failed"
    assert "lies outside the kiosk's face crop of the largest face" in item.message
    assert "(1 found;" in item.message and "without --crop-faces" in item.message


def test_a_photo_whose_only_cvat_shapes_were_left_out_says_so(tmp_path: Path) -> None:
    """A photo with only an <ellipse> failed as 'empty; draw at least one stroke', and the
    left-out shape was only in the log: its message names it, and labels.json keeps the
    warnings of a photo that failed (another failure too: the size of b's annotation)."""
    images, rough = tmp_path / "images", tmp_path / "rough"
    images.mkdir()
    rough.mkdir()
    for stem in ("a", "b"):
        cv2.imwrite(str(images / f"{stem}.png"), _photo(1))
    ellipse = '<ellipse cx="5" cy="5" rx="2" ry="1"/>'
    _cvat(rough / "annotations.xml",
          f'<image name="a.png" width="64" height="48">{ellipse}</image>'
          f'<image name="b.png" width="32" height="24"><polyline points="8,20;25,20"/>'
          f"{ellipse}</image>")  # fmt: skip
    summary = label_folder(images, tmp_path / "out", rough_dir=rough)
    a, b = summary.items
    assert a.status == b.status == "failed"
    assert a.message == (
        "a.png: the rough annotation (annotations.xml) is empty: its only shapes (ellipse) "
        "were left out as unsupported; draw polylines, polygons or boxes over the wrinkles"
    )
    assert "were made on a 32x24 image" in b.message
    assert b.message.endswith("left out <ellipse> of image b.png: it cannot be rasterized "
                              "(supported: polyline, polygon, box)")  # fmt: skip
    doc = json.loads((tmp_path / "out" / "labels.json").read_text())
    for item in doc["items"]:
        (warning,) = item["stats"]["annotation_warnings"]
        assert f"left out <ellipse> of image {item['image']}" in warning


def test_a_photo_whose_only_labelme_shapes_were_left_out_says_so(tmp_path: Path) -> None:
    """A LabelMe file with a "circle" or "mask" failed as a whole; one holding nothing
    else fails its photo naming the shapes left out, as a CVAT <ellipse> does."""
    images, rough = tmp_path / "images", tmp_path / "rough"
    images.mkdir()
    rough.mkdir()
    cv2.imwrite(str(images / "a.png"), _photo(1))
    doc = {"shapes": [{"points": [[5, 5], [8, 5]], "shape_type": "circle"},
                      {"points": [[5, 5], [9, 9]], "shape_type": "mask"}],
           "imagePath": "a.png", "imageWidth": 64, "imageHeight": 48}  # fmt: skip
    (rough / "a.json").write_text(json.dumps(doc))
    (item,) = label_folder(images, tmp_path / "out", rough_dir=rough).items
    assert item.status == "failed"
    assert item.message == (
        "a.png: the rough annotation (a.json) is empty: its only shapes (circle, mask) "
        "were left out as unsupported; draw polylines, polygons or boxes over the wrinkles"
    )
    assert len(item.stats["annotation_warnings"]) == 2


def test_two_photos_of_one_stem_are_refused_the_first_kept(tmp_path: Path) -> None:
    """a.jpg and a.png would both write OUT/*/a.png: the second is refused by name, and the
    label of the first stays (it is not removed nor overwritten by the second)."""
    images, rough = tmp_path / "images", tmp_path / "rough"
    images.mkdir()
    rough.mkdir()
    cv2.imwrite(str(images / "a.jpg"), _photo(1))
    cv2.imwrite(str(images / "a.png"), _photo(2)[::-1].copy())  # the wrinkle on row 27
    cv2.imwrite(str(rough / "a.png"), _stroke())
    summary = label_folder(images, tmp_path / "out", rough_dir=rough)
    first, second = summary.items
    assert (first.image, first.status) == ("a.jpg", "ok")
    assert (second.image, second.status) == ("a.png", "failed")
    assert "another image has the stem 'a'; rename one" in second.message
    mask = cv2.imread(str(tmp_path / "out" / "masks" / "a.png"), cv2.IMREAD_GRAYSCALE)
    assert np.count_nonzero(mask) == first.label_px and mask[20, 10:54].all()


def test_a_label_the_threshold_leaves_empty_is_refused(tmp_path: Path) -> None:
    """A stroke on skin without a dark line: the threshold keeps no pixel of it, and an
    empty ground truth would teach 'no wrinkle here': the photo fails, nothing is written."""
    images, rough = tmp_path / "images", tmp_path / "rough"
    images.mkdir()
    rough.mkdir()
    flat = np.full((48, 64, 3), 120, np.uint8)
    flat[15:26] = 220  # a bright band under the stroke: nothing darker than its surround
    cv2.imwrite(str(images / "flat.png"), flat)
    cv2.imwrite(str(rough / "flat.png"), _stroke())
    cv2.imwrite(str(images / "good.png"), _photo(1))
    cv2.imwrite(str(rough / "good.png"), _stroke())
    out = tmp_path / "out"
    summary = label_folder(images, out, rough_dir=rough)
    status = {i.stem: i for i in summary.items}
    assert status["good"].status == "ok"
    assert status["flat"].status == "failed" and status["flat"].rough_px > 0
    assert "the threshold left no wrinkle pixel inside the rough annotation" in (
        status["flat"].message
    )
    assert not list(out.rglob("flat.*"))


def test_photo_names_keep_a_gt_or_mask_ending(tmp_path: Path) -> None:
    """Photo stems lost a _gt / _mask / _rough / _label ending (meant for annotation names):
    B000668_gt.jpg collided with B000668.jpg ('another image has the stem'), and a --groups
    CSV naming anna_gt.jpg did not match its label anna.png. Annotations still match with
    such an ending (anna_label_mask.png -> anna_label.jpg), or named as the photo."""
    from wds_edge_train.data import discover_samples
    from wds_edge_train.folds import image_groups

    images, rough = tmp_path / "images", tmp_path / "rough"
    images.mkdir()
    rough.mkdir()
    for i, name in enumerate(("B000668", "B000668_gt", "anna_gt", "anna_label")):
        cv2.imwrite(str(images / f"{name}.jpg"), _photo(i))
    for name in ("B000668", "B000668_gt", "anna_gt", "anna_label_mask"):
        cv2.imwrite(str(rough / f"{name}.png"), _stroke())
    out = tmp_path / "out"
    summary = label_folder(images, out, rough_dir=rough)
    assert {i.stem: i.status for i in summary.items} == {
        "B000668": "ok", "B000668_gt": "ok", "anna_gt": "ok", "anna_label": "ok",
    }  # fmt: skip
    sources = {i.stem: i.stats["sources"] for i in summary.items}
    assert sources["B000668"] == ["B000668.png"] and sources["B000668_gt"] == ["B000668_gt.png"]
    assert sources["anna_label"] == ["anna_label_mask.png"]
    _, samples = discover_samples(out)
    stems = [s.stem for s in samples]
    assert stems == ["B000668", "B000668_gt", "anna_gt", "anna_label"]
    people = tmp_path / "people.csv"
    people.write_text("image,group\nB000668.jpg,p1\nB000668_gt.jpg,p1\nanna_gt.jpg,anna\n"
                      "anna_label.jpg,anna\n")  # fmt: skip
    assert image_groups(stems, groups_csv=people) == {
        "B000668": "p1", "B000668_gt": "p1", "anna_gt": "anna", "anna_label": "anna",
    }  # fmt: skip


#: Run in a child process: label with --force and die (os._exit, as SIGKILL or a power cut
#: would) the moment the new OUT/images/<stem>.png is in place: an audit hook sees the
#: rename onto it and exits at the next audited operation. Nothing of the runner is replaced.
_KILL_AFTER_IMAGE = """
import os, sys
from wds_edge_train.labeling.runner import LabelOptions, label_folder

photos, rough, out, stem = sys.argv[1:5]
target = os.path.abspath(os.path.join(out, "images", stem + ".png"))
armed = []

def hook(event, args):
    if armed:
        os._exit(137)
    if event == "os.rename" and os.path.abspath(os.fsdecode(args[1])) == target:
        armed.append(True)

sys.addaudithook(hook)
label_folder(photos, out, rough_dir=rough, options=LabelOptions(force=True))
"""


def test_a_kill_after_the_new_image_never_leaves_the_old_mask_beside_it(tmp_path: Path) -> None:
    """--force relabelling replaced images/<stem>.png before touching the old mask: killed in
    between, the folder paired the new image with the old label (and train read the pair).
    The old mask goes first, so the image waits without a mask (train names it)."""
    from wds_edge.errors import DataError
    from wds_edge_train.data import discover_samples

    photos, rough, out = tmp_path / "photos", tmp_path / "rough", tmp_path / "out"
    photos.mkdir()
    rough.mkdir()
    cv2.imwrite(str(photos / "a.png"), _photo(1))
    cv2.imwrite(str(rough / "a.png"), _stroke())
    label_folder(photos, out, rough_dir=rough)
    old_mask = (out / "masks" / "a.png").read_bytes()
    new_photo = _photo(2)[::-1].copy()  # the wrinkle moves to row 27, and so does the stroke
    cv2.imwrite(str(photos / "a.png"), new_photo)
    cv2.imwrite(str(rough / "a.png"), _stroke()[::-1].copy())
    child = subprocess.run(
        [sys.executable, "-c", _KILL_AFTER_IMAGE, str(photos), str(rough), str(out), "a"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert child.returncode == 137, child.stderr
    assert np.array_equal(cv2.imread(str(out / "images" / "a.png")), new_photo)  # in place
    mask = out / "masks" / "a.png"
    assert not mask.exists() or mask.read_bytes() != old_mask
    with pytest.raises(DataError, match=r"1 image\(s\) have no mask: .*a\.png"):
        discover_samples(out)
