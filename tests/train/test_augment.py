"""Joint augmentation keeps image and labels aligned; crops and padding."""

from __future__ import annotations

import numpy as np
import pytest

from wds_edge.errors import InvalidInputError
from wds_edge.model.preprocessing import texture_map
from wds_edge_train.augment import augment_sample, check_crop_size, pad_to_multiple, random_crop
from wds_edge_train.data import LoadedSample
from wds_edge_train.dataset import CropDataset


def _scene() -> tuple[np.ndarray, np.ndarray]:
    mask = np.zeros((96, 128), bool)
    mask[30:60, 40:50] = True
    mask[70, 10:100] = True
    image = np.where(mask[..., None], 255, 20).astype(np.uint8).repeat(3, axis=2)
    return image, mask


def test_geometry_is_applied_jointly() -> None:
    image, mask = _scene()
    for seed in range(5):
        img, m, f = augment_sample(image, mask, mask.copy(), np.random.default_rng(seed))
        assert img.shape == image.shape and img.dtype == np.uint8
        assert m.dtype == bool and f is not None and (f == m).all()
        # where the warped label says "wrinkle" the warped image is bright, elsewhere dark
        grey = img.mean(axis=2)
        assert grey[m].mean() > 3 * grey[~m].mean()


def test_same_rng_same_result_and_photometric_changes() -> None:
    image, mask = _scene()
    a = augment_sample(image, mask, None, np.random.default_rng(7))
    b = augment_sample(image, mask, None, np.random.default_rng(7))
    assert (a[0] == b[0]).all() and (a[1] == b[1]).all() and a[2] is None
    assert not (a[0] == image).all()


def test_random_crop_pads_small_images() -> None:
    image, mask = _scene()
    img, m, f = random_crop(image, mask, None, 160, np.random.default_rng(0))
    assert img.shape == (160, 160, 3) and m.shape == (160, 160) and f is None
    img, m, f = random_crop(image, mask, mask, 64, np.random.default_rng(0))
    assert img.shape == (64, 64, 3) and (m == f).all()


def test_crop_size_must_be_multiple_of_16() -> None:
    with pytest.raises(InvalidInputError, match="multiple of 16.*use e.g. 96 or 112"):
        check_crop_size(100)
    with pytest.raises(InvalidInputError, match="multiple of 16"):
        CropDataset([], 250)


def test_pad_to_multiple_reflects() -> None:
    a = np.arange(5 * 3).reshape(5, 3)
    p = pad_to_multiple(a, 4)
    assert p.shape == (8, 4)
    assert (
        (p[:5, :3] == a).all() and (p[5, :3] == a[3]).all() and (p[:5, 3] == a[:, 1]).all()
    )  # reflect-101


def test_dataset_items() -> None:
    image, mask = _scene()
    ds = CropDataset([LoadedSample("a", image, mask, None)], 64, augment="kiosk", seed=1)
    x, m, f = ds[0]
    assert x.shape == (4, 64, 64) and m.shape == f.shape == (1, 64, 64)
    assert float(x.min()) >= 0 and float(x.max()) <= 1 and bool((f == 1).all())
    assert set(m.unique().tolist()) <= {0.0, 1.0}
    ds.set_epoch(0)
    again = ds[0][0]
    assert bool((again == x).all())
    ds.set_epoch(1)
    assert not bool((ds[0][0] == x).all())


# -- kiosk-camera photometrics (issue 16): golden values computed by hand ----------------------

from wds_edge_train.augment import (  # noqa: E402
    AugmentConfig,
    downscale_upsample,
    exposure_gamma,
    gaussian_blur,
    jpeg_roundtrip,
    kiosk_photometric,
    sensor_noise,
    to_grey,
    white_balance,
)


def _flat(r: int, g: int, b: int, size: int = 8) -> np.ndarray:
    return np.tile(np.array([r, g, b], np.uint8), (size, size, 1))


def test_white_balance_scales_red_and_blue_only() -> None:
    out = white_balance(_flat(100, 100, 100), 1.5, 0.5)
    assert tuple(out[0, 0]) == (150, 100, 50)
    assert tuple(white_balance(_flat(200, 10, 200), 2.0, 1.0)[0, 0]) == (255, 10, 200)  # clipped


def test_exposure_gamma_golden() -> None:
    # 255 * (2 * 64 / 255) ** 0.5 = 180.67 -> 181; 255 * (0.5 * 200 / 255) ** 2 = 39.2 -> 39
    assert exposure_gamma(_flat(64, 64, 64), 2.0, 0.5)[0, 0, 0] == 181
    assert exposure_gamma(_flat(200, 200, 200), 0.5, 2.0)[0, 0, 0] == 39


def test_grey_is_bt601_in_three_channels() -> None:
    out = to_grey(_flat(200, 100, 50))
    # 0.299 * 200 + 0.587 * 100 + 0.114 * 50 = 124.2 -> 124
    assert out.shape == (8, 8, 3) and set(out.reshape(-1).tolist()) == {124}


