"""The live camera demo: display loop, segmentation worker, heads-up display, outputs."""

from __future__ import annotations

from wds_edge.demo.app import DemoConfig, DemoSummary, run_demo

__all__ = [
    "DemoConfig",
    "DemoSummary",
    "run_demo",
]
