"""The demo's frame loop, one method per step: next frame from the pipeline -> choose the
mask to show -> draw -> record -> keys. :func:`wds_edge.demo.app.run_demo` runs it.

The frames come through the same two-stage pipeline as the service's camera
(:class:`~wds_edge.analysis.live_stages.LiveStages`): the landmarks, crop and gates of the
next frame are found on one thread while this frame is segmented on another, every good
frame is segmented, and its mask is fused with the previous few of the same face
(:class:`~wds_edge.analysis.running.RunningScore`), so the numbers do not jump from frame to
frame. The display loop draws each frame with its own fused mask; a mask segmented before
the face was last lost is never shown again. ``sync`` runs the two stages one after the
other on the display loop instead (the reference the pipeline is compared with).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.live_stages import LiveSegmented, LiveStages
from wds_edge.analysis.overlay import draw_overlay
from wds_edge.analysis.pipeline import FramePipeline, PipelineOutput
from wds_edge.analysis.session import KioskSession, SessionConfig
from wds_edge.capture.reconnect import ReconnectingSource
from wds_edge.capture.rotate import check_rotation
from wds_edge.capture.sources import is_file_source, open_source
from wds_edge.demo.config import DemoConfig, DemoSummary
from wds_edge.demo.outputs import (
    DemoRecorder,
    check_distinct_outputs,
    check_record_path,
    check_screenshot_path,
    process_rss_mb,
    save_snapshot,
)
from wds_edge.demo.ui import (
    KEY_BROWS_SESSION,
    KEY_QUIT,
    KEY_SESSION,
    KEY_SNAPSHOT,
    WindowDisplay,
    check_can_open_window,
    draw_banner,
    draw_hud,
)
from wds_edge.errors import InvalidInputError
from wds_edge.io import ensure_writable_file, write_image_atomic
from wds_edge.timing import StageRecorder, ms_since

__all__ = ["DemoLoop", "IgnoreStopSignals", "LOST_PROMPT", "STOP_SIGNALS", "stop_on_signals"]

logger = logging.getLogger(__name__)

LOST_PROMPT = "camera lost, reconnecting..."
#: How long the final result of a capture session stays on screen.
FINAL_RESULT_SHOWN_S = 8.0
#: How long a notice (a snapshot that could not be saved, a capture that failed) replaces
#: the prompt's banner.
NOTICE_SHOWN_S = 4.0
#: The banner of a capture whose frames could not be fused (the reason is in the summary's
#: warnings and the log: the banner shows 80 characters).
CAPTURE_FAILED_NOTICE = "capture failed: press space (or b) to try again"
#: Signals that end a run like q / Esc does: Ctrl-C in the terminal and a service manager's
#: stop. The run finishes its outputs and returns its summary.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _log_late_signal(signum: int) -> None:
    logger.warning(
        "%s: the demo is already stopping; its outputs are being finished, wait for it",
        signal.Signals(signum).name,
    )


@contextlib.contextmanager
def stop_on_signals(
    stop: threading.Event, received: list[str], interruptible: threading.Event | None = None
) -> Iterator[None]:
    """While inside, SIGINT (Ctrl-C) and SIGTERM set ``stop`` and append their name to
    ``received`` instead of raising ``KeyboardInterrupt`` / killing the process, so the
    loop ends at the next frame and its outputs are finished and moved into place.

    A later signal raises ``KeyboardInterrupt`` while ``interruptible`` is set (always when
    it is None): :func:`~wds_edge.demo.app.run_demo` passes the loop's
    :attr:`DemoLoop.interruptible`, set only while the model loads and while the loop waits
    for its next frame, so a wait that hangs can be interrupted (the loop treats it as a
    stop) but a frame is never half recorded, and once the loop has left its frame loop
    (the outputs are being closed) further signals are only logged. The previous handlers
    come back on exit. Off the main thread (where Python cannot set handlers) this does
    nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        if stop.is_set():
            if interruptible is None or interruptible.is_set():
                raise KeyboardInterrupt
            _log_late_signal(signum)
            return
        received.append(signal.Signals(signum).name)
        stop.set()

    previous: dict[int, Any] = {}
    try:
        for sig in STOP_SIGNALS:
            previous[sig] = signal.signal(sig, handler)
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class IgnoreStopSignals:
    """While inside (on the main thread), SIGINT and SIGTERM are only logged.

    ``wds-edge demo`` wraps the run and its report in it: :func:`stop_on_signals` takes over
    while the run goes; this covers the moments after it, while the summary is printed and
    written, where a second Ctrl-C used to end the process by the default handler. On exit
    the previous handlers come back, unless :attr:`keep_ignoring` was set (a run stopped by a
    signal, in a process about to exit: a further Ctrl-C then changes nothing, its exit code
    included); the signals then stay ignored.
    """

    def __init__(self) -> None:
        self.keep_ignoring = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> IgnoreStopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._previous.items():
            signal.signal(sig, signal.SIG_IGN if self.keep_ignoring else old)
        self._previous.clear()

    @staticmethod
    def _handler(signum: int, _frame: Any) -> None:
        _log_late_signal(signum)


