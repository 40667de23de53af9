"""INT8 calibration: representative crops through the kiosk's own preprocessing."""

from __future__ import annotations

__all__: list[str] = []
