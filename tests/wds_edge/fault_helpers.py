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

__all__ = [
    "conv_sigmoid_onnx",
    "run_cli",
    "leftovers",
    "png_bomb",
    "hdr_bomb",
    "exif_rotated_jpeg",
    "mjpg_avi",
    "truncated_avi",
]


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


def hdr_bomb(width: int, height: int) -> bytes:
    """A valid Radiance HDR (RGBE, new-style run-length scanlines) of width x height pixels
    of one grey: a few MB that OpenCV decodes into width x height x 3 float32 (8000 x 8000:
    768 MB). Each scanline is ``02 02 hi lo`` then, per RGBE channel, runs of up to 127
    equal bytes (``0x80 + n``, value)."""
    runs = []
    left = width
    while left:
        n = min(127, left)
        runs.append(bytes((0x80 + n,)))
        left -= n
    channel = lambda value: b"".join(r + bytes((value,)) for r in runs)  # noqa: E731
    line = bytes((2, 2, width >> 8, width & 0xFF)) + b"".join(
        channel(v)
        for v in (128, 128, 128, 129)  # RGB mantissa 128, exponent 129: 1.0
    )
    header = f"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y {height} +X {width}\n".encode()
    return header + line * height


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


def mjpg_avi(video: Path, path: Path, frames: int = 40, size: tuple[int, int] = (320, 180)) -> Path:
    """The first ``frames`` frames of ``video`` resized to ``size``, written as an MJPG AVI at
    30 fps by OpenCV (its header says ``frames`` frames)."""
    capture = cv2.VideoCapture(str(video))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, size)
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write MJPG AVI files")
    for _ in range(frames):
        ok, frame = capture.read()
        assert ok, f"{video} has fewer than {frames} frames"
        writer.write(cv2.resize(frame, size))
    writer.release()
    capture.release()
    return path


def truncated_avi(
    video: Path, path: Path, frames: int = 40, size: tuple[int, int] = (320, 180)
) -> Path:
    """:func:`mjpg_avi` cut off half-way, as a copy interrupted while it was written: the
    header still says ``frames`` frames; OpenCV decodes about half of them (21 of 40)."""
    mjpg_avi(video, path, frames, size)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def conv_sigmoid_onnx(
    path: Path, *, out_channels: int = 1, size_px: int = 64, stride: int = 1
) -> Path:
    """A hand-built RGB -> 1x1 conv -> sigmoid ONNX model with wds-edge metadata (texture
    declared in the graph, written as ``annotate_onnx`` writes it for a 3-channel input): a
    model the SDK's own exporter would never write (no [R, G, B, T] Concat; ``out_channels``
    outputs, at 1 / ``stride`` of the input's size). ``annotate_onnx`` itself refuses the
    graphs no backend runs (several channels, another size), so the metadata is set here."""
    # set_metadata itself needs no torch, but its package (wds_edge_export) imports it
    pytest.importorskip("torch", reason="set_metadata (wds_edge_export) needs torch")
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    import wds_edge
    from wds_edge.model.metadata import ModelMetadata
    from wds_edge.model.preprocessing import Preprocessing
    from wds_edge_export.onnx_export import set_metadata

    weight = numpy_helper.from_array(np.full((out_channels, 3, 1, 1), 0.01, np.float32), "w")
    out_px = size_px // stride
    shape_in, shape_out = [1, 3, size_px, size_px], [1, out_channels, out_px, out_px]
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["image", "w"], ["z"], strides=[stride, stride]),
            helper.make_node("Sigmoid", ["z"], ["p"]),
        ],
        "conv_sigmoid", [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape_in)],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, shape_out)], [weight],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    metadata = ModelMetadata(
        producer_version=wds_edge.__version__, input_name="image", output_name="p",
        input_shape=shape_in,
        preprocessing=Preprocessing.TEXTURE_IN_GRAPH, value_range=(0.0, 255.0),
    )  # fmt: skip
    set_metadata(model, metadata, omit=("architecture",))
    onnx.save(model, str(path))
    return path
