"""Image decoding for :mod:`wds_edge.io` (re-exported there; import it from ``wds_edge.io``).

Pillow reads the size from the header and it is checked against ``max_pixels`` before
the pixels are decoded; Pillow's decoder reports truncation itself; EXIF orientation
is applied; every decoder error becomes an :class:`~wds_edge.errors.InvalidInputError`.
"""

from __future__ import annotations

import io as _io
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError

#: Largest image accepted by default (200 megapixels, about 16K x 12K). Larger files are
#: refused from their header, before decoding, rather than allowed to exhaust a kiosk's
#: memory (decompression bombs). Every reader takes a ``max_pixels`` argument.
MAX_IMAGE_PIXELS = 200_000_000


_PIL_LOCK = threading.Lock()
_EXIF_ORIENTATION = 0x0112
_TRUNCATION_HINTS = ("truncated", "broken data stream", "unexpected end", "premature end")


def _to_bgr_uint8(image: np.ndarray, source: str) -> np.ndarray:
    """Convert a decoded image of any common depth / channel count to uint8 BGR."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype in (np.float32, np.float64):
        finite = np.nan_to_num(image, nan=0.0, posinf=0.0, neginf=0.0)
        scale = 255.0 if finite.max(initial=0.0) <= 1.0 else 1.0
        image = np.clip(finite * scale, 0, 255).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise InvalidInputError(
            f"{source}: pixel type {image.dtype} is not supported; save it as 8- or 16-bit PNG/JPEG"
        )
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image)
    raise InvalidInputError(
        f"{source}: an image of shape {image.shape} is neither grey, BGR nor BGRA"
    )


def _open_pil(data: bytes) -> Any:
    """``PIL.Image.open`` on ``data`` (reads the header only), without Pillow's own bomb
    limit: wds-edge applies ``max_pixels`` itself, from the header, with its own message.

    Returns ``None`` when Pillow does not recognise the format.
    """
    from PIL import Image, UnidentifiedImageError

    with _PIL_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None  # for the header parse only (microseconds)
        try:
            return Image.open(_io.BytesIO(data))
        except (UnidentifiedImageError, SyntaxError):
            return None
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _check_size(width: int, height: int, source: str, max_pixels: int | None) -> None:
    if width <= 0 or height <= 0:
        raise InvalidInputError(f"{source}: the image has no pixels ({width}x{height})")
    if max_pixels is not None and width * height > max_pixels:
        raise InvalidInputError(
            f"{source}: {width}x{height} pixels is more than the {max_pixels:,} accepted; "
            "downscale the image first (or raise max_pixels if this is intended)"
        )


def image_size_from_header(
    data: bytes, source: str = "<bytes>", max_pixels: int | None = MAX_IMAGE_PIXELS
) -> tuple[int, int]:
    """The (width, height) in pixels that an encoded image's header declares; no decoding.

    Raises:
        InvalidInputError: empty data, a format Pillow cannot identify, or more than
            ``max_pixels`` pixels (``None``: no limit).
    """
    if len(data) == 0:
        raise InvalidInputError(f"{source}: the file is empty (0 bytes); pass a JPEG or PNG photo")
    try:
        pil = _open_pil(data)
    except Exception as exc:  # any header parse failure of any plugin
        raise InvalidInputError(f"{source}: cannot read the image header ({exc})") from exc
    if pil is None:
        raise InvalidInputError(
            f"{source}: cannot decode the data as an image (corrupt or not an image format); "
            "pass a JPEG, PNG, BMP, TIFF or WebP file"
        )
    with pil:
        width, height = (int(v) for v in pil.size)
    _check_size(width, height, source, max_pixels)
    return width, height


def _pil_to_bgr(pil: Any, source: str) -> np.ndarray:
    mode = pil.mode
    if mode.startswith("I;16"):
        return _to_bgr_uint8(np.asarray(pil).astype(np.uint16), source)
    if mode == "I":
        return _to_bgr_uint8(np.clip(np.asarray(pil), 0, 65535).astype(np.uint16), source)
    if mode == "F":
        return _to_bgr_uint8(np.asarray(pil, dtype=np.float32), source)
    if mode == "L":
        return _to_bgr_uint8(np.asarray(pil), source)
    if mode != "RGB":
        pil = pil.convert("RGB")  # palette, alpha (dropped), CMYK, YCbCr, 1-bit, ...
    return cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)  # faster than a [..., ::-1] copy


def decode_image(
    data: bytes, source: str = "<bytes>", *, max_pixels: int | None = MAX_IMAGE_PIXELS
) -> np.ndarray:
    """Decode encoded image bytes (JPEG, PNG, BMP, TIFF, WebP, GIF) to uint8 BGR HxWx3.

    The size is read from the header and refused before decoding when it exceeds
    ``max_pixels`` (``None``: no limit). The decoder reports truncation; bytes after a
    JPEG's end-of-image marker (motion photos, vendor trailers) are accepted. EXIF
    orientation is applied (a phone portrait comes out upright). Grey, 16-bit, float,
    palette and RGBA images are converted (alpha is dropped; grey becomes three equal
    channels). Formats Pillow does not know fall back to OpenCV.

    Raises:
        InvalidInputError: empty, truncated, corrupt, unsupported or too large data.
    """
    if len(data) == 0:
        raise InvalidInputError(f"{source}: the file is empty (0 bytes); pass a JPEG or PNG photo")
    try:
        pil = _open_pil(data)
    except Exception:  # a plugin choked on the header: let OpenCV try
        pil = None
    if pil is None:
        return _decode_with_opencv(data, source, max_pixels)
    with pil:
        _check_size(int(pil.size[0]), int(pil.size[1]), source, max_pixels)
        try:
            pil.load()
            orientation = pil.getexif().get(_EXIF_ORIENTATION, 1)
            if orientation not in (None, 1):
                from PIL import ImageOps

                pil = ImageOps.exif_transpose(pil)  # a copy: only when it turns the image
            return _pil_to_bgr(pil, source)
        except InvalidInputError:
            raise
        except MemoryError as exc:
            raise InvalidInputError(
                f"{source}: not enough memory to decode {pil.size[0]}x{pil.size[1]} pixels; "
                "downscale the image or lower max_pixels"
            ) from exc
        except Exception as exc:  # every decoder error becomes the project's error
            text = str(exc).lower()
            if any(hint in text for hint in _TRUNCATION_HINTS):
                raise InvalidInputError(
                    f"{source}: the {pil.format or 'image'} data is truncated ({exc}); the file "
                    "was cut off while copying or saving - take or copy the photo again"
                ) from exc
            raise InvalidInputError(
                f"{source}: cannot decode the {pil.format or 'image'} data (corrupt: {exc}); "
                "pass an intact JPEG, PNG, BMP, TIFF or WebP file"
            ) from exc


def _decode_with_opencv(data: bytes, source: str, max_pixels: int | None) -> np.ndarray:
    try:
        image = cv2.imdecode(
            np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH
        )
    except cv2.error:
        image = None
    if image is None or image.ndim < 2:
        raise InvalidInputError(
            f"{source}: cannot decode the data as an image (corrupt or not an image format "
            "OpenCV or Pillow reads); pass a JPEG, PNG, BMP, TIFF or WebP file"
        )
    _check_size(int(image.shape[1]), int(image.shape[0]), source, max_pixels)
    return _to_bgr_uint8(image, source)


def read_image(
    path: str | os.PathLike[str], *, max_pixels: int | None = MAX_IMAGE_PIXELS
) -> np.ndarray:
    """Read an image file as uint8 BGR HxWx3 (OpenCV's colour order); see :func:`decode_image`.

    Raises:
        InvalidInputError: the path is missing, is a folder, or holds no decodable image
            (or one larger than ``max_pixels``).
    """
    p = Path(path)
    if not p.exists():
        raise InvalidInputError(f"{p}: no such file; check the path")
    if p.is_dir():
        raise InvalidInputError(f"{p}: is a folder; pass an image file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InvalidInputError(
            f"{p}: cannot read the file ({exc}); check its permissions"
        ) from exc
    return decode_image(data, source=str(p), max_pixels=max_pixels)
