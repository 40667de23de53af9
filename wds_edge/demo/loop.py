"""The demo's frame loop, one method per step: read -> locate -> segment -> choose the mask
to show -> draw -> record -> keys. :func:`wds_edge.demo.app.run_demo` runs it.

Each frame is located on the main loop (face, crop transform, quality - fast); the newest
good frame is segmented by a background :class:`LatestJobWorker` (or on the loop with
``sync``). Each finished segmentation is fused with the previous few of the same face
(:class:`~wds_edge.analysis.running.RunningScore`), and that running fused mask and its
scores are shown on the *current* face position, so the numbers do not jump from frame to
frame; a mask segmented before the face was last lost is never shown again.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.overlay import draw_overlay
from wds_edge.analysis.running import RunningScore
from wds_edge.analysis.session import KioskSession
from wds_edge.capture.reconnect import ReconnectingSource
from wds_edge.capture.sources import open_source
from wds_edge.demo.config import DemoConfig, DemoSummary
from wds_edge.demo.outputs import DemoRecorder, process_rss_mb, save_snapshot
from wds_edge.demo.ui import (
    KEY_QUIT,
    KEY_SESSION,
    KEY_SNAPSHOT,
    WindowDisplay,
    draw_banner,
    draw_hud,
)
from wds_edge.demo.worker import LatestJobWorker
from wds_edge.io import write_image_atomic
from wds_edge.timing import StageRecorder, ms_since

__all__ = ["DemoLoop", "LOST_PROMPT"]

LOST_PROMPT = "camera lost, reconnecting..."
#: How long the final result of a capture session stays on screen.
FINAL_RESULT_SHOWN_S = 8.0


def _segmentation_threads(requested: int | None, sync: bool) -> int | None:
    """Threads for inference: as asked; else leave a core to the display loop when async."""
    if requested is not None or sync:
        return requested
    return max(1, (os.cpu_count() or 1) - 1)


def _is_file_source(source: str | int) -> bool:
    return not isinstance(source, int) and "://" not in str(source) and not str(source).isdigit()


class _Rate:
    """Events per second over the last ``window_s`` seconds (bounded deque)."""

    def __init__(self, window_s: float = 2.0) -> None:
        self._times: collections.deque[float] = collections.deque(maxlen=256)
        self._window_s = window_s

    def tick(self, now: float) -> None:
        self._times.append(now)

    def rate(self, now: float) -> float:
        while self._times and now - self._times[0] > self._window_s:
            self._times.popleft()
        if len(self._times) < 2:
            return 0.0
        return (len(self._times) - 1) / max(self._times[-1] - self._times[0], 1e-6)


def _with_mask(located: Any, seg: Any) -> Any:
    """``located`` (current face position) carrying ``seg``'s crop-space mask and scores."""
    return dataclasses.replace(
        located,
        wrinkle_prob=seg.wrinkle_prob,
        wrinkle_mask=seg.wrinkle_mask,
        scores=seg.scores,
        counted_regions=seg.counted_regions,
    )


