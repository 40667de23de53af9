"""Image decoding for :mod:`wds_edge.io` (re-exported there; import it from ``wds_edge.io``).

The format is decided from the bytes (:func:`sniff_image_format`) and only
:data:`DECODED_FORMATS` are decoded, each by Pillow, which reads the size from the header;
it is checked against ``max_pixels`` before the pixels are decoded. Pillow's decoder
reports truncation itself; EXIF orientation is applied; every decoder error becomes an
:class:`~wds_edge.errors.InvalidInputError`.

Decodes run in parallel: no lock is held over a header parse or a decode (Pillow's own
bomb limit, a process-wide setting, is left alone: the header is parsed by the format's
plugin directly and ``max_pixels`` is checked here). A JPEG whose header has a run of
more than :data:`MAX_JPEG_HEADER_GAP` bytes without a marker is refused before Pillow walks
it byte by byte, and :func:`read_image` refuses a file larger than any image of
``max_pixels`` pixels can be (:func:`max_image_file_bytes`) from its size, before reading.
"""

from __future__ import annotations

import io as _io
import os
import re
import stat
import struct
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError, UnsupportedImageError

#: Largest image accepted by default (200 megapixels, about 16K x 12K). Larger files are
#: refused from their header, before decoding, rather than allowed to exhaust a kiosk's
#: memory (decompression bombs). Every reader takes a ``max_pixels`` argument.
MAX_IMAGE_PIXELS = 200_000_000


#: Bytes of the largest uncompressed pixel a decoded format stores (16-bit RGBA), for
#: :func:`max_image_file_bytes`.
_MAX_BYTES_PER_PIXEL = 8
#: Room for what an image file holds besides its pixels (EXIF, ICC profile, XMP, thumbnails).
_FILE_OVERHEAD_BYTES = 64 << 20
#: The longest run of bytes without a marker accepted in a JPEG's header (before its scan):
#: encoders write the segments back to back; junk after the start marker would otherwise
#: be walked by Pillow one byte at a time (seconds for a few MB).
MAX_JPEG_HEADER_GAP = 4096

_PLUGIN_INIT_LOCK = threading.Lock()  # Pillow's plugin registry is filled once
_EXIF_ORIENTATION = 0x0112
_TRUNCATION_HINTS = ("truncated", "broken data stream", "unexpected end", "premature end")


#: A 16-bit image whose brightest value is at most this (and above 0) holds 10- or 12-bit
#: data in 16 bits, not the full 0-65535 range the conversion to 8 bits assumes.
_MAX_NARROW_16BIT_VALUE = 4095


def _to_bgr_uint8(image: np.ndarray, source: str) -> np.ndarray:
    """Convert a decoded image of any common depth / channel count to uint8 BGR.

    16-bit data must use the full 0-65535 range: its top 8 bits are kept (``image >> 8``).
    10- / 12-bit data stored unscaled in 16 bits (brightest value at most 4095) would come out
    almost black and be refused as too dark forever, so it is refused here with how to scale it.
    """
    if image.dtype == np.uint16:
        brightest = int(image.max(initial=0))
        if 0 < brightest <= _MAX_NARROW_16BIT_VALUE:
            raise _narrow_16bit_error(source, f"is {brightest}")
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


def _narrow_16bit_error(source: str, brightest: str) -> InvalidInputError:
    return InvalidInputError(
        f"{source}: a 16-bit image must use the full 0-65535 range (its top 8 bits are kept), "
        f"but its brightest value {brightest}: 10- or 12-bit data stored unscaled in 16 bits "
        "would come out almost black. Scale it to the full range first (multiply 12-bit data "
        "by 16, 10-bit data by 64) or pass 8-bit data (12-bit: (image >> 4).astype(np.uint8))"
    )


def _sixteen_bit_colour(pil: Any) -> bool:
    """A colour image stored with 16 bits a channel (a 48-bit PNG / TIFF): Pillow decodes it
    to 8 bits itself (the top byte), so it must be told by its raw mode, before ``load()``."""
    if pil.mode not in ("RGB", "RGBA"):
        return False
    for tile in getattr(pil, "tile", None) or ():
        args = tile[3] if len(tile) > 3 else None
        raw = args[0] if isinstance(args, tuple) and args else args
        if isinstance(raw, str) and ";16" in raw:
            return True
    return False


