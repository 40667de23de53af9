"""Data layouts, mask binarization and bad-input errors (each names the file and the fix)."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from wds_edge.errors import DataError, InvalidInputError
from wds_edge_train.data import binarize_mask, discover_samples, load_sample, read_mask


def _image(path: Path, h: int = 32, w: int = 48) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    cv2.imwrite(str(path), rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8))


def _mask(path: Path, values: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(values.astype(np.uint8)).save(path)


def _label(h: int = 32, w: int = 48, on: int = 255) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[10, 5:40] = on
    return m


def make_generic(root: Path, n: int = 2) -> Path:
    for i in range(n):
        _image(root / "images" / f"face{i}.png")
        _mask(root / "masks" / f"face{i}.png", _label())
        _mask(root / "fov" / f"face{i}.png", np.full((32, 48), 255))
    return root


def test_generic_layout(tmp_path: Path) -> None:
    layout, samples = discover_samples(make_generic(tmp_path))
    assert layout == "generic" and [s.stem for s in samples] == ["face0", "face1"]
    s = load_sample(samples[0])
    assert s.image_rgb.shape == (32, 48, 3) and s.image_rgb.dtype == np.uint8
    assert s.mask.dtype == bool and s.mask.sum() == 35 and s.fov is not None and s.fov.all()


def test_drive_layout(drive_dir: Path) -> None:
    layout, samples = discover_samples(drive_dir)
    assert layout == "drive" and len(samples) == 20 and samples[0].stem == "21"
    s = load_sample(samples[0])
    assert s.image_rgb.shape == (584, 565, 3)
    assert 0.05 < s.mask.mean() < 0.2  # vessels are a minority: not inverted
    assert s.fov is not None and 0.6 < s.fov.mean() < 0.8


def test_binarization_rules(tmp_path: Path) -> None:
    lab = _label()
    assert (binarize_mask(lab // 255, "m") == (lab > 0)).all()  # 0/1
    assert (binarize_mask(lab, "m") == (lab > 0)).all()  # 0/255
    # palette GIF: PIL convert("L") resolves the palette
    pal = Image.fromarray((lab > 0).astype(np.uint8), mode="P")
    pal.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    pal.save(tmp_path / "p.gif")
    assert (read_mask(tmp_path / "p.gif") == (lab > 0)).all()
    # inverted palette (index 0 = white): black lines on white, 98 % "on" -> inverted back
    pal.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    pal.save(tmp_path / "inv.gif")
    assert (read_mask(tmp_path / "inv.gif") == (lab > 0)).all()
    # FOV masks are never inverted
    assert read_mask(tmp_path / "inv.gif", allow_invert=False).mean() > 0.9


def test_ambiguous_mostly_on_label_is_refused() -> None:
    m = np.zeros((10, 10), np.uint8)
    m[:7] = 255
    with pytest.raises(DataError, match="70% of the label is foreground"):
        binarize_mask(m, "x.png")


def test_non_binary_mask_needs_threshold(tmp_path: Path) -> None:
    thick = np.zeros((32, 48), np.uint8)
    thick[8:14, 5:40] = 255
    blurred = cv2.GaussianBlur(thick, (5, 5), 1.5)
    cv2.imwrite(str(tmp_path / "m.jpg"), blurred)
    with pytest.raises(DataError, match=r"m\.jpg: the mask is not binary.*--mask-threshold"):
        read_mask(tmp_path / "m.jpg")
    assert read_mask(tmp_path / "m.jpg", threshold=127).any()


def test_empty_folder(tmp_path: Path) -> None:
    """A folder that is no data set is a wrong --data (InvalidInputError: exit 2, as a
    missing 'label --images' folder), not a malformed data set (DataError: exit 1)."""
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    (tmp_path / "notes.txt").write_text("")
    for where, says in [
        (tmp_path, "no images found"),
        (tmp_path / "images", "no data set layout recognised; expected a label folder: images/"),
        (tmp_path / "nope", "data folder not found; pass --data a label folder: images/ + masks/"),
        (tmp_path / "notes.txt", "is a file, not a folder"),
    ]:
        with pytest.raises(InvalidInputError, match=re.escape(says)) as refused:
            discover_samples(where)
        assert not isinstance(refused.value, DataError)


def test_image_without_mask(tmp_path: Path) -> None:
    make_generic(tmp_path)
    _image(tmp_path / "images" / "lonely.jpg")
    with pytest.raises(DataError, match=r"lonely\.jpg.*add masks/<stem>\.png"):
        discover_samples(tmp_path)


def test_two_images_of_one_name_are_refused(tmp_path: Path) -> None:
    make_generic(tmp_path)
    _image(tmp_path / "images" / "face0.jpg")  # beside face0.png: which one has the mask?
    with pytest.raises(DataError, match=r"face0\.jpg and face0\.png share the name 'face0'"):
        discover_samples(tmp_path)


def test_mask_of_another_size(tmp_path: Path) -> None:
    make_generic(tmp_path)
    _mask(tmp_path / "masks" / "face1.png", _label(30, 48))
    _, samples = discover_samples(tmp_path)
    with pytest.raises(DataError, match=r"face1\.png: mask is 48x30 but its image .* is 48x32"):
        load_sample(samples[1])


def test_unreadable_files(tmp_path: Path) -> None:
    make_generic(tmp_path)
    (tmp_path / "masks" / "face0.png").write_bytes(b"not a png")
    (tmp_path / "images" / "face1.png").write_bytes(b"")
    _, samples = discover_samples(tmp_path)
    with pytest.raises(DataError, match=r"face0\.png: cannot read the mask"):
        load_sample(samples[0])
    with pytest.raises(DataError, match=r"face1\.png: the file is empty"):
        load_sample(samples[1])


def test_zones_folder_is_loaded_and_checked(tmp_path: Path) -> None:
    _image(tmp_path / "images" / "a.png")
    _mask(tmp_path / "masks" / "a.png", _label())
    zones = np.zeros((32, 48), np.uint8)
    zones[5:9, :] = 255  # a lid-margin-like band: most of the crop is not a zone
    _mask(tmp_path / "zones" / "a.png", zones)
    _, (sample,) = discover_samples(tmp_path)
    loaded = load_sample(sample)
    np.testing.assert_array_equal(loaded.zones, zones > 0)
    _mask(tmp_path / "zones" / "a.png", np.zeros((16, 48), np.uint8))
    with pytest.raises(DataError, match="zones mask is 48x16"):
        load_sample(sample)


def test_mask_threshold_binarizes_a_non_binary_zones_mask(tmp_path: Path) -> None:
    """The refusal of a grey zones/ mask says to pass --mask-threshold, which must then reach
    the zones as it reaches the label and the FOV (it was read without it, so refused again)."""
    _image(tmp_path / "images" / "a.png")
    _mask(tmp_path / "masks" / "a.png", _label())
    band = np.zeros((32, 48), np.uint8)
    band[4:12, :] = 255
    _mask(tmp_path / "zones" / "a.png", cv2.GaussianBlur(band, (5, 5), 1.5))  # anti-aliased
    _, (sample,) = discover_samples(tmp_path)
    with pytest.raises(DataError, match=r"a\.png: the mask is not binary.*--mask-threshold"):
        load_sample(sample)
    zones = load_sample(sample, mask_threshold=127).zones
    assert zones is not None and zones[8].all() and not zones[20].any()


def test_fov_without_pixels_is_refused(tmp_path: Path) -> None:
    # An all-black FOV leaves nothing to train on or score (every metric of no pixels is 1.0).
    make_generic(tmp_path, n=1)
    _mask(tmp_path / "fov" / "face0.png", np.zeros((32, 48)))
    _, (sample,) = discover_samples(tmp_path)
    with pytest.raises(DataError, match=r"fov[/\\]face0\.png: the field-of-view mask has no pix"):
        load_sample(sample)


def test_label_outside_the_fov_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    make_generic(tmp_path, n=1)
    fov = np.zeros((32, 48), np.uint8)
    fov[:, :20] = 255  # the label row runs x = 5..39: 20 of its 35 pixels lie outside
    _mask(tmp_path / "fov" / "face0.png", fov)
    _, (sample,) = discover_samples(tmp_path)
    with caplog.at_level("INFO", logger="wds_edge_train.data"):
        loaded = load_sample(sample)
    assert loaded.fov is not None and loaded.fov.sum() == 32 * 20
    (record,) = [r for r in caplog.records if "outside the field of view" in r.getMessage()]
    assert record.levelname == "WARNING" and "20 label pixel(s) (57.1%)" in record.getMessage()
    assert "face0.png" in record.getMessage()
    # a pixel on the rim (DRIVE's manual labels graze it) is only info: 1 of 140 pixels
    label = np.zeros((32, 48), np.uint8)
    label[10:14, 5:40] = 255
    _mask(tmp_path / "masks" / "face0.png", label)
    fov[:] = 255
    fov[13, 39] = 0
    _mask(tmp_path / "fov" / "face0.png", fov)
    caplog.clear()
    with caplog.at_level("INFO", logger="wds_edge_train.data"):
        load_sample(sample)
    (record,) = [r for r in caplog.records if "outside the field of view" in r.getMessage()]
    assert record.levelname == "INFO" and "1 label pixel(s)" in record.getMessage()


def test_label_drawn_in_the_alpha_channel(tmp_path: Path) -> None:
    lab = _label() > 0
    # black strokes on a transparent canvas: the colour is the same everywhere, alpha varies
    rgba = np.zeros((32, 48, 4), np.uint8)
    rgba[..., 3] = np.where(lab, 255, 0)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "alpha.png"), lab)
    # the colour of fully transparent pixels is not looked at
    rgba[~lab, :3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "white_under.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "white_under.png"), lab)
    # an opaque label (constant alpha) still reads its colour
    rgba = np.dstack(
        [np.where(lab, 255, 0).astype(np.uint8)] * 3 + [np.full((32, 48), 255, np.uint8)]
    )
    Image.fromarray(rgba, "RGBA").save(tmp_path / "opaque.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "opaque.png"), lab)
    # grey + alpha, and a palette image with a transparent index
    la = np.dstack([np.zeros((32, 48), np.uint8), np.where(lab, 255, 0).astype(np.uint8)])
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "la.png"), lab)
    pal = Image.fromarray(lab.astype(np.uint8), mode="P")
    pal.putpalette([0, 0, 0, 0, 0, 0] + [0] * 762)
    pal.save(tmp_path / "t.png", transparency=0)
    np.testing.assert_array_equal(read_mask(tmp_path / "t.png"), lab)


def test_label_with_both_colour_and_alpha_varying_is_refused(tmp_path: Path) -> None:
    rgba = np.zeros((32, 48, 4), np.uint8)
    rgba[10, 5:40] = (255, 255, 255, 255)  # white opaque strokes
    rgba[20:, :, :] = (255, 0, 0, 128)  # a red half-transparent band
    Image.fromarray(rgba, "RGBA").save(tmp_path / "both.png")
    with pytest.raises(DataError, match=r"both\.png: both the colour and the transparency"):
        read_mask(tmp_path / "both.png")


@pytest.mark.parametrize("ext", [".jpg", ".jpeg", ".webp"])
def test_jpeg_and_webp_masks_are_found_and_need_a_mask_threshold(tmp_path: Path, ext: str) -> None:
    """masks/<stem>.jpg was 'no mask' ('add masks/<stem>.png') though --mask-threshold is
    for JPEG masks and label-agreement read them: found by train and eval (one list of
    label extensions, label-agreement's and the rough masks' too); a lossy one is refused
    as not binary unless --mask-threshold says where to cut."""
    import wds_edge_train.agreement as agreement
    from wds_edge_train.data import MASK_EXTENSIONS
    from wds_edge_train.labeling import annotations, runner

    root = make_generic(tmp_path)
    (root / "masks" / "face1.png").unlink()
    (root / "fov" / "face1.png").unlink()
    _mask(root / "masks" / f"face1{ext}", _label())
    _mask(root / "fov" / f"face1{ext}", np.full((32, 48), 255))
    _, samples = discover_samples(root)
    assert (samples[1].mask.name, samples[1].fov and samples[1].fov.name) == (
        f"face1{ext}", f"face1{ext}",
    )  # fmt: skip
    with pytest.raises(DataError, match=rf"face1\{ext}: the mask is not binary.*--mask-threshold"):
        load_sample(samples[1])
    loaded = load_sample(samples[1], mask_threshold=127)
    assert abs(int(loaded.mask.sum()) - 35) <= 3 and loaded.mask[10, 8:37].all()
    assert loaded.fov is not None and loaded.fov.all()
    assert annotations.MASK_EXTENSIONS is MASK_EXTENSIONS
    assert agreement.MASK_EXTENSIONS is MASK_EXTENSIONS is runner.IMAGE_EXTENSIONS