class DemoLoop:
    """One demo run's resources and state; :meth:`run` loops until the end and closes all.

    Args:
        config: the run's options.
        on_frame: called with each frame's JSON record (what ``jsonl_path`` gets).
    """

    def __init__(
        self, config: DemoConfig, on_frame: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        self.config = config
        self.on_frame = on_frame
        self._closed = False
        is_file = _is_file_source(config.source)
        realtime = (not config.headless) if config.realtime is None else config.realtime
        self.sync = (config.headless and is_file) if config.sync is None else config.sync
        self.summary = DemoSummary()
        self.summary.rss_mb["start"] = process_rss_mb()
        self.source = ReconnectingSource(
            lambda: open_source(config.source, realtime=realtime and is_file),
            live=not is_file,
            loop=config.loop,
        )
        self.analyzer: WrinkleAnalyzer | None = None
        self.running: RunningScore | None = None
        self.window: WindowDisplay | None = None
        self.worker: LatestJobWorker[Any] | None = None
        self.recorder: DemoRecorder | None = None
        try:
            threads = _segmentation_threads(config.analyzer.num_threads, self.sync)
            self.analyzer = WrinkleAnalyzer(
                config.analyzer.model_copy(update={"video_mode": True, "num_threads": threads})
            )
            self.running = RunningScore(self.analyzer)
            self.window = None if config.headless else WindowDisplay(config.window_title)
            fps = float(getattr(self.source.source, "fps", 0) or 0) or 30.0
            self.recorder = DemoRecorder(
                config.record_path, config.jsonl_path, fps=config.record_fps or fps
            )
            if not self.sync:
                self.worker = LatestJobWorker("wds-segmentation")
        except BaseException:
            self.close()
            raise
        self.stages = StageRecorder(max_samples=5000)
        self.recent: dict[str, float] = {}  # stage -> exponential moving average for the HUD
        self.display_rate, self.seg_rate = _Rate(), _Rate()
        self.last_seg: tuple[int, Any, float] | None = None  # (frame index, result, ms)
        self.last_bad_index = -1  # last frame without a usable face: older masks are hidden
        self.last_ts = -1
        self.session: KioskSession | None = None
        self.final: tuple[Any, float] | None = None  # (session result, shown until monotonic)
        self.shape_hw: tuple[int, int] = (480, 640)
        self.index = -1

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> DemoSummary:
        """Loop until the source ends, ``max_frames``, or q / Esc; close everything."""
        t_start = time.monotonic()
        try:
            max_frames = self.config.max_frames
            while max_frames is None or self.summary.frames < max_frames:
                if not self.step():
                    break
        finally:
            self.summary.duration_s = time.monotonic() - t_start
            self.close()
        self.summary.stages_ms = {k: v.to_dict() for k, v in self.stages.summary().items()}
        return self.summary

    def step(self) -> bool:
        """One frame through the whole loop; False when the run should stop."""
        t0 = time.perf_counter()
        frame = self.source.read()
        read_ms = ms_since(t0)
        if frame is None:
            return self._source_gap()
        self.index += 1
        now = time.monotonic()
        image = frame.image_bgr
        self.shape_hw = image.shape[:2]
        # MediaPipe's video mode needs strictly increasing timestamps (files loop).
        ts = max(int(frame.timestamp_ms), self.last_ts + 1)
        self.last_ts = ts
        timings: dict[str, float] = {
            "capture_age": max(0.0, (now - frame.capture_time_s) * 1000.0),
            "read": read_ms,
        }
        located = self._locate(image, ts, timings)
        segmented_now = self._segment(image, located, now, timings)
        shown, seg_age, showing_final = self._shown(located, now)
        canvas = self._draw(image, located, shown, seg_age, showing_final, now, timings)
        record = {
            "frame": self.index,
            "capture_time_s": round(frame.capture_time_s, 6),
            "timestamp_ms": int(frame.timestamp_ms),
            "status": str(getattr(located.status, "value", located.status)),
            "prompt": located.prompt,
            "face_box_px": located.to_dict()["face_box_px"],
            "segmented": segmented_now,
            "seg_frame": None if seg_age is None else self.index - seg_age,
            "seg_age_frames": seg_age,
            "scores": {k: round(float(v.wrinkle_ratio), 6) for k, v in shown.scores.items()}
            or None,
            "timings_ms": {k: round(v, 3) for k, v in timings.items()},
        }
        self.recorder.write(canvas, record)  # type: ignore[union-attr]
        if self.on_frame is not None:
            self.on_frame(record)
        self.summary.frames += 1
        self._milestones(canvas)
        keep_going = self._keys(canvas, image, shown, record)
        timings["loop"] = ms_since(t0)
        self._note("loop", timings["loop"])
        return keep_going

    # -- the steps ---------------------------------------------------------------------------

    def _note(self, stage: str, ms: float) -> None:
        self.stages.add(stage, ms)
        old = self.recent.get(stage)
        self.recent[stage] = ms if old is None else 0.8 * old + 0.2 * ms

    def _source_gap(self) -> bool:
        """No frame: stop at the end of a file; keep a lost camera's window alive."""
        if self.source.finished:
            return False
        canvas = np.zeros((*self.shape_hw, 3), np.uint8)
        draw_banner(canvas, LOST_PROMPT, color=(80, 80, 255))
        if self.window is None:
            time.sleep(0.1)
            return True
        key = self.window.show(canvas, wait_ms=100)
        return not (key in KEY_QUIT or self.window.closed_by_user)

    def _locate(self, image: np.ndarray, ts: int, timings: dict[str, float]) -> Any:
        """Face, crop transform and quality of this frame (through the session if one runs)."""
        analyzer: WrinkleAnalyzer = self.analyzer  # type: ignore[assignment]
        if self.session is not None:
            update = self.session.feed(image, ts)
            located = update.result if update.result is not None else analyzer.locate(image, ts)
            if update.done:
                final_result = self.session.final_result()
                self.final = (final_result, time.monotonic() + FINAL_RESULT_SHOWN_S)
                self.summary.session_result = final_result.to_dict()
                self.session = None
        else:
            located = analyzer.locate(image, ts)
        timings["locate"] = float(located.timings_ms.get("total", sum(located.timings_ms.values())))
        status = str(getattr(located.status, "value", located.status))
        self.summary.status_counts[status] = self.summary.status_counts.get(status, 0) + 1
        return located

    def _segment(self, image: np.ndarray, located: Any, now: float, timings: dict) -> bool:
        """Segment on the loop (sync) or hand the frame to the worker; True when a new
        segmentation finished for this frame."""
        analyzer = self.analyzer
        segmented_now = False
        running: RunningScore = self.running  # type: ignore[assignment]
        if not located.ok:
            self.last_bad_index = self.index
            running.reset()  # the face is gone: the next one starts a new window
        elif self.sync:
            t1 = time.perf_counter()
            seg = analyzer.segment(image, located)  # type: ignore[union-attr]
            self.last_seg = (self.index, running.add(seg), ms_since(t1))
            segmented_now = True
        elif self.worker is not None and self.session is None:
            self.worker.submit(
                self.index,
                lambda img=image, loc=located: analyzer.segment(img, loc),  # type: ignore[union-attr]
            )
        if self.worker is not None:
            out = self.worker.latest()
            if out is not None and (self.last_seg is None or out.tag != self.last_seg[0]):
                fused = out.value if out.tag <= self.last_bad_index else running.add(out.value)
                self.last_seg = (out.tag, fused, out.duration_ms)
                segmented_now = True
        if segmented_now and self.last_seg is not None:
            self.summary.segmentations += 1
            self.seg_rate.tick(now)
            self._note("segment", self.last_seg[2])
            timings["segment"] = self.last_seg[2]
        return segmented_now

    def _shown(self, located: Any, now: float) -> tuple[Any, int | None, bool]:
        """What to draw: the session's final result, the latest fresh mask, or no mask.

        Returns ``(result to draw, age of its mask in frames or None, showing the final)``.
        """
        showing_final = self.final is not None and now < self.final[1]
        if showing_final and located.ok and self.final[0].result is not None:  # type: ignore[index]
            # The session's fused mask (in its sharpest frame's crop), on the face where it
            # is now, with the fused scores.
            shown = _with_mask(located, self.final[0].result)  # type: ignore[index]
            shown.scores = dict(self.final[0].scores)  # type: ignore[index]
            return shown, None, True
        last = self.last_seg
        if (
            located.ok
            and last is not None
            and last[0] > self.last_bad_index
            and self.index - last[0] <= self.config.max_mask_age_frames
        ):
            return _with_mask(located, last[1]), self.index - last[0], showing_final
        return located, None, showing_final

    def _draw(
        self,
        image: np.ndarray,
        located: Any,
        shown: Any,
        seg_age: int | None,
        showing_final: bool,
        now: float,
        timings: dict[str, float],
    ) -> np.ndarray:
        """The overlay and the heads-up display (prompt, rates, stage times)."""
        t2 = time.perf_counter()
        canvas = draw_overlay(image, shown, show_regions=True, show_scores=True)
        timings["overlay"] = ms_since(t2)
        for stage in ("capture_age", "read", "locate", "overlay"):
            self._note(stage, timings[stage])
        self.display_rate.tick(now)
        extra: tuple[str, ...] = ()
        if self.session is not None:
            extra = ("capture session: hold still...",)
        elif showing_final:
            extra = ("final result (space: new session)",)
        draw_hud(
            canvas,
            prompt=located.prompt,
            ok=located.ok,
            display_fps=self.display_rate.rate(now),
            seg_rate_hz=self.seg_rate.rate(now),
            seg_age_frames=seg_age,
            stage_ms=dict(self.recent),
            region_ratios=None,
            extra_lines=extra,
        )
        return canvas

    def _milestones(self, canvas: np.ndarray) -> None:
        """The one-off screenshot and the memory reading after 100 frames."""
        config, summary = self.config, self.summary
        if config.screenshot_path and summary.frames == config.screenshot_after_frames:
            summary.outputs["screenshot"] = str(write_image_atomic(config.screenshot_path, canvas))
        if summary.frames == 100:
            summary.rss_mb["frame_100"] = process_rss_mb()

    def _keys(self, canvas: np.ndarray, image: np.ndarray, shown: Any, record: dict) -> bool:
        """Show the frame and act on q / Esc (False), s (snapshot), space (session)."""
        if self.window is None:
            return True
        key = self.window.show(canvas)
        if key in KEY_QUIT or self.window.closed_by_user:
            return False
        if key in KEY_SNAPSHOT:
            path = save_snapshot(self.config.snapshot_dir, image, canvas, shown, record)
            self.summary.snapshots.append(str(path))
        if key in KEY_SESSION and self.session is None:
            self.session, self.final = KioskSession(self.analyzer), None  # type: ignore[arg-type]
        return True

    def close(self) -> None:
        """Stop the worker, close the window, recordings, source and analyzer (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.summary.rss_mb["end"] = process_rss_mb()
        if self.worker is not None:
            self.summary.jobs_replaced = self.worker.replaced
            self.worker.close()
        if self.window is not None:
            self.window.close()
        if self.recorder is not None:
            self.summary.outputs.update(self.recorder.close())
        self.summary.reconnects = self.source.reconnects
        self.summary.ended_early = self.source.ended_early_detail if self.source.ended_early else ""
        self.source.close()
        if self.analyzer is not None:
            self.analyzer.close()
