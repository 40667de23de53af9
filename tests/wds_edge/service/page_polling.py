"""What the kiosk page tests (in Chromium) share: their marks, and waiting for the page to
show a state."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import Any

import pytest

#: The page tests' ``pytestmark``: marked ``browser``, skipped without Debian's chromium.
BROWSER_TEST = [
    pytest.mark.browser,
    pytest.mark.skipif(
        (shutil.which("chromium") or shutil.which("chromium-browser")) is None
        or shutil.which("chromedriver") is None,
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
        "chromium-driver; scripts/setup.sh dev installs them as root)",
    ),
]


def wait_until(
    read: Callable[[], dict[str, Any]],
    check: Callable[[dict[str, Any]], bool],
    what: str,
    timeout_s: float,
) -> dict[str, Any]:
    """Read the page's state every 50 ms until ``check`` holds; that state. Fails with what
    the page showed last when ``timeout_s`` passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        state = read()
        if check(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: the page shows {state}")
        time.sleep(0.05)