#: Formats wds-edge decodes (Pillow's names). The format is decided from the bytes (never
#: from a file name or a Content-Type) and the size is read from the header before a
#: pixel is decoded; anything else is refused, since a decoder that cannot be sized
#: first (OpenCV's Radiance HDR, OpenEXR, ...) can be made to allocate gigabytes.
DECODED_FORMATS = ("JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF")

_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"BM", "BMP"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (8, b"WEBP", "WEBP"),  # after b"RIFF" + size
    (0, b"#?RADIANCE", "Radiance HDR"),
    (0, b"#?RGBE", "Radiance HDR"),
    (0, b"v/1\x01", "OpenEXR"),
    (0, b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (0, b"\xffO\xffQ", "JPEG 2000"),
    (0, b"PF\n", "PFM"),
    (0, b"Pf\n", "PFM"),
    (0, b"\x59\xa6\x6a\x95", "Sun raster"),
    (4, b"ftypavif", "AVIF"),
    (4, b"ftypheic", "HEIC"),
    (4, b"ftypheix", "HEIC"),
    (4, b"ftypmif1", "HEIF"),
    (0, b"8BPS", "Photoshop PSD"),
)
_PNM = re.compile(rb"^P[1-7]\s")
_HDR_SIZE = re.compile(rb"\n\n([-+][XY]) (\d+) ([-+][XY]) (\d+)\n")


def sniff_image_format(data: bytes) -> str | None:
    """The image format that ``data`` starts with (``"JPEG"``, ``"PNG"``, ..., or the name
    of a format wds-edge does not decode, e.g. ``"Radiance HDR"``); ``None`` when the
    bytes are no image format known here."""
    for offset, magic, name in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            if name == "WEBP" and not data.startswith(b"RIFF"):
                continue
            return name
    if _PNM.match(data[:3]):
        return "PNM"
    head = data[:256].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")):
        return "SVG"
    return None


def _declared_size_text(data: bytes, fmt: str) -> str:
    """`` declaring WxH pixels`` for formats whose size is easy to read here (HDR), else ""."""
    if fmt == "Radiance HDR":
        match = _HDR_SIZE.search(data[:4096])
        if match:
            first, second = match.group(1)[1:], match.group(3)[1:]
            axes = {first: int(match.group(2)), second: int(match.group(4))}
            return f" declaring {axes.get(b'X', 0)}x{axes.get(b'Y', 0)} pixels"
    return ""


def max_image_file_bytes(max_pixels: int | None) -> int | None:
    """The largest file :func:`read_image` reads for ``max_pixels``: an uncompressed 16-bit
    RGBA image of that many pixels plus 64 MiB of metadata (``None``: no limit)."""
    if max_pixels is None:
        return None
    return max_pixels * _MAX_BYTES_PER_PIXEL + _FILE_OVERHEAD_BYTES


def _jpeg_marker_gap(data: bytes) -> int | None:
    """The offset of a run of more than :data:`MAX_JPEG_HEADER_GAP` bytes without a marker
    in a JPEG's header (its segments, up to the start of scan); ``None`` when there is none.
    Segments are skipped by their lengths, so the walk costs one step a segment."""
    pos, end = 2, len(data)  # after the start-of-image marker
    while pos < end:
        marker = data.find(b"\xff", pos, pos + MAX_JPEG_HEADER_GAP + 1)
        if marker < 0:
            return pos if end - pos > MAX_JPEG_HEADER_GAP else None
        pos = marker
        while pos < end and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= end:
            return None
        code = data[pos]
        pos += 1
        if code == 0xDA:  # start of scan: the header is read
            return None
        if code in (0x00, 0x01) or 0xD0 <= code <= 0xD9:  # no length follows
            continue
        if pos + 2 > end:
            return None
        pos += int.from_bytes(data[pos : pos + 2], "big")
    return None


