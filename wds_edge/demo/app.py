"""The live demo: camera -> two-stage pipeline (landmarks | segmentation) -> overlay.

Frames come through the pipeline the service's camera uses
(:class:`~wds_edge.analysis.live_stages.LiveStages`): the landmarks, crop and gates of the
next frame are found on one thread while this frame is segmented on another, so both cores
work. Every good frame is segmented and shown with its own mask, fused with the last few
frames of the same face so the scores do not jump; a camera's grabber drops the frames the
pipeline is too slow for (counted in the summary). A mask segmented before the face was
last lost is never shown on a returning face.

``sync=True`` runs the two stages one after the other on the display loop (the reference
for ``wds-edge bench pipeline``'s comparison). See :class:`DemoConfig` for every option and
:class:`~wds_edge.demo.loop.DemoLoop` for the loop's steps.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from wds_edge.demo.config import DemoConfig, DemoSummary
from wds_edge.demo.loop import DemoLoop, stop_on_signals

__all__ = ["DemoConfig", "DemoSummary", "run_demo"]

logger = logging.getLogger(__name__)


def run_demo(
    config: DemoConfig, *, on_frame: Callable[[dict[str, Any]], None] | None = None
) -> DemoSummary:
    """Run the demo until the source ends, ``max_frames``, the q / Esc key, Ctrl-C or SIGTERM.

    Ctrl-C (SIGINT) and SIGTERM stop the run like q / Esc (when called on the main
    thread): the recording and the JSON lines are finished and moved into place and the
    summary is returned, with the signal in ``stopped_by``. A signal that comes while the
    model loads ends the run before its first frame (a second one interrupts the load: an
    empty summary). Once the run has stopped, further signals are only logged: they cannot
    cut the closing of the outputs short.

    Args:
        config: see :class:`DemoConfig`.
        on_frame: called with each frame's JSON record (what ``jsonl_path`` gets).

    Returns:
        The run's :class:`DemoSummary` (frames, segmentations, rates, stage times, outputs).

    Raises:
        CaptureError: the source cannot be opened.
        InvalidInputError: a window is asked for (not ``headless``) where no display is set;
            an output names the source or another output, or cannot be written (read-only,
            full, a folder, under a file: OutputError), all checked before the model loads.
        OutputError: the recording or the JSON lines fail during the run (a video writer
            OpenCV cannot open at the first frame, a full disk) or cannot be finished and
            moved into place: the run's outputs are dropped (their temporary files
            removed) and an earlier file at their names is left as it was.
        ModelError / BackendError / MissingDependencyError: the model cannot load, or this
            OpenCV has no GUI toolkit for the window.
    """
    stop, interruptible = threading.Event(), threading.Event()
    received: list[str] = []
    with stop_on_signals(stop, received, interruptible):
        try:
            loop = DemoLoop(config, on_frame, stop=stop, interruptible=interruptible)
        except KeyboardInterrupt:
            if not received:
                raise
            summary = DemoSummary()  # a second signal cut the load short: nothing ran
        else:
            summary = loop.run()
    if received:
        summary.stopped_by = received[0]
    logger.info("demo summary: %s", json.dumps(summary.to_dict())[:500])
    return summary