def test_jpeg_noise_blur_downscale_change_the_image_as_a_camera_would() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    q10, q95 = jpeg_roundtrip(img, 10), jpeg_roundtrip(img, 95)
    assert q10.shape == img.shape and q10.dtype == np.uint8
    err = lambda a: np.abs(a.astype(int) - img.astype(int)).mean()  # noqa: E731
    assert err(q10) > err(q95) > 0
    flat = _flat(128, 128, 128, 256)
    noisy = sensor_noise(flat, 4.0, np.random.default_rng(1)).astype(float)
    # std = 4 * sqrt(0.5 + 128 / 128) = 4.90
    assert abs(noisy.std() - 4.0 * np.sqrt(1.5)) < 0.2 and abs(noisy.mean() - 128) < 0.3
    line = _flat(20, 20, 20, 64)
    line[32, :] = 220
    assert gaussian_blur(line, 1.0)[32, 10, 0] < 150
    small = downscale_upsample(line, 0.25)
    assert small.shape == line.shape and small[32, 10, 0] < 150  # a 1-px line does not survive
    assert np.array_equal(downscale_upsample(line, 1.0), line)


@pytest.mark.parametrize(
    "call",
    [
        lambda: white_balance(_flat(1, 1, 1), 0.0, 1.0),
        lambda: exposure_gamma(_flat(1, 1, 1), 1.0, -1.0),
        lambda: jpeg_roundtrip(_flat(1, 1, 1), 0),
        lambda: sensor_noise(_flat(1, 1, 1), -1.0, np.random.default_rng(0)),
        lambda: gaussian_blur(_flat(1, 1, 1), 0.0),
        lambda: downscale_upsample(_flat(1, 1, 1), 1.5),
        lambda: to_grey(np.zeros((4, 4), np.uint8)),
        lambda: white_balance(np.zeros((4, 4, 3), np.float32), 1.0, 1.0),
    ],
)
def test_bad_arguments_are_clear_errors(call) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInputError):
        call()


def test_kiosk_photometric_is_seeded_and_each_effect_can_be_switched_off() -> None:
    rng = np.random.default_rng(3)
    img = rng.integers(30, 220, (64, 64, 3), dtype=np.uint8)
    a = kiosk_photometric(img, np.random.default_rng(5))
    b = kiosk_photometric(img, np.random.default_rng(5))
    assert np.array_equal(a, b)
    off = AugmentConfig(
        small_face_probability=0, white_balance_probability=0, exposure_probability=0,
        grey_probability=0, noise_probability=0, blur_probability=0, jpeg_probability=0,
    )  # fmt: skip
    assert np.array_equal(kiosk_photometric(img, np.random.default_rng(5), off), img)
    grey_only = AugmentConfig(**{**off.__dict__, "grey_probability": 1.0})
    g = kiosk_photometric(img, np.random.default_rng(5), grey_only)
    assert (g[..., 0] == g[..., 1]).all() and (g[..., 1] == g[..., 2]).all()
    # Over many draws every effect happens at roughly its probability (grey: 15 %).
    outs = [kiosk_photometric(img, np.random.default_rng(s)) for s in range(200)]
    greys = sum(bool((o[..., 0] == o[..., 2]).all()) for o in outs)
    assert 15 <= greys <= 50


# -- augmentation profiles (issue 20) -----------------------------------------------------------

from wds_edge_train.augment import AUGMENT_PROFILES, colour_jitter  # noqa: E402

#: Geometry and gains switched off, every camera effect certain: only the profile decides.
_NO_GEOMETRY_ALL_CAMERA = AugmentConfig(
    scale_range=(1.0, 1.0), shift_fraction=0.0, rotate_deg=0.0, brightness=0.0, colour=0.0,
    hflip_probability=0.0, small_face_probability=1.0, blur_probability=1.0,
    white_balance_probability=1.0, exposure_probability=1.0, grey_probability=1.0,
    noise_probability=1.0, jpeg_probability=1.0,
)  # fmt: skip


def _profile(cfg: AugmentConfig, profile: str) -> AugmentConfig:
    import dataclasses

    return dataclasses.replace(cfg, profile=profile)


def test_paper_profile_never_applies_camera_effects_and_kiosk_does() -> None:
    image, mask = _scene()
    rng = np.random.default_rng(3)
    paper, _, _ = augment_sample(image, mask, None, rng, _profile(_NO_GEOMETRY_ALL_CAMERA, "paper"))
    assert np.array_equal(paper, image)  # identity geometry, unit gains, no camera effect
    kiosk, _, _ = augment_sample(image, mask, None, rng, _profile(_NO_GEOMETRY_ALL_CAMERA, "kiosk"))
    assert np.array_equal(kiosk[..., 0], kiosk[..., 2])  # grey with certainty: R == B


def test_none_profile_returns_the_sample_untouched() -> None:
    image, mask = _scene()
    out = augment_sample(image, mask, None, np.random.default_rng(0), AugmentConfig(profile="none"))
    assert out[0] is image and out[1] is mask and out[2] is None


