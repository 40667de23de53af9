"""The one preprocessing path shared by training, export parity, INT8 calibration and the kiosk.

A face crop (uint8 RGB, HxWx3) becomes the network's four channels
``[R, G, B, T] / 255`` where ``T`` is the texture map of paper Eq. 1. An exported
model either computes ``T`` itself (:attr:`Preprocessing.TEXTURE_IN_GRAPH`: the
kiosk feeds RGB in [0, 255]) or expects all four channels
(:attr:`Preprocessing.TEXTURE_OUTSIDE`). Its metadata says which; :func:`model_input`
builds the tensor for either.

The grey image is the BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` kept in float32
(not rounded to uint8 as ``cv2.cvtColor`` would), so a texture map computed inside
an ONNX / TensorRT graph matches this numpy code to float precision.
"""

from __future__ import annotations

from enum import Enum

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError

__all__ = [
    "TEXTURE_SIGMA",
    "TEXTURE_KSIZE",
    "LUMA_WEIGHTS_RGB",
    "Preprocessing",
    "check_uint8_image",
    "grey_from_rgb",
    "texture_map",
    "texture_boundary",
    "network_channels",
    "model_input",
    "resize_square",
]

TEXTURE_SIGMA = 5.0
TEXTURE_KSIZE = 21
LUMA_WEIGHTS_RGB = (0.299, 0.587, 0.114)


class Preprocessing(str, Enum):
    """Where the texture map (Eq. 1) and the scaling to [0, 1] happen for a model."""

    #: Model input: float32 NCHW, 3 channels RGB, values in [0, 255]. The graph
    #: computes the texture map and scales all four channels itself.
    TEXTURE_IN_GRAPH = "texture_in_graph"
    #: Model input: float32 NCHW, 4 channels ``[R, G, B, T] / 255`` in [0, 1],
    #: built by :func:`network_channels` on the host.
    TEXTURE_OUTSIDE = "texture_outside"


def check_uint8_image(
    image: np.ndarray, name: str = "image_rgb", order: str = "RGB", *, grey_ok: bool = False
) -> None:
    """Raise InvalidInputError unless ``image`` is a non-empty uint8 ``H x W x 3`` array.

    Every pixel stage of wds-edge (crop, quality gates, colour, model input) works on 8-bit
    frames; a float or 16-bit array would be cast or misread silently. The message says
    what was given and how to convert it.

    Args:
        image: the array to check.
        name: how the message names it (the argument's name).
        order: the expected channel order, for the message (``"RGB"`` or ``"BGR"``).
        grey_ok: accept a grey ``H x W`` or ``H x W x 1`` array too.
    """
    shape = f"HxWx3 {order}" + (" or HxW grey" if grey_ok else "")
    if not isinstance(image, np.ndarray):
        raise InvalidInputError(f"{name} must be a numpy array, got {type(image).__name__}")
    grey = grey_ok and (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1))
    if not grey and (image.ndim != 3 or image.shape[2] != 3):
        raise InvalidInputError(
            f"{name} must be an {shape} image, got shape {image.shape}; "
            "convert grey or RGBA images first (wds_edge.io.read_image does)"
        )
    if image.dtype != np.uint8:
        raise InvalidInputError(
            f"{name} must be a uint8 (0-255) {shape} image, got dtype {image.dtype}; "
            "convert it first: np.clip(image * 255, 0, 255).astype(np.uint8) for floats in "
            "[0, 1], (image >> 8).astype(np.uint8) for full-range 16-bit (12-bit data: "
            "(image >> 4); wds_edge.io.read_image returns uint8)"
        )
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise InvalidInputError(f"{name} has no pixels (shape {image.shape})")