def _segmentation_threads(requested: int | None, sync: bool) -> int | None:
    """Threads for inference: as asked; else, with the two stages on two threads, leave a
    core to the locate stage."""
    if requested is not None or sync:
        return requested
    return max(1, (os.cpu_count() or 1) - 1)


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
        stop: once set (e.g. by :func:`stop_on_signals`), :meth:`run` ends before the next
            frame, like q / Esc.
        interruptible: set by the loop while a ``KeyboardInterrupt`` may end what it does
            (the model loads, or it waits for the next frame), clear while it draws and
            records a frame and once it closes (:func:`stop_on_signals` then only logs a
            second signal). Made here when None; :attr:`interruptible` either way.
    """

    def __init__(
        self,
        config: DemoConfig,
        on_frame: Callable[[dict[str, Any]], None] | None = None,
        stop: threading.Event | None = None,
        interruptible: threading.Event | None = None,
    ) -> None:
        # the settings and output names first: a bad one fails before the model and the
        # source load
        rotate = check_rotation(config.rotate)
        if config.record_path:
            check_record_path(config.record_path)
        if config.screenshot_path:
            check_screenshot_path(config.screenshot_path)
        check_distinct_outputs(
            config.source,
            {
                "record_path": config.record_path,
                "jsonl_path": config.jsonl_path,
                "screenshot_path": config.screenshot_path,
            },
            source_option="source",
        )
        for path, what in (
            (config.record_path, "video"),
            (config.jsonl_path, "JSON lines"),
            (config.screenshot_path, "screenshot"),
        ):
            if path:  # read-only, full, a folder, under a file: said before anything loads
                ensure_writable_file(path, what)
        if not config.headless:
            check_can_open_window()  # no display: say so before the model loads, not after
        self.config = config
        self.on_frame = on_frame
        self.stop = stop if stop is not None else threading.Event()
        self.interruptible = interruptible if interruptible is not None else threading.Event()
        self._closed = False
        is_file = is_file_source(config.source)
        realtime = (not config.headless) if config.realtime is None else config.realtime
        self.sync = bool(config.sync)
        self.summary = DemoSummary()
        self.summary.rss_mb["start"] = process_rss_mb()
        self.source = ReconnectingSource(
            lambda: open_source(config.source, realtime=realtime and is_file, rotate=rotate),
            live=not is_file,
            loop=config.loop,
        )
        self.analyzer: WrinkleAnalyzer | None = None
        self.window: WindowDisplay | None = None
        self.pipeline: FramePipeline[Any, LiveSegmented] | None = None
        self.recorder: DemoRecorder | None = None
        self.session: KioskSession | None = None  # set here, read by the locate stage
        self.interruptible.set()  # a load that hangs may be interrupted by a second signal
        try:
            threads = _segmentation_threads(config.analyzer.num_threads, self.sync)
            self.analyzer = WrinkleAnalyzer(
                config.analyzer.model_copy(update={"video_mode": True, "num_threads": threads})
            )
            stages = LiveStages(self.analyzer, lambda: self.session)
            mode = "serial" if self.sync else "two-stage"
            self.pipeline = stages.pipeline(self.source, mode=mode)
            self.window = None if config.headless else WindowDisplay(config.window_title)
            fps = float(getattr(self.source.source, "fps", 0) or 0) or 30.0
            # A source that drops frames (camera, stream, file in real time): the recording
            # places each shown frame at its capture time and repeats it until the next one,
            # so the file plays in real time; otherwise every frame is one video frame.
            self.recorder = DemoRecorder(
                config.record_path,
                config.jsonl_path,
                fps=config.record_fps or fps,
                timed=bool(getattr(self.source.source, "is_live", False)),
            )
            self._outputs = iter(self.pipeline.start())
        except BaseException:
            self.close(failed=True)
            raise
        finally:
            self.interruptible.clear()
        self.stages = StageRecorder(max_samples=5000)
        self.recent: dict[str, float] = {}  # stage -> exponential moving average for the HUD
        self.display_rate, self.seg_rate = _Rate(), _Rate()
        self.last_seg: tuple[int, Any, float] | None = None  # (frame index, result, ms)
        self.last_bad_index = -1  # last frame without a usable face: older masks are hidden
        self.final: tuple[Any, float] | None = None  # (session result, shown until monotonic)
        self.shape_hw: tuple[int, int] = (480, 640)
        self.index = -1
        self.canvas: np.ndarray | None = None  # the last frame shown (the late screenshot)
        self.notice: tuple[str, float] | None = None  # (banner text, shown until monotonic)

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> DemoSummary:
        """Loop until the source ends, ``max_frames``, q / Esc, or ``stop`` is set; close
        everything. A ``KeyboardInterrupt`` during the loop (Ctrl-C without
        :func:`stop_on_signals`) is a stop too: the outputs are finished, the summary is
        returned with ``stopped_by`` "KeyboardInterrupt"."""
        t_start = time.monotonic()
        failed = False
        try:
            max_frames = self.config.max_frames
            while max_frames is None or self.summary.frames < max_frames:
                if self.stop.is_set() or not self.step():
                    break
        except KeyboardInterrupt:
            self.summary.stopped_by = self.summary.stopped_by or "KeyboardInterrupt"
        except BaseException:
            failed = True  # the error goes up as it is; the outputs of the run are dropped
            raise
        finally:
            self.interruptible.clear()  # the outputs are finished: a signal now only logs
            self.summary.duration_s = time.monotonic() - t_start
            try:
                if not failed:
                    self._late_screenshot()
            finally:
                self.close(failed=failed)
        self.summary.stages_ms = {k: v.to_dict() for k, v in self.stages.summary().items()}
        return self.summary

    def step(self) -> bool:
        """One frame through the whole loop; False when the run should stop."""
        t0 = time.perf_counter()
        self.interruptible.set()  # only the wait: a frame is never half drawn and recorded
        try:
            out: PipelineOutput[Any, LiveSegmented] | None = next(self._outputs, None)
        finally:
            self.interruptible.clear()
        wait_ms = ms_since(t0)
        if out is None:  # the source ended (or failed for good: the pipeline logged why)
            return False
        if out.gap:
            return self._source_gap()
        if out.located is None:
            return self._failed(out)
        self.index += 1
        now = time.monotonic()
        frame = out.frame
        image = frame.image_bgr
        self.shape_hw = image.shape[:2]
        timings: dict[str, float] = {
            "capture_age": max(0.0, (now - frame.capture_time_s) * 1000.0),
            "read": out.stage_ms.get("read", 0.0),
            "wait": wait_ms,
        }
        located = self._located(out, timings)
        segmented_now = self._segmented(out, now, timings)
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
        if out.error is not None:
            record["error"] = out.error
        elif out.segmented is not None and out.segmented.fuse_error is not None:
            record["error"] = f"fusing the capture failed: {out.segmented.fuse_error}"
        self.recorder.write(canvas, record, frame.capture_time_s)  # type: ignore[union-attr]
        if self.on_frame is not None:
            self.on_frame(record)
        self.summary.frames += 1
        self.canvas = canvas
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
        """No frame (a lost camera): keep the window alive with a banner."""
        canvas = np.zeros((*self.shape_hw, 3), np.uint8)
        draw_banner(canvas, LOST_PROMPT, color=(80, 80, 255))
        if self.window is None:
            return True
        key = self.window.show(canvas, wait_ms=1)
        return not (key in KEY_QUIT or self.window.closed_by_user)

    def _located(self, out: PipelineOutput[Any, LiveSegmented], timings: dict) -> Any:
        """The frame's located result (face, crop transform, quality), counted by status."""
        located = out.located.result  # type: ignore[union-attr]
        timings["locate"] = out.stage_ms.get("locate", 0.0)
        status = str(getattr(located.status, "value", located.status))
        self.summary.status_counts[status] = self.summary.status_counts.get(status, 0) + 1
        return located

    def _failed(self, out: PipelineOutput[Any, LiveSegmented]) -> bool:
        """A frame the locate stage failed on: shown with the error, counted, recorded."""
        self.index += 1
        self.summary.errors += 1
        canvas = out.frame.image_bgr.copy()
        draw_banner(canvas, f"analysis failed: {out.error}"[:80], color=(80, 80, 255))
        record = {"frame": self.index, "status": None, "error": out.error}
        self.recorder.write(canvas, record, out.frame.capture_time_s)  # type: ignore[union-attr]
        if self.on_frame is not None:
            self.on_frame(record)
        self.summary.frames += 1
        self.canvas = canvas
        return self._keys(canvas, out.frame.image_bgr, None, record)

    def _segmented(
        self, out: PipelineOutput[Any, LiveSegmented], now: float, timings: dict
    ) -> bool:
        """Take the segment stage's result: a new fused mask, or a finished capture; True
        when this frame was segmented."""
        live = out.segmented
        if live is None:  # the segment stage failed on this frame (logged, counted)
            self.summary.errors += 1
            return False
        if live.final is not None:
            self.final = (live.final, time.monotonic() + FINAL_RESULT_SHOWN_S)
            self.summary.session_result = live.final.to_dict()
            if self.session is live.session:
                self.session = None
        elif live.fuse_error is not None:
            self._capture_failed(live)
        if not live.result.ok:
            self.last_bad_index = self.index
            return False
        if not live.result.segmented:
            return False
        seg_ms = live.segmented_ms if live.segmented_ms is not None else 0.0
        self.last_seg = (self.index, live.result, seg_ms)
        self.summary.segmentations += 1
        self.seg_rate.tick(now)
        self._note("segment", seg_ms)
        timings["segment"] = seg_ms
        timings["running"] = live.result.timings_ms.get("running", 0.0)
        return True

    def _capture_failed(self, live: LiveSegmented) -> None:
        """A capture whose frames could not be fused (``live.fuse_error``, e.g. a backend's
        failure): it ends all the same, so space / b start a new one; the failure is
        counted, goes into the summary's warnings (and the log) and shows in the banner."""
        if self.session is live.session:
            self.session = None
        self.summary.errors += 1
        message = (
            f"capture failed: its frames could not be analysed ({live.fuse_error}); press "
            "space (or b) to try again"
        )
        logger.warning("%s", message)
        self.summary.warnings.append(message)
        self.notice = (CAPTURE_FAILED_NOTICE, time.monotonic() + NOTICE_SHOWN_S)

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
        for stage in ("capture_age", "read", "locate", "wait", "overlay"):
            self._note(stage, timings[stage])
        self.display_rate.tick(now)
        extra: tuple[str, ...] = ()
        if self.session is not None:
            kind = " (raised brows)" if self.session.config.expression == "raise_brows" else ""
            extra = (f"capture session{kind}: hold still...",)
        elif showing_final:
            extra = ("final result (space: new session, b: with raised brows)",)
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
        if self.notice is not None and now < self.notice[1]:
            draw_banner(canvas, self.notice[0][:80], color=(80, 80, 255))  # over the prompt
        return canvas

    def _milestones(self, canvas: np.ndarray) -> None:
        """The one-off screenshot and the memory reading after 100 frames."""
        config, summary = self.config, self.summary
        if config.screenshot_path and summary.frames == config.screenshot_after_frames:
            summary.outputs["screenshot"] = str(write_image_atomic(config.screenshot_path, canvas))
        if summary.frames == 100:
            summary.rss_mb["frame_100"] = process_rss_mb()

    def _late_screenshot(self) -> None:
        """The run ended before ``screenshot_after_frames``: save the last frame shown as the
        screenshot, or say that there was none (a warning, also in the summary)."""
        config, summary = self.config, self.summary
        if not config.screenshot_path or "screenshot" in summary.outputs:
            return
        if self.canvas is None:
            message = (
                f"--screenshot {config.screenshot_path} was not saved: the run showed no frame "
                f"({self._no_frame_reason()})"
            )
        else:
            path = write_image_atomic(config.screenshot_path, self.canvas)
            summary.outputs["screenshot"] = str(path)
            message = (
                f"the run ended after {summary.frames} frame(s), before --screenshot-after "
                f"{config.screenshot_after_frames}: the screenshot {path} is the last frame shown"
            )
        logger.warning("%s", message)
        summary.warnings.append(message)

    def _no_frame_reason(self) -> str:
        """Why a run showed no frame: stopped before the first one, or a source without."""
        if self.stop.is_set() or self.summary.stopped_by:
            return "the run was stopped (a signal or Ctrl-C) before its first frame"
        return "the source gave none"

    def _keys(self, canvas: np.ndarray, image: np.ndarray, shown: Any, record: dict) -> bool:
        """Show the frame and act on q / Esc (False), s (snapshot), space (capture session),
        b (capture session with raised brows)."""
        if self.window is None:
            return True
        key = self.window.show(canvas)
        if key in KEY_QUIT or self.window.closed_by_user:
            return False
        if key in KEY_SNAPSHOT and shown is not None:
            self.snapshot(image, canvas, shown, record)
        if (key in KEY_SESSION or key in KEY_BROWS_SESSION) and self.session is None:
            expression = "raise_brows" if key in KEY_BROWS_SESSION else "neutral"
            config = SessionConfig(expression=expression)
            self.session = KioskSession(self.analyzer, config)  # type: ignore[arg-type]
            self.final = None
            self.summary.sessions_started.append(expression)
        return True

    def snapshot(self, image: np.ndarray, canvas: np.ndarray, shown: Any, record: dict) -> bool:
        """Save a snapshot (the s key) into ``snapshot_dir``; True when it was saved.

        A snapshot that cannot be written (the folder is a file, read-only, full) does not
        end the run: the reason shows in the banner for a few seconds and goes into the
        summary's warnings (and the log)."""
        try:
            path = save_snapshot(self.config.snapshot_dir, image, canvas, shown, record)
        except (InvalidInputError, OSError) as exc:
            message = f"snapshot not saved: {exc}"
            logger.warning("%s", message)
            self.summary.warnings.append(message)
            self.notice = (message, time.monotonic() + NOTICE_SHOWN_S)
            return False
        self.summary.snapshots.append(str(path))
        return True

    def close(self, *, failed: bool = False) -> None:
        """Stop the pipeline, close the window, recordings, source and analyzer (idempotent).

        Every one is closed even when closing another fails, a ``KeyboardInterrupt``
        included; the first such error is raised at the end (a ``KeyboardInterrupt`` or
        ``SystemExit`` before any other). ``failed`` (the run is ending on an error, which
        the caller raises): the recordings' temporary files are removed instead of moved
        into place, and errors while closing are logged, not raised over the run's own.
        """
        self.interruptible.clear()
        if self._closed:
            return
        self._closed = True
        self.summary.rss_mb["end"] = process_rss_mb()
        errors: list[BaseException] = []
        for step in (
            self._close_pipeline,
            self._close_window,
            lambda: self._close_recorder(keep=not failed),
            self._close_source,
            self._close_analyzer,
        ):
            try:
                step()
            except BaseException as exc:  # the others still close; the first is raised
                errors.append(exc)
        interrupts = [exc for exc in errors if not isinstance(exc, Exception)]
        if interrupts:
            for exc in errors:
                if exc is not interrupts[0]:
                    logger.warning("while closing the demo run: %s", exc)
            raise interrupts[0]
        if errors and failed:
            for exc in errors:
                logger.warning("while closing the failed demo run: %s", exc)
        elif errors:
            raise errors[0]

    def _close_pipeline(self) -> None:
        if self.pipeline is not None:
            self.pipeline.close()
            self.summary.pipeline = self.pipeline.counts.to_dict()
            self.summary.pipeline_mode = self.pipeline.mode
            self.summary.source_error = self.pipeline.error or ""

    def _close_window(self) -> None:
        if self.window is not None:
            self.window.close()

    def _close_recorder(self, keep: bool) -> None:
        if self.recorder is None:
            return
        done = self.recorder.close(keep=keep)
        self.summary.outputs.update(done)
        if keep and self.recorder.video_path is not None and "video" not in done:
            # no frame came, so the writer never opened: say so rather than leave no file
            message = (
                f"--record {self.recorder.video_path} was not written: the run showed no "
                f"frame ({self._no_frame_reason()})"
            )
            logger.warning("%s", message)
            self.summary.warnings.append(message)
        if "video" in done:
            rec = self.recorder
            self.summary.recording = {
                "fps": rec.fps,
                "timed": rec.timed,
                "video_frames": rec.video_frames,
                "repeated": rec.repeated,
                "left_out": rec.left_out,
                "gaps_cut": rec.gaps_cut,
            }

    def _close_source(self) -> None:
        self.summary.reconnects = self.source.reconnects
        self.summary.ended_early = self.source.ended_early_detail if self.source.ended_early else ""
        self.source.close()

    def _close_analyzer(self) -> None:
        if self.analyzer is not None:
            self.analyzer.close()
