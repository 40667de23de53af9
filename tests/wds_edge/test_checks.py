"""wds_edge._checks: what counts as a number / a whole-number string from outside."""

from __future__ import annotations

import pytest

from wds_edge._checks import is_digits


@pytest.mark.parametrize("text", ["0", "7", " 12 ", "2147483647"])
def test_ascii_digit_strings_are_digits(text: str) -> None:
    assert is_digits(text)


@pytest.mark.parametrize("text", ["²", "١", "1²", "", " ", "-1", "1.0", "0x1", "cam0", 3, None])
def test_other_text_is_not(text: object) -> None:
    """str.isdigit takes '²' (and int('²') then raises) and the Arabic-Indic '١' (which int()
    reads as 1): neither is a camera index or a device number typed on a kiosk."""
    assert not is_digits(text)


def test_a_superscript_source_is_a_clear_capture_error_not_a_value_error() -> None:
    """The live loop read '²' as a camera index and died in int() with a ValueError."""
    from wds_edge.analysis.live import open_live_source
    from wds_edge.errors import CaptureError

    with pytest.raises(CaptureError, match="is not a camera index"):
        open_live_source("²")


def test_a_whole_number_too_large_for_a_float_is_not_a_finite_number() -> None:
    """Defect: float(10 ** 400) raised OverflowError out of the check of a hand-edited file."""
    from wds_edge._checks import is_finite_number

    assert not is_finite_number(10**400) and not is_finite_number(-(10**400))
    assert is_finite_number(10**300) and is_finite_number(0.5)