def _open_pil(data: bytes, fmt: str) -> Any:
    """``fmt``'s Pillow plugin on ``data``: the header only, as ``PIL.Image.open(...,
    formats=[fmt])`` reads it, but without Pillow's bomb limit (a process-wide setting
    that would have to be lifted under a lock, blocking every other decode): wds-edge
    applies ``max_pixels`` itself, from the header, with its own message.

    Raises:
        PIL.UnidentifiedImageError: the plugin cannot read the header.
    """
    from PIL import Image, UnidentifiedImageError

    if fmt not in Image.OPEN:
        with _PLUGIN_INIT_LOCK:
            Image.preinit()
            if fmt not in Image.OPEN:
                Image.init()
    if fmt not in Image.OPEN:  # a Pillow built without it (WebP needs libwebp)
        raise UnidentifiedImageError(f"this Pillow build has no {fmt} plugin")
    factory, _ = Image.OPEN[fmt]
    try:
        return factory(_io.BytesIO(data), "")
    except (SyntaxError, IndexError, TypeError, struct.error) as exc:  # as Image.open
        raise UnidentifiedImageError(f"cannot identify the {fmt} data") from exc


def _check_size(width: int, height: int, source: str, max_pixels: int | None) -> None:
    if width <= 0 or height <= 0:
        raise InvalidInputError(f"{source}: the image has no pixels ({width}x{height})")
    if max_pixels is not None and width * height > max_pixels:
        raise InvalidInputError(
            f"{source}: {width}x{height} pixels is more than the {max_pixels:,} accepted; "
            "downscale the image first (or raise max_pixels if this is intended)"
        )


def _open_checked(data: bytes, source: str, max_pixels: int | None, formats: Sequence[str]) -> Any:
    """The format from the bytes, then Pillow's header parse, then the size check: an
    opened, not yet decoded ``PIL.Image``.

    Raises:
        UnsupportedImageError: a known image format outside ``formats``.
        InvalidInputError: empty data, no image format, a broken header, too many pixels.
    """
    if len(data) == 0:
        raise InvalidInputError(f"{source}: the file is empty (0 bytes); pass a JPEG or PNG photo")
    fmt = sniff_image_format(data)
    accepted = ", ".join(formats)
    if fmt is None:
        raise InvalidInputError(
            f"{source}: cannot decode the data as an image (corrupt or not an image format); "
            f"pass a {accepted} file"
        )
    if fmt not in formats:
        raise UnsupportedImageError(
            f"{source}: the data is a {fmt} image{_declared_size_text(data, fmt)}, which is "
            f"not decoded here (accepted: {accepted}); convert it to JPEG or PNG first"
        )
    gap = _jpeg_marker_gap(data) if fmt == "JPEG" else None
    if gap is not None:
        raise InvalidInputError(
            f"{source}: cannot decode the JPEG header (corrupt: no marker in the "
            f"{MAX_JPEG_HEADER_GAP} bytes from offset {gap}); pass an intact JPEG file"
        )
    try:
        pil = _open_pil(data, fmt)
    except Exception as exc:  # any header parse failure of the plugin
        from PIL import UnidentifiedImageError

        # Pillow's UnidentifiedImageError names its file object ('<_io.BytesIO object at
        # 0x7f...>'), which means nothing to whoever sent the image
        why = "Pillow cannot identify it" if isinstance(exc, UnidentifiedImageError) else exc
        raise InvalidInputError(
            f"{source}: cannot decode the {fmt} header (corrupt: {why}); pass an intact {fmt} file"
        ) from exc
    try:
        _check_size(int(pil.size[0]), int(pil.size[1]), source, max_pixels)
    except InvalidInputError:
        pil.close()
        raise
    return pil


