"""16-bit image files (wds_edge._image_read): read at the full 16-bit range; 10- / 12-bit
data saved unscaled in a 16-bit file is refused with how to scale it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.errors import InvalidInputError
from wds_edge.io import read_image


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_a_full_range_16bit_file_reads_as_its_8bit_photo(
    tmp_path: Path, biden_bgr: np.ndarray, suffix: str
) -> None:
    path = tmp_path / f"deep{suffix}"
    assert cv2.imwrite(str(path), biden_bgr.astype(np.uint16) * 257)
    np.testing.assert_array_equal(read_image(path), biden_bgr)
    grey = tmp_path / f"deep_grey{suffix}"
    assert cv2.imwrite(
        str(grey), cv2.cvtColor(biden_bgr, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257
    )
    assert read_image(grey).dtype == np.uint8 and int(read_image(grey).max()) > 200


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("channels", [1, 3])
def test_a_12bit_file_saved_unscaled_is_refused(
    tmp_path: Path, biden_bgr: np.ndarray, channels: int, suffix: str
) -> None:
    # Grey files decode to 16-bit arrays; colour ones (48-bit) Pillow cuts to their top byte
    # itself, which is at most 15 for such data: both read as a black frame before.
    image = biden_bgr if channels == 3 else cv2.cvtColor(biden_bgr, cv2.COLOR_BGR2GRAY)
    path = tmp_path / f"narrow{suffix}"
    assert cv2.imwrite(str(path), image.astype(np.uint16) * 16)
    with pytest.raises(InvalidInputError, match="full 0-65535 range") as info:
        read_image(path)
    assert str(path) in str(info.value) and "multiply 12-bit data by 16" in str(info.value)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xd9",  # a JPEG of start and end markers only
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 24,  # a PNG signature with a zeroed IHDR
    ],
)
def test_an_unreadable_header_is_told_without_python_object_names(data: bytes) -> None:
    """Pillow's UnidentifiedImageError names its in-memory file ('<_io.BytesIO object at
    0x7f...>'); the service showed that text to clients in its 400 answer."""
    from wds_edge.io import decode_image

    with pytest.raises(InvalidInputError) as caught:
        decode_image(data, source="upload")
    message = str(caught.value)
    assert message.startswith("upload: cannot decode the ") and "header (corrupt: " in message
    assert "object at 0x" not in message and "BytesIO" not in message


def test_junk_after_a_jpeg_start_marker_is_refused_at_once(tmp_path: Path) -> None:
    """Defect: 16 MB of junk after FF D8 FF took seconds inside Pillow's header walk (one
    byte at a time), holding a process-wide lock that blocked every other decode."""
    import time

    from wds_edge.io import decode_image

    data = b"\xff\xd8\xff" + b"\x00" * (16 << 20)
    start = time.perf_counter()
    with pytest.raises(InvalidInputError, match="no marker in the 4096 bytes from offset"):
        decode_image(data, source="junk.jpg")
    assert time.perf_counter() - start < 1.0
    # a real JPEG, with EXIF and a long APP segment before its scan, still reads
    photo = tmp_path / "p.jpg"
    image = np.full((64, 48, 3), 120, np.uint8)
    assert cv2.imwrite(str(photo), image)
    raw = photo.read_bytes()
    app = b"\xff\xe9" + (2 + 60000).to_bytes(2, "big") + b"\x00" * 60000  # an APP9 segment
    assert read_image(photo).shape == decode_image(raw[:2] + app + raw[2:]).shape


def test_read_image_reads_into_one_buffer(tmp_path: Path) -> None:
    """Defect: the file was read in 1 MB chunks, then joined: twice its size in memory (a
    400 MB file peaked at 900 MB)."""
    import tracemalloc

    path = tmp_path / "big.jpg"
    size = 32 << 20
    path.write_bytes(b"\xff\xd8\xff" + b"\x00" * (size - 3))
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInputError, match="no marker"):
            read_image(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.3 * size, peak


def test_a_file_larger_than_any_accepted_image_is_refused_before_reading(
    tmp_path: Path,
) -> None:
    from wds_edge._image_read import max_image_file_bytes

    path = tmp_path / "huge.png"
    with path.open("wb") as f:  # sparse: no disk space, no time
        f.truncate(3 << 30)
    with pytest.raises(InvalidInputError, match=r"the file is 3,221 MB, more than an image"):
        read_image(path)
    assert max_image_file_bytes(None) is None
    with pytest.raises(InvalidInputError, match="more than an image of 1,000 pixels"):
        path.write_bytes(b"\x89PNG" + b"\x00" * (max_image_file_bytes(1000) or 0))
        read_image(path, max_pixels=1000)


def test_a_header_above_pillows_own_limit_is_sized_without_touching_it() -> None:
    """Pillow refuses more than twice its MAX_IMAGE_PIXELS (179 MP) in Image.open; wds-edge
    accepts up to its own max_pixels (200 MP) and leaves Pillow's setting as it is."""
    from fault_helpers import png_bomb
    from PIL import Image

    from wds_edge.io import image_size_from_header

    before = Image.MAX_IMAGE_PIXELS
    assert image_size_from_header(png_bomb(20000, 9500)) == (20000, 9500)  # 190 MP
    assert before == Image.MAX_IMAGE_PIXELS
    with pytest.raises(InvalidInputError, match="more than the 200,000,000 accepted"):
        image_size_from_header(png_bomb(20000, 10001))
