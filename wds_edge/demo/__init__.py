"""The live camera demo: display loop, segmentation worker, heads-up display, outputs."""

from __future__ import annotations

from wds_edge.demo.app import DemoConfig, DemoSummary, run_demo
from wds_edge.demo.ui import check_can_open_window

__all__ = [
    "DemoConfig",
    "DemoSummary",
    "run_demo",
    "check_can_open_window",
]