def test_official_profile_flips_and_jitters_but_never_warps() -> None:
    image, mask = _scene()
    warp = {"scale_range": (0.5, 0.5), "rotate_deg": 45.0, "shift_fraction": 0.3}
    flip_only = AugmentConfig(profile="official", hflip_probability=1.0, jitter_probability=0.0,
                              **warp)  # fmt: skip
    out, m, _ = augment_sample(image, mask, None, np.random.default_rng(0), flip_only)
    assert np.array_equal(out, image[:, ::-1]) and np.array_equal(m, mask[:, ::-1])
    jitter_only = AugmentConfig(profile="official", hflip_probability=0.0, jitter_probability=1.0,
                                **warp)  # fmt: skip
    out, m, _ = augment_sample(image, mask, None, np.random.default_rng(0), jitter_only)
    assert np.array_equal(m, mask) and not np.array_equal(out, image)


def test_official_profile_texture_comes_from_the_unjittered_image() -> None:
    """The official code's texture map is made from the photo beforehand: the colour jitter
    changes R, G, B of a training item and never its texture channel (T of Eq. 1)."""
    image = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    sample = LoadedSample("a", image, np.zeros((64, 64), bool), None)
    cfg = AugmentConfig(hflip_probability=0.0, jitter_probability=1.0)
    x, _, _ = CropDataset([sample], 64, augment="official", seed=0, augment_config=cfg)[0]
    np.testing.assert_allclose(x[3].numpy(), texture_map(image) / 255.0, atol=1e-6)
    assert not np.allclose(x[:3].numpy(), image.transpose(2, 0, 1) / 255.0, atol=0.02)
    flipped = AugmentConfig(hflip_probability=1.0, jitter_probability=0.0)
    x, _, _ = CropDataset([sample], 64, augment="official", seed=0, augment_config=flipped)[0]
    np.testing.assert_allclose(x[3].numpy(), texture_map(image[:, ::-1].copy()) / 255.0, atol=1e-6)


def test_profiles_are_named_and_unknown_ones_refused() -> None:
    assert AUGMENT_PROFILES == ("none", "official", "paper", "kiosk")
    with pytest.raises(InvalidInputError, match="kiosk"):
        AugmentConfig(profile="camera")


def test_colour_jitter_keeps_grey_grey_within_brightness_and_contrast_range() -> None:
    grey = np.full((8, 8, 3), 100, np.uint8)
    for seed in range(20):
        out = colour_jitter(grey, np.random.default_rng(seed), 0.2, 0.2)
        # contrast blends with the mean (= the pixel), saturation with the grey (= the pixel),
        # hue has no effect on grey: only brightness, 100 * [0.8, 1.2], is left.
        assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
        assert 80 <= int(out[0, 0, 0]) <= 120 and (out == out[0, 0]).all()


def test_colour_jitter_saturation_and_hue_move_a_pure_colour() -> None:
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 200
    assert np.array_equal(colour_jitter(red, np.random.default_rng(0), 0.0, 0.0), red)
    moved = [colour_jitter(red, np.random.default_rng(s), 0.0, 0.5) for s in range(10)]
    assert any(int(m[0, 0, 1]) > 20 or int(m[0, 0, 2]) > 20 for m in moved)  # hue left red


def test_zones_weight_the_loss_and_move_with_the_geometry() -> None:
    image, mask = _scene()
    image, mask = image[16:80, 32:96], mask[16:80, 32:96]  # 64 x 64: the crop is the sample
    fov = np.ones_like(mask)
    fov[:, :8] = False  # an FOV that excludes a stripe, to see both masks at once
    # zones = the label itself: after any augmentation, weight 3 exactly on the label pixels
    sample = LoadedSample("a", image, mask, fov, zones=mask.copy())
    plain = CropDataset([sample], 64, augment="none", seed=0, zone_weight=3.0)
    _, m, f = plain[0]
    expected = np.where(mask, 3.0, 1.0) * fov
    np.testing.assert_array_equal(f[0].numpy(), expected.astype(np.float32))
    warped = CropDataset([sample], 64, augment="paper", seed=0, zone_weight=3.0)
    for epoch in range(4):
        warped.set_epoch(epoch)
        _, m, f = warped[0]
        assert set(np.unique(f.numpy()).tolist()) <= {0.0, 1.0, 3.0}
        assert bool(((f == 3.0) == ((m == 1.0) & (f > 0))).all())
    # a sample without zones beside one with them: its FOV as before (0 / 1)
    mixed = CropDataset([sample, LoadedSample("b", image, mask, fov)], 64, zone_weight=3.0)
    np.testing.assert_array_equal(mixed[1][2][0].numpy(), fov.astype(np.float32))


def test_a_zone_weight_without_any_zones_is_refused() -> None:
    """--zone-weight was recorded with the run but weighed nothing when no training image has
    a zones/ mask (the data was not labelled by `label --auto`)."""
    image, mask = _scene()
    bare = [LoadedSample(s, image, mask, None) for s in ("a", "b")]
    with pytest.raises(InvalidInputError, match=r"--zone-weight 3 needs the zones/ masks that "
                       r"'wds-edge label --auto' writes, and none of the 2 training"):  # fmt: skip
        CropDataset(bare, 64, zone_weight=3.0)
    CropDataset(bare, 64, zone_weight=1.0)  # the default weighs nothing either way
