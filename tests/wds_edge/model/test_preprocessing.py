"""Texture map (paper Eq. 1) golden values computed by hand, and the network channels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wds_edge.errors import InvalidInputError
from wds_edge.model.preprocessing import (
    Preprocessing,
    check_uint8_image,
    grey_from_rgb,
    model_input,
    network_channels,
    texture_boundary,
    texture_map,
)


def _uniform(value: tuple[int, int, int], size: int = 32) -> np.ndarray:
    return np.full((size, size, 3), value, dtype=np.uint8)


def _centre_weight(sigma: float = 5.0, ksize: int = 21) -> float:
    """Weight of the centre tap of the normalised 2-D Gaussian, from the formula."""
    taps = [math.exp(-((i - ksize // 2) ** 2) / (2 * sigma**2)) for i in range(ksize)]
    return (taps[ksize // 2] / sum(taps)) ** 2


@pytest.mark.parametrize(
    ("rgb", "expected"),
    [
        # uniform: blur = I, T = (1 - I / (1 + I)) * 255 = 255 / (1 + I)
        ((0, 0, 0), 255.0),  # black pixels score the maximum
        ((255, 255, 255), 255.0 / 256.0),  # uint8 edge value 255
        ((100, 100, 100), 255.0 / 101.0),
        ((1, 1, 1), 255.0 / 2.0),
        # pure red: I = 0.299 * 255 = 76.245 (float luma, not rounded)
        ((255, 0, 0), 255.0 / (1.0 + 76.245)),
    ],
)
def test_uniform_images(rgb: tuple[int, int, int], expected: float) -> None:
    t = texture_map(_uniform(rgb))
    assert t.dtype == np.float32 and t.shape == (32, 32)
    # float32 luma weights sum to 1 only within ~2e-7, hence the tolerance
    np.testing.assert_allclose(t, expected, rtol=5e-5)


def test_dark_pixel_on_bright_skin() -> None:
    # centre pixel 100 in a field of 200: blur at the centre = 200 - 100 * w_c,
    # T = (1 - 100 / (1 + 200 - 100 w_c)) * 255; the neighbours are barely affected.
    image = _uniform((200, 200, 200), 41)
    image[20, 20] = 100
    w_c = _centre_weight()
    expected = (1.0 - 100.0 / (1.0 + 200.0 - 100.0 * w_c)) * 255.0
    t = texture_map(image)
    assert t[20, 20] == pytest.approx(expected, rel=1e-5)
    assert t[0, 0] == pytest.approx(255.0 / 201.0, rel=1e-5)


def test_black_pixel_and_clipping() -> None:
    image = _uniform((200, 200, 200), 41)
    image[20, 20] = 0
    assert texture_map(image)[20, 20] == pytest.approx(255.0)  # I = 0 -> T = 255
    bright = _uniform((0, 0, 0), 41)
    bright[20, 20] = 255  # 1 - 255 / (1 + 255 w_c) < 0 -> clipped to 0
    assert texture_map(bright)[20, 20] == 0.0


def test_network_channels_and_model_input() -> None:
    image = _uniform((255, 0, 100), 16)
    ch = network_channels(image)
    assert ch.shape == (16, 16, 4) and ch.dtype == np.float32
    np.testing.assert_allclose(ch[0, 0, :3], [1.0, 0.0, 100 / 255], rtol=1e-6)
    grey = 0.299 * 255 + 0.114 * 100
    assert grey_from_rgb(image)[0, 0] == pytest.approx(grey, rel=1e-6)
    np.testing.assert_allclose(ch[..., 3], 1.0 / (1.0 + grey), rtol=1e-5)
    assert model_input(image, Preprocessing.TEXTURE_IN_GRAPH).shape == (1, 3, 16, 16)
    assert model_input(image, "texture_outside").shape == (1, 4, 16, 16)


def test_bad_inputs() -> None:
    with pytest.raises(InvalidInputError, match="HxWx3"):
        texture_map(np.zeros((8, 8), np.uint8))
    with pytest.raises(InvalidInputError, match="uint8"):
        texture_map(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(InvalidInputError, match="odd"):
        texture_map(_uniform((1, 1, 1)), ksize=20)


def test_texture_boundary_hand_values_and_the_layout_a_graph_hands_on() -> None:
    """``[R, G, B, T]`` unscaled, as the in-graph subgraph's Concat gives it (issue 25)."""
    image = _uniform((200, 200, 200), 41)
    image[20, 20] = 100
    rgb = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)
    out = texture_boundary(rgb)
    assert out.shape == (4, 41, 41) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:3], rgb)  # RGB passes through in [0, 255]
    w_c = _centre_weight()
    assert out[3, 20, 20] == pytest.approx((1.0 - 100.0 / (201.0 - 100.0 * w_c)) * 255.0, rel=1e-5)
    assert out[3, 0, 0] == pytest.approx(255.0 / 201.0, rel=1e-5)
    # the same map as the uint8 path on a real-looking crop, and written into a given buffer
    rng = np.random.default_rng(3)
    crop = rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)
    buffer = np.full((4, 48, 40), np.nan, np.float32)
    texture_boundary(np.ascontiguousarray(crop.transpose(2, 0, 1), np.float32), out=buffer)
    np.testing.assert_allclose(buffer[3], texture_map(crop), atol=2e-4)
    np.testing.assert_array_equal(buffer[:3], crop.transpose(2, 0, 1))


def test_texture_boundary_bad_inputs() -> None:
    with pytest.raises(InvalidInputError, match=r"float32 \(3, H, W\)"):
        texture_boundary(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(InvalidInputError, match=r"float32 \(3, H, W\)"):
        texture_boundary(np.zeros((3, 8, 8), np.uint8))
    with pytest.raises(InvalidInputError, match="out must be"):
        texture_boundary(np.zeros((3, 8, 8), np.float32), out=np.zeros((3, 8, 8), np.float32))
    with pytest.raises(InvalidInputError, match="odd"):
        texture_boundary(np.zeros((3, 8, 8), np.float32), ksize=4)


def test_check_uint8_image_names_the_dtype_and_the_conversion() -> None:
    check_uint8_image(np.zeros((4, 4, 3), np.uint8))
    check_uint8_image(np.zeros((4, 4), np.uint8), "frame", "BGR", grey_ok=True)
    check_uint8_image(np.zeros((4, 4, 1), np.uint8), "frame", "BGR", grey_ok=True)
    with pytest.raises(InvalidInputError, match="HxWx3 BGR or HxW grey"):
        check_uint8_image(np.zeros((4, 4, 4), np.uint8), "frame", "BGR", grey_ok=True)
    with pytest.raises(InvalidInputError, match="HxWx3 RGB image, got shape"):
        check_uint8_image(np.zeros((4, 4), np.uint8))
    for dtype in (np.uint16, np.float32, np.float64, np.int64, np.bool_):
        with pytest.raises(InvalidInputError, match="must be a uint8") as info:
            check_uint8_image(np.zeros((4, 4, 3), dtype), "crop")
        assert f"got dtype {np.dtype(dtype).name}" in str(info.value)
        assert "astype(np.uint8)" in str(info.value)
    with pytest.raises(InvalidInputError, match="numpy array"):
        check_uint8_image([[0, 0, 0]])  # type: ignore[arg-type]
