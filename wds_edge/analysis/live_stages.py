"""The two stages of a live screen, one implementation for the demo window and the service.

:class:`LiveStages` gives a :class:`~wds_edge.analysis.pipeline.FramePipeline` its two
stages for a camera that a person stands in front of:

* **locate** (the locate thread): landmarks, the one crop and the gates of every frame; while
  a capture runs (a :class:`~wds_edge.analysis.session.KioskSession`), the frame is fed to it
  instead (the session locates it);
* **segment** (the segment thread): every frame the gates passed is segmented and fused with
  the last few of the same face (:class:`~wds_edge.analysis.running.RunningScore`: the score
  shown does not jump from frame to frame); a frame without a usable face resets that
  window. While a capture collects, frames are only located (the capture segments its
  chosen frames when it is done, on this thread: it is model work).

So ``wds-edge demo`` (:mod:`wds_edge.demo.loop`) and ``wds-edge serve``'s camera
(:class:`~wds_edge.analysis.live.LiveAnalysis`) run the same path, frame for frame.

Thread contract: :meth:`LiveStages.locate` runs on one thread and :meth:`LiveStages.segment`
on another (or both on one, serial); ``current_session`` is called on the locate thread and
must be cheap and thread-safe (the owner starts and ends captures on its own thread).
``lock`` is held around the model work (segmentation and the capture's fusion), so another
user of the analyzer (a web request) can take turns with the live loop; the landmarker is
serialised by the analyzer itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.final import FinalResult
from wds_edge.analysis.pipeline import FramePipeline
from wds_edge.analysis.result import FrameResult
from wds_edge.analysis.running import RUNNING_WINDOW, RunningScore
from wds_edge.analysis.session import KioskSession, SessionUpdate

__all__ = ["LiveLocated", "LiveSegmented", "LiveStages"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class LiveLocated:
    """The locate stage's value: the located frame and, during a capture, its session."""

    result: FrameResult
    session: KioskSession | None = None
    update: SessionUpdate | None = None


@dataclass(frozen=True, eq=False)
class LiveSegmented:
    """The segment stage's value.

    Attributes:
        result: the frame's result to show: segmented, with the mask and scores fused over
            the last ``fused_frames`` frames; or as located (not segmented).
        fused_frames: frames in the running window (0 when not segmented).
        session: the capture this frame was fed to, if any.
        final: the capture's fused result when it finished on this frame.
        fuse_error: why fusing the capture that finished on this frame failed (``final``
            is then ``None``): the capture has ended all the same, as failed.
        segmented_ms: the segmentation alone (inference + postprocessing), without the fusion.
    """

    result: FrameResult
    fused_frames: int = 0
    session: KioskSession | None = None
    final: FinalResult | None = None
    fuse_error: str | None = None
    segmented_ms: float | None = None


class LiveStages:
    """The live screen's locate and segment stages (see the module docstring).

    Args:
        analyzer: an open :class:`WrinkleAnalyzer` (video mode for a camera); not closed here.
        current_session: returns the capture running now, or ``None``.
        lock: held around the model work (pass the lock other users of ``analyzer`` hold).
        window: frames fused for the running score.
    """

    def __init__(
        self,
        analyzer: WrinkleAnalyzer,
        current_session: Callable[[], KioskSession | None] = lambda: None,
        *,
        lock: threading.Lock | None = None,
        window: int = RUNNING_WINDOW,
    ) -> None:
        self.analyzer = analyzer
        self.lock = lock if lock is not None else threading.Lock()
        self.running = RunningScore(analyzer, window)
        self._current_session = current_session

    def locate(self, frame: Any, timestamp_ms: int) -> LiveLocated:
        """Locate ``frame`` (a :class:`~wds_edge.capture.frame.Frame`), through the capture
        when one is collecting."""
        session = self._current_session()
        if session is None or session.done:
            return LiveLocated(self.analyzer.locate(frame.image_bgr, timestamp_ms))
        update = session.feed(frame.image_bgr, timestamp_ms)
        result = update.result
        if result is None:  # cannot happen: a session is fed only until done
            result = self.analyzer.locate(frame.image_bgr, timestamp_ms)
        return LiveLocated(result, session, update)

    def segment(self, located: LiveLocated) -> LiveSegmented:
        """Segment and fuse a good frame; fuse a capture that finished on this frame."""
        if located.session is not None:
            self.running.reset()  # a capture locates only: the window would go stale
            final, error = None, None
            if located.update is not None and located.update.done:
                try:
                    with self.lock:  # fusing segments the capture's chosen frames
                        final = located.session.final_result()
                except Exception as exc:  # the capture must end: its owner says it failed
                    logger.exception("fusing the capture's frames failed")
                    error = f"{type(exc).__name__}: {exc}"
            return LiveSegmented(
                located.result, session=located.session, final=final, fuse_error=error
            )
        if not located.result.ok:
            self.running.reset()  # the face is gone: the next one starts a new window
            return LiveSegmented(located.result)
        with self.lock:
            # unscored: the screen shows the window's fused scores, scored by running.add
            segmented = self.analyzer.segment(None, located.result, score=False)
        seg_ms = sum(segmented.timings_ms.get(k, 0.0) for k in _SEGMENT_STAGES)
        shown = self.running.add(segmented)
        return LiveSegmented(shown, self.running.frames, segmented_ms=seg_ms)

    def pipeline(
        self, source: Any, *, mode: str = "two-stage", error_pause_s: float = 0.0
    ) -> FramePipeline[LiveLocated, LiveSegmented]:
        """A :class:`FramePipeline` of ``source`` through these stages (not started)."""
        return FramePipeline(
            source, self.locate, self.segment, mode=mode, error_pause_s=error_pause_s
        )


_SEGMENT_STAGES = ("crop_preprocess", "inference", "postprocess")
