"""Live analysis: a camera read and analysed on background threads, the newest result kept.

:class:`LiveAnalysis` is the kiosk's camera loop as an SDK object, for front-ends that
are not a desktop window (a web page, another process). It reads the source through
:class:`wds_edge.capture.reconnect.ReconnectingSource` (cameras reconnect, files loop)
whose live sources are the latest-frame grabber, so a slow analysis drops stale frames
(counted) instead of queueing them. The frames read go through the two-stage pipeline of
:class:`~wds_edge.analysis.live_stages.LiveStages` (the demo window runs the same): the
landmarks of the next frame are found while this one is segmented; every good frame is
segmented and its map fused with the last few frames' (so the scores shown do not jump
from frame to frame) or, while a capture is running, fed to a
:class:`wds_edge.analysis.session.KioskSession`. Only the newest :class:`LiveSnapshot`
is kept; consumers ask for it (:meth:`LiveAnalysis.latest`) or wait for a newer one
(:meth:`LiveAnalysis.wait_newer`): a slow consumer skips results, nothing grows.

The analyzer may be shared with other callers (e.g. a web service's single-image
endpoint): the model work here holds ``lock``, and so must theirs (one inference at a
time per backend); the analyzer serialises its landmarker itself.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from wds_edge._checks import is_digits
from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.final import FinalResult
from wds_edge.analysis.live_stages import LiveLocated, LiveSegmented, LiveStages
from wds_edge.analysis.pipeline import FramePipeline, PipelineCounts, PipelineOutput
from wds_edge.analysis.result import FrameResult
from wds_edge.analysis.session import KioskSession, SessionConfig
from wds_edge.capture.reconnect import ReconnectingSource
from wds_edge.capture.sources import is_file_source
from wds_edge.errors import InvalidInputError
from wds_edge.perception.expression import PROMPT_RAISE_BROWS, PROMPT_RELAX
from wds_edge.perception.quality import FrameStatus

__all__ = ["LiveSnapshot", "LiveAnalysis", "open_live_source", "is_file_source"]

logger = logging.getLogger(__name__)

#: Camera states reported by :attr:`LiveAnalysis.camera_state`.
CAMERA_STATES = ("starting", "running", "lost", "ended", "error", "closed")


def open_live_source(
    source: str | int, *, loop: bool = True, rotate: int = 0
) -> ReconnectingSource:
    """Open ``source`` for a live loop: cameras and streams reconnect, files play in real
    time (frames dropped like a camera's) and start over at their end when ``loop``.
    ``rotate`` (0, 90, 180, 270 degrees clockwise) turns every frame upright, the reopened
    source's too (see :func:`~wds_edge.capture.sources.open_source`).

    Raises:
        CaptureError: the source cannot be opened the first time (typo, no camera).
        InvalidInputError: ``rotate`` is not 0, 90, 180 or 270.
    """
    from wds_edge.capture.sources import open_source

    uri: str | int = int(source) if is_digits(str(source)) else source
    is_file = is_file_source(uri)
    return ReconnectingSource(
        lambda: open_source(uri, realtime=is_file, rotate=rotate), live=not is_file, loop=loop
    )


def _timeout_message(
    frames_needed: int, session: KioskSession, camera: str, final: FinalResult | None = None
) -> str:
    """What a timed-out capture tells the person: why the good frames did not come.

    With the camera ``running`` the frames came but were not good: the advice is the prompt
    of the commonest reason (a quality gate's refusal, e.g. ``no_face`` -> "step in front
    of the camera", or frames without the asked expression -> "relax your face" / "raise
    your eyebrows"). Otherwise (``lost``, ``error``, ...), or when no frame came, the
    camera is to blame: "check the camera". The counts are the session's own (what it was
    fed), not its fused result's, which a failed fusion leaves without.

    When ``final`` fused frames (status ``"ok"``, e.g. the least expressive of a smiling
    face's frames: warning ``not_neutral``) the capture did not fail: the message is a
    note that says why it ended early and how many frames its result is fused from, with
    no advice to capture again.
    """
    seen = session.frames_seen
    expression = session.config.expression
    kind = "neutral" if expression == "neutral" else "raised-brow"
    done = f"the capture did not collect {frames_needed} good {kind} frames in time"
    refused = session.refused
    # frames the gates let through but without the asked expression (not counted as good);
    # good frames dropped when the person walked away (reset_after_bad_frames) are neither
    unwanted = max(0, seen - sum(refused.values()) - session.good_frames - session.frames_reset)
    if camera != "running" or seen == 0 or not (refused or unwanted):
        came = f"{session.good_frames} came in {seen} frames{_set_aside(session)}; camera {camera}"
        advice = "check the camera and press capture again"
    else:
        status, count = max(refused.items(), key=lambda item: item[1], default=("", 0))
        if unwanted > count:
            why = f"most without the asked expression ({expression})"
            advice = PROMPT_RELAX if expression == "neutral" else PROMPT_RAISE_BROWS
        else:
            why = f"most refused as {status}"
            try:
                advice = FrameStatus(status).prompt
            except ValueError:  # not a quality gate's status
                advice = "stand in front of the camera and hold still"
        came = f"{session.good_frames} came in {seen} frames{_set_aside(session)}, {why}"
        advice = f"{advice} and press capture again"
    if final is not None and final.ok and final.frames_used:
        fused = f"the result is fused from the {final.frames_used} frames it had"
        if not final.complete:
            fused += (
                f", fewer than the {session.config.frames_fused} a complete capture fuses "
                "(its scores are less certain)"
            )
        return f"{done} ({came}); {fused}"
    return f"{done} ({came}); {advice}"


def _set_aside(session: KioskSession) -> str:
    """The good frames a walk-away set aside (fused when nothing came after them), said."""
    n = session.frames_reset
    return f" after {n} earlier good ones were set aside when the face left" if n else ""


def _failed_message(error: str) -> str:
    """What a capture whose frames could not be fused tells the person (and the log)."""
    return (
        f"the capture's frames could not be analysed ({error}); press capture again (if "
        "this repeats, the kiosk needs attention: see its log)"
    )


@dataclass(frozen=True)
class LiveSnapshot:
    """One analysed camera frame.

    Attributes:
        seq: strictly increasing number of the snapshot (1, 2, ...; gaps are never filled).
        frame_bgr: the analysed frame, uint8 BGR H x W x 3 (do not modify: it is shared).
        result: its :class:`FrameResult` (status, prompt, timings; mask and scores fused
            over the last ``fused_frames`` segmented frames).
        capture_time_s: ``time.monotonic()`` when the camera delivered the frame.
        analysed_s: ``time.monotonic()`` when the analysis finished.
        session: the capture's state after this frame (see :meth:`LiveAnalysis.capture_state`),
            ``None`` when no capture was ever started.
    """

    seq: int
    frame_bgr: np.ndarray
    result: FrameResult
    capture_time_s: float
    analysed_s: float
    session: dict[str, Any] | None = None
    fused_frames: int = 0


class LiveAnalysis:
    """Analyse a live source on a background thread, keeping only the newest result.

    Args:
        analyzer: an open :class:`WrinkleAnalyzer` (not closed here: the caller owns it).
        opener: returns the source, e.g. ``lambda: open_live_source("0")``; called once by
            :meth:`start` on the caller's thread, so a missing camera fails there.
        lock: held around the model work on ``analyzer`` (pass the lock other users hold;
            the landmarker is serialised by the analyzer itself).
        session_config: settings of the captures started by :meth:`start_capture`.
        error_pause_s: wait after a failed analysis before the next frame (a broken
            backend must not spin a core).
        mode: ``"two-stage"`` (landmarks of the next frame while this one is segmented)
            or ``"serial"`` (:mod:`wds_edge.analysis.pipeline`).

    Example:
        >>> with LiveAnalysis(analyzer, lambda: open_live_source(0)) as live:
        ...     snap = live.wait_newer(0, timeout_s=5)
        ...     print(snap.result.prompt)
    """

    def __init__(
        self,
        analyzer: WrinkleAnalyzer,
        opener: Callable[[], Any],
        *,
        lock: threading.Lock | None = None,
        session_config: SessionConfig | None = None,
        error_pause_s: float = 0.5,
        mode: str = "two-stage",
    ) -> None:
        self.analyzer = analyzer
        self.lock = lock if lock is not None else threading.Lock()
        self._opener = opener
        self._session_config = session_config or SessionConfig()
        self._capture_expression = self._session_config.expression
        self._error_pause_s = error_pause_s
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._latest: LiveSnapshot | None = None
        self._seq = 0
        self._state = "starting"
        self._source: Any = None
        self._thread: threading.Thread | None = None
        self._session: KioskSession | None = None
        #: names this LiveAnalysis in capture states: capture ids start at 1 in each one (a
        #: restarted service), so ``(run_id, id)`` is what tells two captures apart
        self.run_id = uuid.uuid4().hex[:12]
        self._session_id = 0
        self._session_final: FinalResult | None = None
        self._session_deadline_s: float | None = None
        self._session_timeout: str | None = None
        #: why the last capture's frames could not be fused (it ended as ``failed``)
        self._session_failed: str | None = None
        #: a timed-out capture being fused on its own thread (the result is not out yet)
        self._fusing: KioskSession | None = None
        self._session_good = 0  # good frames the last ended capture collected
        self._mode = mode
        self._stages = LiveStages(analyzer, self._current_session, lock=self.lock)
        self._pipeline: FramePipeline[LiveLocated, LiveSegmented] | None = None
        self._loop_done = False
        self._closed = False
        self.frames = 0
        self.errors = 0
        self.last_error: str | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> LiveAnalysis:
        """Open the source (on the caller's thread: errors surface here) and start the loop.

        Starting a running one does nothing; a closed one cannot start again.

        Raises:
            CaptureError: the source cannot be opened.
            InvalidInputError: the LiveAnalysis was closed (create a new one).
        """
        if self._closed:
            raise InvalidInputError(
                "this LiveAnalysis is closed and cannot start again; create a new LiveAnalysis"
            )
        if self._thread is not None:
            return self
        self._source = self._opener()
        self._pipeline = self._stages.pipeline(
            self._source, mode=self._mode, error_pause_s=self._error_pause_s
        ).start()
        self._thread = threading.Thread(target=self._run, name="wds-live-analysis", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the thread (a running analysis finishes first) and close the source.

        Idempotent; the analyzer is left open. A closed LiveAnalysis cannot be started
        again.
        """
        self._closed = True
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._pipeline is not None:
            self._pipeline.close(timeout_s)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                logger.warning("live analysis thread did not stop within %.0f s", timeout_s)
        if self._source is not None:
            with contextlib.suppress(Exception):
                self._source.close()
            self._source = None
        self._set_state("closed")

    def __enter__(self) -> LiveAnalysis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def running(self) -> bool:
        """The loop thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def camera_state(self) -> str:
        """One of ``starting``, ``running``, ``lost`` (reconnecting), ``ended`` (a file
        without looping), ``error`` (the last analysis failed), ``closed``."""
        return self._state

    @property
    def counts(self) -> PipelineCounts:
        """Frames read, delivered, discarded at close, stage errors, source gaps and the
        frames the source skipped while the pipeline was busy."""
        return self._pipeline.counts if self._pipeline is not None else PipelineCounts()

    @property
    def source_open(self) -> bool:
        """A source is held open (False after :meth:`close`)."""
        return self._source is not None

    # -- consumers --------------------------------------------------------------------------

    def latest(self) -> LiveSnapshot | None:
        """The newest snapshot (``None`` before the first analysed frame)."""
        with self._cond:
            return self._latest

    def wait_newer(self, seq: int, timeout_s: float | None = None) -> LiveSnapshot | None:
        """Block until a snapshot newer than ``seq`` exists and return it (the newest one,
        skipping any in between); ``None`` on timeout or once the loop has stopped."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            while self._latest is None or self._latest.seq <= seq:
                if self._stop.is_set() or self._loop_done:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return self._latest

    # -- captures (KioskSession) ------------------------------------------------------------

    def start_capture(
        self, timeout_s: float | None = None, expression: str | None = None
    ) -> tuple[bool, int]:
        """Start a capture (a :class:`KioskSession` fed by the next frames).

        Args:
            timeout_s: end the capture as ``timed_out`` if it has not finished by then
                (e.g. the camera died mid-capture); ``None``: no limit.
            expression: what this capture asks of the face (``"neutral"``,
                ``"raise_brows"``: :attr:`SessionConfig.expression`); ``None``: the
                session config's.

        Returns:
            ``(started, capture_id)``: ``started`` is False when one is already running
            (its id is returned).

        Raises:
            InvalidInputError: an unknown ``expression``.
        """
        overrides = {} if expression is None else {"expression": expression}
        with self._cond:
            self._expire_capture_locked()
            if self._session is not None or self._fusing is not None:
                return False, self._session_id
            session = KioskSession(self.analyzer, self._session_config, **overrides)
            self._session_id += 1
            self._session, self._capture_expression = session, session.config.expression
            self._session_final = None
            self._session_timeout = None
            self._session_failed = None
            self._session_deadline_s = None if timeout_s is None else time.monotonic() + timeout_s
            return True, self._session_id

    def _expire_capture_locked(self) -> None:
        """End a running capture whose time is up (called with ``_cond`` held); one whose
        frames all came in time (``done``: being fused) is left to finish.

        The capture stops taking frames at once; what it collected is fused on a thread of
        its own (segmenting up to ``frames_fused`` frames takes a second or more: not on
        whichever thread noticed the time, which may be a web request's or the camera
        loop's, and not under ``_cond``, which every reader takes)."""
        session, deadline = self._session, self._session_deadline_s
        if session is None or deadline is None or time.monotonic() < deadline:
            return
        if session.done:  # its frames came in time: the segment stage is fusing them
            return
        self._session, self._fusing = None, session
        camera = self._state
        threading.Thread(
            target=self._fuse_timed_out, args=(session, camera), name="wds-capture-timeout",
            daemon=True,
        ).start()  # fmt: skip

    def _fuse_timed_out(self, session: KioskSession, camera: str) -> None:
        final: FinalResult | None = None
        try:
            with self.lock:  # the model work of the shared analyzer
                final = session.final_result()
        except Exception as exc:  # a capture must end even when its fusion fails
            logger.exception("capture %d: fusing the frames collected failed", self._session_id)
            self._count_error(f"fusing the capture failed: {type(exc).__name__}: {exc}")
        with self._cond:
            if self._fusing is not session:
                return
            self._fusing = None
            self._session_final = final
            self._session_good = session.good_frames
            self._session_timeout = _timeout_message(
                self._session_config.frames_needed, session, camera, final
            )
            self._cond.notify_all()
        logger.warning("capture %d timed out: %s", self._session_id, self._session_timeout)

    def capture_state(self) -> dict[str, Any] | None:
        """The current or last capture as JSON-ready data, ``None`` if none was started.

        Keys: ``id`` (1, 2, ... in this LiveAnalysis), ``run`` (:attr:`run_id`: a new one
        each time the service starts, so ``(run, id)`` names a capture across restarts),
        ``state`` (``"collecting"`` / ``"done"`` / ``"timed_out"`` / ``"failed"``: its
        frames were collected but fusing them raised, e.g. a backend error; a new capture
        can start at once), ``expression``, ``good_frames``, ``frames_needed``, ``prompt``,
        and once it ended ``final`` (:meth:`FinalResult.to_dict`: fused per-region scores,
        frames used and refused; ``None`` when nothing could be fused), ``status`` (the
        capture's status: ``"ok"``, or why nothing was fused, e.g. ``"no_face"``; ``None``
        when it failed) and, when it timed out with nothing fused, failed or fused nothing,
        ``error`` (what to tell the person; ``prompt`` is then ``"capture failed"``). A
        capture that timed out but fused frames (``status`` ``"ok"``, e.g. a smiling face's
        least expressive frames with the ``not_neutral`` warning) did not fail: ``prompt``
        is ``"done"``, ``final`` its result, and ``note`` says why it ended early and how
        many frames it fused.
        """
        with self._cond:
            self._expire_capture_locked()
            return self._capture_state_locked()

    def _capture_state_locked(self) -> dict[str, Any] | None:
        if self._session_id == 0:
            return None
        needed = self._session_config.frames_needed
        running = self._session or self._fusing
        if running is not None:
            return {
                "id": self._session_id,
                "run": self.run_id,
                "state": "collecting",
                "expression": self._capture_expression,
                "good_frames": running.good_frames,
                "frames_needed": needed,
                "prompt": running.prompt if self._fusing is None else "analysing...",
            }
        final = self._session_final
        # a capture whose time ran out but whose frames could be fused (status "ok", e.g. a
        # smiling face's least expressive frames, warning not_neutral) did not fail: it
        # shows its result, with a note on why it ended early
        fused = final is not None and final.ok and final.frames_used > 0
        ended = "done"
        if self._session_timeout is not None:
            ended = "timed_out"
        elif self._session_failed is not None:
            ended = "failed"
        state = {
            "id": self._session_id,
            "run": self.run_id,
            "state": ended,
            "expression": self._capture_expression,
            "good_frames": self._session_good,
            "frames_needed": needed,
            "prompt": "done"
            if ended == "done" or (ended == "timed_out" and fused)
            else ("capture failed"),
            "final": final.to_dict() if final is not None and final.frames_used else None,
            "status": final.status if final is not None else None,
        }
        if self._session_timeout is not None and fused:
            state["note"] = self._session_timeout
        elif self._session_timeout is not None:
            state["error"] = self._session_timeout
        elif self._session_failed is not None:
            state["error"] = _failed_message(self._session_failed)
        elif state["final"] is None:  # every frame refused, or the person walked away
            state["error"] = (
                f"the capture found no usable frame ({state['status']}): stand in front of "
                "the camera, hold still and press capture again"
            )
        return state

    # -- the loop ---------------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        with self._cond:
            if self._state != state:
                logger.info("camera state: %s -> %s", self._state, state)
            self._state = state
            self._cond.notify_all()

    def _current_session(self) -> KioskSession | None:
        """The capture collecting now (called by the locate stage)."""
        with self._cond:
            self._expire_capture_locked()
            return self._session

    def _finish_capture(
        self, session: KioskSession, final: FinalResult | None, error: str | None = None
    ) -> None:
        """End ``session`` with its fused result, or as failed when fusing it raised
        (``error``): either way a new capture can start."""
        with self._cond:
            if self._session is not session:  # timed out meanwhile: that ended it
                return
            self._session_final = final
            self._session_good = session.good_frames
            self._session_failed = error
            self._session = None
        if error is not None:
            self._count_error(f"fusing the capture failed: {error}")
            logger.error("capture %d failed: %s", self._session_id, _failed_message(error))
            return
        logger.info("capture %d done: %d good frames", self._session_id, session.good_frames)

    def _count_error(self, message: str) -> None:
        """Count a failed analysis and keep its message for health checks."""
        with self._cond:
            self.errors += 1
            self.last_error = message

    def _publish(self, out: PipelineOutput[LiveLocated, LiveSegmented]) -> None:
        """Make one delivered frame the newest snapshot (or count its error)."""
        if out.gap:
            reason = getattr(self._source, "lost_reason", None)
            if reason:  # health says why (a camera unplugged, a looped file that vanished)
                with self._cond:
                    self.last_error = f"source lost: {reason}"
            self._set_state("lost")
            return
        if out.error is not None or out.segmented is None:
            # keep the kiosk alive; health shows the error (the stage paused already)
            self.errors += 1
            self.last_error = out.error
            self._set_state("error")
            return
        live = out.segmented
        if live.session is not None and (live.final is not None or live.fuse_error is not None):
            self._finish_capture(live.session, live.final, live.fuse_error)
        with self._cond:
            self._seq += 1
            self.frames += 1
            self._latest = LiveSnapshot(
                seq=self._seq,
                frame_bgr=out.frame.image_bgr,
                result=live.result,
                capture_time_s=out.frame.capture_time_s,
                analysed_s=time.monotonic(),
                session=self._capture_state_locked(),
                fused_frames=live.fused_frames if live.result.segmented else 0,
            )
            self._state = "running"
            self._cond.notify_all()

    def _run(self) -> None:
        pipeline = self._pipeline
        try:
            for out in pipeline:  # type: ignore[union-attr]
                self._publish(out)
            if pipeline.error is not None:  # type: ignore[union-attr]
                # e.g. a camera that never came back (max_lost_s)
                self.last_error = pipeline.error  # type: ignore[union-attr]
                self._set_state("error")
            elif not self._stop.is_set():
                self._set_state("ended")
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            logger.exception("live analysis stopped")
            self._set_state("error")
        finally:
            with self._cond:
                self._loop_done = True
                self._cond.notify_all()
