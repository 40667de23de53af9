"""Reading images robustly and writing files atomically.

Every file wds-edge writes (JSON results, overlays, labels, checkpoints, models,
engines) goes through :func:`atomic_write`: the bytes land in a temporary file in
the same folder and are moved over the target only once complete, so a crash or
Ctrl-C never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError

__all__ = [
    "atomic_write",
    "write_bytes_atomic",
    "write_text_atomic",
    "write_json_atomic",
    "write_image_atomic",
    "read_image",
    "decode_image",
    "MAX_IMAGE_PIXELS",
    "sha256_file",
]

#: Largest image accepted (about 16K x 12K). Larger files are refused rather than
#: allowed to exhaust a kiosk's memory (decompression bombs).
MAX_IMAGE_PIXELS = 200_000_000


def _read_umask() -> int:
    # os.umask can only be read by setting it; do that once, at import, not per write:
    # a set-and-restore while other threads create files would hand them umask 0.
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_UMASK = _read_umask()


def _target_mode(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_UMASK


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks (models, engines, downloads)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success move it over ``path``.

    On an exception the temporary file is removed and ``path`` is untouched.
    Parent folders are created. The file gets the mode a plain ``open()`` would give it
    (0666 less the umask; an existing target keeps its mode), not ``mkstemp``'s 0600.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), _target_mode(target))
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically and return the path."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], obj: Any, indent: int = 2) -> Path:
    """Serialize ``obj`` as JSON (UTF-8, trailing newline) to ``path`` atomically."""
    return write_text_atomic(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


def write_image_atomic(path: str | os.PathLike[str], image: np.ndarray) -> Path:
    """Encode ``image`` (uint8 HxW or HxWx3 BGR, or HxWx4 BGRA) by the file extension of
    ``path`` (.png, .jpg, .bmp, .tif) and write it atomically."""
    ext = Path(path).suffix.lower() or ".png"
    try:
        ok, buf = cv2.imencode(ext, image)
    except cv2.error:  # OpenCV raises for an extension it has no encoder for
        ok = False
    if not ok:
        raise InvalidInputError(
            f"cannot encode an image of shape {image.shape} and dtype {image.dtype} as '{ext}' "
            f"for {path}; use .png or .jpg and a uint8 image"
        )
    return write_bytes_atomic(path, buf.tobytes())


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


def decode_image(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode encoded image bytes (JPEG, PNG, BMP, TIFF, WebP, GIF) to uint8 BGR HxWx3.

    Grey, 16-bit, float and RGBA images are converted (alpha is dropped).

    Raises:
        InvalidInputError: empty, truncated, corrupt, unsupported or too large data.
    """
    if len(data) == 0:
        raise InvalidInputError(f"{source}: the file is empty (0 bytes); pass a JPEG or PNG photo")
    if data[:2] == b"\xff\xd8" and b"\xff\xd9" not in data[-1024:]:
        raise InvalidInputError(
            f"{source}: the JPEG data is truncated (no end-of-image marker); "
            "the file was cut off while copying or saving - take or copy the photo again"
        )
    buf = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH)
    if image is None:
        image = _decode_with_pillow(data)
    if image is None:
        raise InvalidInputError(
            f"{source}: cannot decode the data as an image (corrupt or not an image format "
            "OpenCV or Pillow reads); pass a JPEG, PNG, BMP, TIFF or WebP file"
        )
    if image.shape[0] * image.shape[1] > MAX_IMAGE_PIXELS:
        raise InvalidInputError(
            f"{source}: {image.shape[1]}x{image.shape[0]} pixels is more than the "
            f"{MAX_IMAGE_PIXELS:,} accepted; downscale the image first"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InvalidInputError(f"{source}: the image has no pixels")
    return _to_bgr_uint8(image, source)


def _decode_with_pillow(data: bytes) -> np.ndarray | None:
    import io as _io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(_io.BytesIO(data)) as pil:
            pil.load()
            if pil.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1", "LA"):
                pil = pil.convert("RGBA" if "A" in pil.mode else "RGB")
            array = np.asarray(pil)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    if array.ndim == 3 and array.shape[2] == 3:
        return array[:, :, ::-1].copy()
    if array.ndim == 3 and array.shape[2] == 4:
        return cv2.cvtColor(array, cv2.COLOR_RGBA2BGRA)
    return array


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as uint8 BGR HxWx3 (OpenCV's colour order).

    Raises:
        InvalidInputError: the path is missing, is a folder, or holds no decodable image.
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
    return decode_image(data, source=str(p))
