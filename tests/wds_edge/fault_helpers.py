"""Helpers of the fault-matrix tests (``test_fault_matrix_*.py`` import them by module name:
pytest puts this folder on ``sys.path``)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from wds_edge.cli import main
from wds_edge.io import TEMP_PREFIX

__all__ = ["run_cli", "leftovers", "png_bomb", "exif_rotated_jpeg"]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    """Run ``wds-edge ARGV`` in-process; (exit code, stdout, stderr one-line-joined)."""
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0) if not isinstance(exc.code, str) else 2
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())


def leftovers(folder: Path) -> list[Path]:
    """Temporary / partial files anywhere under ``folder``."""
    return [p for p in folder.rglob("*") if p.name.startswith((TEMP_PREFIX, ".")) and p.is_file()]


def png_bomb(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height RGB but whose IDAT holds a few bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + chunk(b"IEND", b"")
    )


def exif_rotated_jpeg(image_bgr: np.ndarray) -> bytes:
    """The photo stored lying on its side with EXIF orientation 6 ("rotate 90 CW to view"),
    as a phone held upright writes it."""
    lying = cv2.rotate(image_bgr, cv2.ROTATE_90_COUNTERCLOCKWISE)
    pil = Image.fromarray(cv2.cvtColor(lying, cv2.COLOR_BGR2RGB))
    exif = pil.getexif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    pil.save(buf, "JPEG", quality=92, exif=exif)
    return buf.getvalue()
