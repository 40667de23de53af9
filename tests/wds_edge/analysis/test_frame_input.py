"""Arrays the analyzer accepts (wds_edge.analysis.frames.as_frame_bgr): 16-bit data must use
the full 16-bit range; 10- / 12-bit camera data in a uint16 array is refused, not read as a
face that is too dark forever."""

from __future__ import annotations

import numpy as np
import pytest

from wds_edge.errors import InvalidInputError
from wds_edge.perception.quality import FrameStatus


@pytest.mark.parametrize(("bits", "factor"), [(12, 16), (10, 4)])
def test_narrow_data_in_a_uint16_array_is_refused_with_how_to_scale_it(
    analyzer, biden_bgr: np.ndarray, bits: int, factor: int
) -> None:  # noqa: ANN001
    # biden2.jpg at 10 / 12 bits, stored unscaled: >> 8 kept at most 15 grey levels, and the
    # face was refused as too_dark for good ("more light, please").
    narrow = biden_bgr.astype(np.uint16) * factor
    assert int(narrow.max()) < 2**bits
    with pytest.raises(InvalidInputError, match="full 0-65535 range") as info:
        analyzer.locate(narrow)
    assert "multiply 12-bit data by 16" in str(info.value)
    assert str(int(narrow.max())) in str(info.value)


def test_full_range_16bit_arrays_are_read_as_their_8bit_image(
    analyzer, biden_bgr: np.ndarray
) -> None:  # noqa: ANN001
    expected = analyzer.locate(biden_bgr)
    assert expected.status is FrameStatus.OK
    full = analyzer.locate(biden_bgr.astype(np.uint16) * 257)
    assert full.status is FrameStatus.OK
    assert full.quality["brightness"] == expected.quality["brightness"]
    # 12-bit data scaled as the message says
    scaled = analyzer.locate(biden_bgr.astype(np.uint16) * 16 * 16)
    assert scaled.status is FrameStatus.OK


def test_a_black_16bit_frame_is_no_face_not_an_error(analyzer) -> None:  # noqa: ANN001
    # All zero reads the same at any bit depth: nothing to refuse (a covered lens).
    result = analyzer.locate(np.zeros((240, 320, 3), np.uint16))
    assert result.status is FrameStatus.NO_FACE
