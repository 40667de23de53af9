"""Eq. 1 / Eq. 2 golden values and both adaptive thresholds against independent references."""

from __future__ import annotations

import numpy as np
import pytest

from wds_edge.errors import InvalidInputError
from wds_edge.model.preprocessing import texture_map
from wds_edge_train.labeling.thresholding import (
    bradley_roth_threshold,
    bradley_window_px,
    gaussian_adaptive_threshold,
    inverted_masked_texture,
    masked_texture,
    semi_automatic_label,
    threshold_texture,
)


def _naive_bradley(img: np.ndarray, s: int, t: float) -> np.ndarray:
    """Per-pixel loop: box of side s centred on the pixel, clipped to the image."""
    h, w = img.shape
    half = s // 2
    out = np.zeros((h, w), dtype=bool)
    for y in range(h):
        for x in range(w):
            box = img[max(0, y - half) : y + half + 1, max(0, x - half) : x + half + 1]
            out[y, x] = img[y, x] * box.size <= box.astype(np.float64).sum() * (1.0 - t)
    return out


@pytest.mark.parametrize("window", [3, 7, None])
def test_bradley_roth_matches_naive_loop(window: int | None) -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(23, 31)).astype(np.float64)
    img[10, :] = 20  # a dark line
    s = bradley_window_px(31) if window is None else window
    expected = _naive_bradley(img, s, 0.15)
    got = bradley_roth_threshold(img, window_px=window, t=0.15)
    np.testing.assert_array_equal(got, expected)
    assert got[10].mean() > 0.8  # the dark line is foreground


def test_bradley_window_is_odd_eighth_of_width() -> None:
    assert bradley_window_px(640) == 81
    assert bradley_window_px(8) == 3
    assert all(bradley_window_px(w) % 2 == 1 for w in range(1, 300))


def _numpy_gaussian_mean(img: np.ndarray, block: int) -> np.ndarray:
    """Gaussian-weighted local mean computed directly (float64, replicated border),
    sigma from OpenCV's rule for a kernel size: 0.3 * ((k - 1) / 2 - 1) + 0.8."""
    sigma = 0.3 * ((block - 1) * 0.5 - 1) + 0.8
    x = np.arange(block) - block // 2
    k = np.exp(-(x**2) / (2 * sigma**2))
    k /= k.sum()
    half = block // 2
    p = np.pad(img.astype(np.float64), half, mode="edge")
    rows = sum(k[i] * p[:, i : i + img.shape[1]] for i in range(block))
    return sum(k[i] * rows[i : i + img.shape[0], :] for i in range(block))


def test_gaussian_threshold_matches_direct_gaussian_mean() -> None:
    rng = np.random.default_rng(1)
    img = np.clip(rng.normal(200, 25, size=(60, 70)), 0, 255).astype(np.uint8)
    img[30, 5:60] = 120
    mean = _numpy_gaussian_mean(img, 11)
    # OpenCV rounds the mean to uint8, then: foreground where src <= mean - C (C = 1).
    expected = img.astype(np.float64) <= np.floor(mean + 0.5) - 1
    got = gaussian_adaptive_threshold(img, 11, 1)
    mismatch = got != expected
    # OpenCV's fixed-point blur may round differently only where the mean is ~x.5.
    frac = np.abs(mean - np.floor(mean) - 0.5)
    assert mismatch.mean() < 0.01
    assert (frac[mismatch] < 0.05).all()
    assert got[30, 10:55].all()


def test_texture_eq1_hand_values() -> None:
    # Uniform grey v: blur = v, T = (1 - v / (1 + v)) * 255 = 255 / (1 + v).
    for v in (0, 1, 100, 255):
        t = texture_map(np.full((9, 9, 3), v, np.uint8))
        # float32: 1 - v / (1 + v) loses ~1 ulp of 1.0 (x 255 = 3e-5)
        np.testing.assert_allclose(t, 255.0 / (1 + v), rtol=1e-5, atol=3e-5)
    # A black pixel scores exactly 255 (I = 0) whatever its surroundings.
    img = np.full((31, 31, 3), 100, np.uint8)
    img[15, 15] = 0
    assert texture_map(img)[15, 15] == pytest.approx(255.0)
    # A white pixel on black: 1 - 255 / (1 + small blur) < 0 -> clipped to 0.
    img = np.zeros((31, 31, 3), np.uint8)
    img[15, 15] = 255
    assert texture_map(img)[15, 15] == 0.0


def test_masked_texture_eq2_hand_values() -> None:
    t = np.array([[10.0, 20.0], [30.0, 40.0]], np.float32)
    for m in (
        np.array([[0, 255], [1, 0]], np.uint8),
        np.array([[False, True], [True, False]]),
        np.array([[0, 7], [255, 0]], np.int32),
    ):
        np.testing.assert_array_equal(masked_texture(t, m), [[0.0, 20.0], [30.0, 0.0]])
    # uint8 edge cases of the inverted texture handed to OpenCV: rounding and saturation.
    t = np.array([[254.6, 0.4, 255.0, 127.5]], np.float32)
    inv = inverted_masked_texture(t, np.ones((1, 4), bool))
    assert inv.dtype == np.uint8
    np.testing.assert_array_equal(inv, [[0, 255, 0, 127]])
    assert inverted_masked_texture(t, np.zeros((1, 4), bool)).tolist() == [[255] * 4]
    with pytest.raises(InvalidInputError, match="same height and width"):
        masked_texture(t, np.ones((2, 4), bool))


@pytest.mark.parametrize("method", ["gaussian", "bradley"])
def test_semi_automatic_label_finds_line_inside_rough_mask_only(method: str) -> None:
    img = np.full((64, 96, 3), 180, np.uint8)
    img[20, 5:90] = 90  # wrinkle inside the rough stroke
    img[45, 5:90] = 90  # wrinkle NOT annotated
    rough = np.zeros((64, 96), bool)
    rough[17:24, 5:90] = True
    label = semi_automatic_label(img, rough, method)
    assert label[20, 10:85].all()
    assert not label[~rough].any()
    assert label.sum() < rough.sum() / 2
    with pytest.raises(InvalidInputError, match="unknown threshold"):
        threshold_texture(texture_map(img), rough, "otsu")
