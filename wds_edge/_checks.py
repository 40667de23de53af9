"""Type checks of values that arrive from outside (JSON, options, keyword arguments).

One definition of "a number" for every reader: a real, finite number, and never ``bool``
(an ``int`` subclass, so ``True`` would otherwise pass as 1).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["is_digits", "is_finite_number", "is_flag"]


def is_finite_number(value: Any) -> bool:
    """A real, finite number (Python or NumPy); ``bool``, strings, NaN and inf are not, nor
    a whole number too large for a float (``10 ** 400`` in a hand-edited JSON file)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def is_flag(value: Any) -> bool:
    """``True`` or ``False`` (not 0 / 1 / "yes")."""
    return isinstance(value, bool)


def is_digits(text: Any) -> bool:
    """A string of ASCII digits, blanks around it allowed ("0", " 12 "): what ``int()`` reads
    as a whole number >= 0. ``str.isdigit`` alone also takes "²" or "١", which ``int()``
    refuses or reads as another number."""
    if not isinstance(text, str):
        return False
    text = text.strip()
    return text.isascii() and text.isdigit()