def grey_from_rgb(image_rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of a uint8 RGB image as float32 HxW in [0, 255] (not rounded)."""
    check_uint8_image(image_rgb)
    r, g, b = LUMA_WEIGHTS_RGB
    rgb = image_rgb.astype(np.float32)
    return (r * rgb[:, :, 0] + g * rgb[:, :, 1] + b * rgb[:, :, 2]).astype(np.float32)


def texture_map(
    image_rgb: np.ndarray, sigma: float = TEXTURE_SIGMA, ksize: int = TEXTURE_KSIZE
) -> np.ndarray:
    """Texture map of paper Eq. 1: ``T = (1 - I / (1 + G_sigma * I)) * 255``, clipped to [0, 255].

    ``I`` is the grey image (float, [0, 255]); ``G_sigma * I`` its Gaussian blur with a
    ``ksize`` x ``ksize`` kernel and standard deviation ``sigma`` (OpenCV's
    reflect-101 border). Pixels darker than their surroundings (wrinkles) score high,
    flat skin scores near 0, a black pixel scores 255.

    Args:
        image_rgb: uint8 RGB image, HxWx3.
        sigma: Gaussian standard deviation in pixels (paper: 5).
        ksize: odd kernel size in pixels (paper: 21).

    Returns:
        float32 HxW texture map in [0, 255].

    Raises:
        InvalidInputError: not an HxWx3 uint8 image, or an even / non-positive ``ksize``.
    """
    _check_kernel(sigma, ksize)
    out = np.empty(image_rgb.shape[:2], np.float32)
    _texture_from_grey(grey_from_rgb(image_rgb), sigma, ksize, out)
    return out


def _check_kernel(sigma: float, ksize: int) -> None:
    if ksize < 1 or ksize % 2 == 0:
        raise InvalidInputError(f"ksize must be a positive odd number of pixels, got {ksize}")
    if sigma <= 0:
        raise InvalidInputError(f"sigma must be positive, got {sigma}")


def _texture_from_grey(grey: np.ndarray, sigma: float, ksize: int, out: np.ndarray) -> None:
    """Eq. 1 of a float32 grey image into ``out`` (float32, same shape), in place.

    The operations and their order are those of ``(1 - I / (1 + G * I)) * 255`` clipped,
    in float32, so every caller gets the same bits.
    """
    blurred = cv2.GaussianBlur(
        grey, (ksize, ksize), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT_101
    )
    np.add(blurred, np.float32(1.0), out=blurred)
    np.divide(grey, blurred, out=blurred)
    np.subtract(np.float32(1.0), blurred, out=blurred)
    np.multiply(blurred, np.float32(255.0), out=blurred)
    np.clip(blurred, np.float32(0.0), np.float32(255.0), out=out)


def texture_boundary(
    rgb_chw: np.ndarray,
    sigma: float = TEXTURE_SIGMA,
    ksize: int = TEXTURE_KSIZE,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """What a ``TEXTURE_IN_GRAPH`` model's texture subgraph hands its first convolution.

    ``[R, G, B, T]`` in [0, 255] (not scaled: the graph folds the / 255 into the first
    convolution), from one image of the model's input: float32 ``(3, H, W)`` RGB in
    [0, 255]. A backend that runs the network without its texture subgraph computes the
    subgraph's output here (OpenVINO on the CPU: about 2 ms instead of 8, issue 25); the
    backend checks once, at load, that this matches the model's own subgraph.

    Args:
        rgb_chw: float32 ``(3, H, W)`` RGB in [0, 255].
        sigma, ksize: the model's texture parameters (its metadata).
        out: float32 ``(4, H, W)`` to write into (``None``: a new array).

    Returns:
        float32 ``(4, H, W)``: R, G, B as given, then the texture map T.

    Raises:
        InvalidInputError: not float32 ``(3, H, W)``, a wrong ``out``, or a bad kernel.
    """
    _check_kernel(sigma, ksize)
    if (
        not isinstance(rgb_chw, np.ndarray)
        or rgb_chw.dtype != np.float32
        or (rgb_chw.ndim != 3 or rgb_chw.shape[0] != 3)
    ):
        raise InvalidInputError(
            "rgb_chw must be a float32 (3, H, W) RGB array in [0, 255], got "
            f"{getattr(rgb_chw, 'dtype', type(rgb_chw).__name__)} {getattr(rgb_chw, 'shape', '')}"
        )
    shape = (4, *rgb_chw.shape[1:])
    if out is None:
        out = np.empty(shape, np.float32)
    elif out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise InvalidInputError(f"out must be a C-contiguous float32 {shape} array")
    out[:3] = rgb_chw
    r, g, b = LUMA_WEIGHTS_RGB
    grey = np.multiply(rgb_chw[0], np.float32(r))
    cv2.scaleAdd(np.ascontiguousarray(rgb_chw[1]), g, grey, grey)
    cv2.scaleAdd(np.ascontiguousarray(rgb_chw[2]), b, grey, grey)
    _texture_from_grey(grey, sigma, ksize, out[3])
    return out


def network_channels(image_rgb: np.ndarray) -> np.ndarray:
    """The four network channels ``[R, G, B, T] / 255`` as float32 HxWx4 in [0, 1]."""
    texture = texture_map(image_rgb)
    out = np.empty((*image_rgb.shape[:2], 4), dtype=np.float32)
    out[:, :, :3] = image_rgb.astype(np.float32) * (1.0 / 255.0)
    out[:, :, 3] = texture * (1.0 / 255.0)
    return out


def resize_square(image: np.ndarray, size_px: int) -> np.ndarray:
    """Resize an image to ``size_px`` x ``size_px`` (area filter when shrinking)."""
    if size_px < 1:
        raise InvalidInputError(f"size_px must be positive, got {size_px}")
    h, w = image.shape[:2]
    if (h, w) == (size_px, size_px):
        return image
    interp = cv2.INTER_AREA if min(h, w) > size_px else cv2.INTER_LINEAR
    return cv2.resize(image, (size_px, size_px), interpolation=interp)


def model_input(crop_rgb: np.ndarray, preprocessing: Preprocessing | str) -> np.ndarray:
    """Build a model's input tensor (float32 NCHW, batch 1) from a uint8 RGB crop.

    The crop must already have the model's input size (see :func:`resize_square`).

    Args:
        crop_rgb: uint8 RGB HxWx3 face crop.
        preprocessing: what the model expects (from its metadata).

    Returns:
        ``(1, 3, H, W)`` RGB in [0, 255] for ``TEXTURE_IN_GRAPH`` or
        ``(1, 4, H, W)`` ``[R, G, B, T] / 255`` for ``TEXTURE_OUTSIDE``.
    """
    check_uint8_image(crop_rgb, "crop_rgb")
    mode = Preprocessing(preprocessing)
    if mode is Preprocessing.TEXTURE_IN_GRAPH:
        chw = crop_rgb.transpose(2, 0, 1).astype(np.float32)
    else:
        chw = network_channels(crop_rgb).transpose(2, 0, 1)
    return np.ascontiguousarray(chw[None])