def image_size_from_header(
    data: bytes,
    source: str = "<bytes>",
    max_pixels: int | None = MAX_IMAGE_PIXELS,
    *,
    formats: Sequence[str] = DECODED_FORMATS,
) -> tuple[int, int]:
    """The (width, height) in pixels that an encoded image's header declares; no decoding.

    Args:
        data: the encoded bytes.
        source: names the data in messages.
        max_pixels: refuse more pixels than this (``None``: no limit).
        formats: the accepted formats (:data:`DECODED_FORMATS` or a subset).

    Raises:
        UnsupportedImageError: the bytes are an image format outside ``formats``.
        InvalidInputError: empty data, no image format, a broken header, or more than
            ``max_pixels`` pixels.
    """
    with _open_checked(data, source, max_pixels, formats) as pil:
        return int(pil.size[0]), int(pil.size[1])


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
    data: bytes,
    source: str = "<bytes>",
    *,
    max_pixels: int | None = MAX_IMAGE_PIXELS,
    formats: Sequence[str] = DECODED_FORMATS,
) -> np.ndarray:
    """Decode encoded image bytes (JPEG, PNG, BMP, TIFF, WebP, GIF) to uint8 BGR HxWx3.

    The format is decided from the bytes and must be one of ``formats``; the size is
    read from the header and refused before decoding when it exceeds ``max_pixels``
    (``None``: no limit). The decoder reports truncation; bytes after a JPEG's
    end-of-image marker (motion photos, vendor trailers) are accepted. EXIF orientation
    is applied (a phone portrait comes out upright). Grey, 16-bit, float, palette and
    RGBA images are converted (alpha is dropped; grey becomes three equal channels; 16-bit
    data must use the full 0-65535 range: one whose brightest value is at most 4095, 10- or
    12-bit data stored unscaled, is refused).

    Raises:
        UnsupportedImageError: another image format (Radiance HDR, OpenEXR, HEIC, ...).
        InvalidInputError: empty, truncated, corrupt or too large data, or 16-bit data
            that does not use the 16-bit range.
    """
    pil = _open_checked(data, source, max_pixels, formats)
    with pil:
        try:
            sixteen_bit_colour = _sixteen_bit_colour(pil)
            pil.load()
            orientation = pil.getexif().get(_EXIF_ORIENTATION, 1)
            if orientation not in (None, 1):
                from PIL import ImageOps

                pil = ImageOps.exif_transpose(pil)  # a copy: only when it turns the image
            image = _pil_to_bgr(pil, source)
            # Pillow kept the top byte of each 16-bit value: at most 15 means at most 4095.
            if sixteen_bit_colour and 0 < int(image.max(initial=0)) <= _MAX_NARROW_16BIT_VALUE >> 8:
                raise _narrow_16bit_error(source, "is at most 4095")
            return image
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


def read_image(
    path: str | os.PathLike[str], *, max_pixels: int | None = MAX_IMAGE_PIXELS
) -> np.ndarray:
    """Read an image file as uint8 BGR HxWx3 (OpenCV's colour order); see :func:`decode_image`.

    The file is read into one buffer of its size. A file larger than any image of
    ``max_pixels`` pixels can be (:func:`max_image_file_bytes`: 1.7 GB for the default
    200 megapixels) is refused from its size, before it is read.

    Raises:
        InvalidInputError: the path is missing, is a folder, is too large, or holds no
            decodable image (or one larger than ``max_pixels``).
    """
    p = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO without a writer must not hang; fstat then says what
        # was opened (no gap between the check and the read for the file to be swapped).
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InvalidInputError(f"{p}: no such file; check the path") from None
    except IsADirectoryError:
        raise InvalidInputError(f"{p}: is a folder; pass an image file") from None
    except OSError as exc:
        raise InvalidInputError(
            f"{p}: cannot read the file ({exc.strerror or exc}); check its permissions"
        ) from None
    try:
        info = os.fstat(fd)
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            raise InvalidInputError(f"{p}: is a folder; pass an image file")
        if not stat.S_ISREG(mode):
            kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "not a regular file"
            raise InvalidInputError(
                f"{p}: is {kind}, not an image file; pass the photo file itself"
            )
        limit = max_image_file_bytes(max_pixels)
        if limit is not None and info.st_size > limit:
            raise InvalidInputError(
                f"{p}: the file is {info.st_size / 1e6:,.0f} MB, more than an image of "
                f"{max_pixels:,} pixels can take ({limit / 1e6:,.0f} MB); pass the photo "
                "itself, downscaled if it is larger (or raise max_pixels if this is intended)"
            )
        # one buffer of the file's size (a byte more tells whether it grew since fstat)
        data = os.read(fd, info.st_size + 1)
        if len(data) != info.st_size:  # a short read, or a file that changed: read to its end
            rest = [data]
            while chunk := os.read(fd, 1 << 20):
                rest.append(chunk)
            data = b"".join(rest)
    except OSError as exc:
        raise InvalidInputError(
            f"{p}: cannot read the file ({exc.strerror or exc}); check its permissions"
        ) from None
    finally:
        os.close(fd)
    return decode_image(data, source=str(p), max_pixels=max_pixels)
