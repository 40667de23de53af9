"""Waiting for the kiosk page (in Chromium) to show a state: what the page tests share."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


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
