"""Joint augmentation keeps image and labels aligned; crops and padding."""

from __future__ import annotations

import numpy as np
import pytest

from train.augment import augment_sample, check_crop_size, pad_to_multiple, random_crop
from train.data import LoadedSample
from train.dataset import CropDataset
from wds_edge.errors import InvalidInputError


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
    ds = CropDataset([LoadedSample("a", image, mask, None)], 64, augment=True, seed=1)
    x, m, f = ds[0]
    assert x.shape == (4, 64, 64) and m.shape == f.shape == (1, 64, 64)
    assert float(x.min()) >= 0 and float(x.max()) <= 1 and bool((f == 1).all())
    assert set(m.unique().tolist()) <= {0.0, 1.0}
    ds.set_epoch(0)
    again = ds[0][0]
    assert bool((again == x).all())
    ds.set_epoch(1)
    assert not bool((ds[0][0] == x).all())
