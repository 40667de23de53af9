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
