"""The live demo: camera -> landmarks every frame -> segmentation in a worker -> overlay.

The display never waits for segmentation. Each frame is located on the main loop
(:meth:`WrinkleAnalyzer.locate`: face, crop transform, quality - fast); the newest
good crop is handed to a background worker (:class:`LatestJobWorker`, 1-slot queue,
newest wins) that runs :meth:`WrinkleAnalyzer.segment`. The last finished
segmentation's crop-space probability is pasted back with the *current* frame's crop
transform, so the mask follows the face at camera rate even when the model runs at a
few updates per second. A mask segmented before the face was last lost is never shown
on a returning face.

``sync=True`` segments every good frame on the main loop instead (deterministic:
headless runs on a file, CI). See :class:`DemoConfig` for every option and
:class:`~wds_edge.demo.loop.DemoLoop` for the loop's steps.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from wds_edge.demo.config import DemoConfig, DemoSummary
from wds_edge.demo.loop import DemoLoop

__all__ = ["DemoConfig", "DemoSummary", "run_demo"]

logger = logging.getLogger(__name__)


def run_demo(
    config: DemoConfig, *, on_frame: Callable[[dict[str, Any]], None] | None = None
) -> DemoSummary:
    """Run the demo until the source ends, ``max_frames``, or the q / Esc key.

    Args:
        config: see :class:`DemoConfig`.
        on_frame: called with each frame's JSON record (what ``jsonl_path`` gets).

    Returns:
        The run's :class:`DemoSummary` (frames, segmentations, rates, stage times, outputs).

    Raises:
        CaptureError: the source cannot be opened.
        ModelError / BackendError / MissingDependencyError: the model or a window cannot load.
    """
    summary = DemoLoop(config, on_frame).run()
    logger.info("demo summary: %s", json.dumps(summary.to_dict())[:500])
    return summary
