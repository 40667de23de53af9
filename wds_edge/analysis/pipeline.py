"""Two stages on two cores: the landmarks of frame t+1 are found while frame t is segmented.

A frame goes capture -> landmarks (MediaPipe) -> quality gates and colour on the one crop
-> segmentation -> postprocessing (threshold, counted skin regions, scores). Run one after
another, one core idles while the other works. :class:`FramePipeline` splits the path in
two stages on two threads:

* the **locate** stage (thread ``wds-locate``): read the source, landmarks, the frame's one
  crop, the gates (:meth:`WrinkleAnalyzer.locate`, or what the caller passes);
* the **segment** stage (thread ``wds-segment``): inference and postprocessing
  (:meth:`WrinkleAnalyzer.segment` for every frame the gates passed, or what the caller
  passes, e.g. the live screen's running fused score).

Between them a bounded hand-off (``depth`` frames, default 1): when segmentation is the
slower stage, the locate stage waits instead of queueing, so memory stays bounded and
*every* frame read is segmented (a live camera's grabber drops the frames nobody asked
for, and counts them). The consumer (the thread that iterates the pipeline) gets every
frame read from the source exactly once, in the source's order, as a
:class:`PipelineOutput`. ``mode="serial"`` runs the same two stages one after another on
the consumer's thread (the reference the two-stage mode is compared with).

Why threads help in Python: MediaPipe (ctypes), OpenCV, ONNX Runtime and OpenVINO release
the GIL inside their native calls (``benchmarks/gil_release.py`` measures it), so the two
stages run on two cores at once except for the Python between the native calls.

Thread contract:

* the source is read only by the locate thread while the pipeline runs; its owner closes
  it after :meth:`FramePipeline.close`;
* ``locate`` runs only on the locate thread and ``segment`` only on the segment thread,
  one call at a time each, in frame order; the two may run at the same time, so they must
  not share unguarded state (:class:`WrinkleAnalyzer` serialises its landmarker and its
  backend itself: ``locate`` and ``segment`` of one analyzer may overlap);
* an exception in a stage becomes the frame's :attr:`PipelineOutput.error` (and is counted
  in :attr:`PipelineCounts.errors`): the frame is still delivered, the pipeline goes on
  (after ``error_pause_s``, so a broken backend does not spin a core); a source that fails
  for good (``CaptureError``: the camera did not come back) ends the stream after the
  frames in flight, with :attr:`FramePipeline.error` set;
* :meth:`FramePipeline.close` is idempotent and may be called from any thread; frames read
  but not delivered by then are counted in :attr:`PipelineCounts.discarded`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from wds_edge.errors import InvalidInputError
from wds_edge.timing import ms_since

__all__ = [
    "PIPELINE_MODES",
    "FrameReader",
    "PipelineCounts",
    "PipelineOutput",
    "FramePipeline",
    "analyzer_stages",
]

logger = logging.getLogger(__name__)

#: ``two-stage``: locate and segment on two threads; ``serial``: one after another.
PIPELINE_MODES = ("two-stage", "serial")

L = TypeVar("L")
S = TypeVar("S")


class FrameReader(Protocol):
    """What the pipeline reads: ``read()`` gives a :class:`~wds_edge.capture.frame.Frame`
    or ``None`` (``finished`` then says whether the source ended or only lost its camera
    for now, as :class:`~wds_edge.capture.reconnect.ReconnectingSource` does)."""

    def read(self) -> Any: ...


@dataclass
class PipelineCounts:
    """What happened to the frames (nothing is lost silently).

    Attributes:
        read: frames read from the source.
        delivered: frames handed to the consumer.
        discarded: frames read but not delivered because the pipeline was closed first.
        errors: stage calls that raised (the frames were delivered with ``error`` set).
        gaps: reads that gave no frame while the source was lost (delivered as gaps).
        source_skipped: frames the source skipped before the first read or between two
            reads (gaps in ``Frame.index``: a live grabber or a real-time file drops frames
            nobody asked for while the pipeline is busy).
    """

    read: int = 0
    delivered: int = 0
    discarded: int = 0
    errors: int = 0
    gaps: int = 0
    source_skipped: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class PipelineOutput(Generic[L, S]):
    """One frame through both stages (or a gap in a lost source).

    Attributes:
        seq: 0, 1, ... in the order frames were read (gaps take no number: -1).
        frame: the :class:`~wds_edge.capture.frame.Frame` (``None`` for a gap).
        timestamp_ms: the frame's strictly increasing time (what the locate stage got).
        located: what the locate stage returned (``None`` for a gap or when it raised).
        segmented: what the segment stage returned (``None`` when it did not run or raised).
        error: ``"ExceptionName: message"`` of the stage that raised on this frame.
        stage_ms: wall times of this frame's ``read``, ``locate`` and ``segment`` calls.
        started_s: :func:`time.perf_counter` when the frame's read began (the frame's
            latency through the pipeline is the consumer's reading minus this).
    """

    seq: int
    frame: Any
    timestamp_ms: int
    located: L | None
    segmented: S | None = None
    error: str | None = None
    stage_ms: dict[str, float] = field(default_factory=dict)
    started_s: float = 0.0

    @property
    def gap(self) -> bool:
        """No frame: the source was lost for this read."""
        return self.frame is None

    @property
    def result(self) -> S | L | None:
        """The segment stage's value if it ran, else the locate stage's."""
        return self.segmented if self.segmented is not None else self.located


_END = object()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def analyzer_stages(analyzer: Any) -> tuple[Callable[[Any, int], Any], Callable[[Any], Any]]:
    """The plain stages of a :class:`~wds_edge.analysis.analyzer.WrinkleAnalyzer`:
    ``locate(frame, ts) -> FrameResult`` and ``segment(located) -> FrameResult``, which
    segments (with the frame's one crop) every frame the gates passed and returns the others
    as located (``analyze()`` split in two)."""

    def locate(frame: Any, timestamp_ms: int) -> Any:
        return analyzer.locate(frame.image_bgr, timestamp_ms)

    def segment(located: Any) -> Any:
        return analyzer.segment(None, located) if located.ok else located

    return locate, segment


class FramePipeline(Generic[L, S]):
    """Read a source and run every frame through ``locate`` then ``segment`` (see the module
    docstring for the threads and their contract).

    Args:
        source: a :class:`FrameReader` (read only by the pipeline while it runs; not closed).
        locate: ``locate(frame, timestamp_ms) -> L`` (locate thread).
        segment: ``segment(located) -> S`` (segment thread); not called for a gap or when
            ``locate`` raised.
        mode: ``"two-stage"`` or ``"serial"`` (:data:`PIPELINE_MODES`).
        depth: frames that may wait between the stages (>= 1) and between the segment
            stage and the consumer.
        error_pause_s: wait after a stage raised, before the next frame of that stage.
        gap_pause_s: wait after a read that gave no frame from a lost source.

    Iterate it (on one consumer thread) for the outputs; the iteration ends when the source
    ends, fails for good (:attr:`error`), or the pipeline is closed.

    Example:
        >>> locate, segment = analyzer_stages(analyzer)
        >>> with open_source("clip.mp4") as src, FramePipeline(src, locate, segment) as frames:
        ...     for out in frames:
        ...         print(out.seq, out.result.status)
    """

    def __init__(
        self,
        source: FrameReader,
        locate: Callable[[Any, int], L],
        segment: Callable[[L], S],
        *,
        mode: str = "two-stage",
        depth: int = 1,
        error_pause_s: float = 0.0,
        gap_pause_s: float = 0.1,
    ) -> None:
        if mode not in PIPELINE_MODES:
            raise InvalidInputError(
                f"unknown pipeline mode {mode!r}; choose one of {', '.join(PIPELINE_MODES)}"
            )
        if int(depth) < 1:
            raise InvalidInputError(f"depth must be >= 1 frame, got {depth}")
        self.mode = mode
        self._source = source
        self._locate, self._segment = locate, segment
        self._error_pause_s, self._gap_pause_s = float(error_pause_s), float(gap_pause_s)
        self._handoff: queue.Queue[Any] = queue.Queue(maxsize=int(depth))
        self._out: queue.Queue[Any] = queue.Queue(maxsize=int(depth))
        self._stop = threading.Event()
        self._count_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._finished: list[threading.Event] = []  # set by each stage thread as it ends
        self._started = self._closed = self._ended = False
        self._seq = 0
        self._last_ts = -1
        # -1: frames a source passed over before the first read (index > 0) count as skipped
        self._last_index = -1
        self.counts = PipelineCounts()
        #: Total milliseconds each stage waited (two-stage mode): ``locate_blocked`` (the
        #: hand-off was full: segmentation is the slower stage), ``segment_idle`` (waiting
        #: for a located frame: locating is the slower stage), ``segment_blocked`` (the
        #: consumer was slow).
        self.waits_ms: dict[str, float] = {}
        #: Why the stream ended early (the source failed for good), else ``None``.
        self.error: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FramePipeline[L, S]:
        """Start the stage threads (two-stage mode; iterating starts them too)."""
        if self._started or self._closed or self._stop.is_set():
            return self
        self._started = True
        if self.mode == "two-stage":
            stages = ((self._locate_loop, "wds-locate"), (self._segment_loop, "wds-segment"))
            for target, name in stages:
                finished = threading.Event()
                thread = threading.Thread(
                    target=self._run_stage, args=(target, finished), name=name, daemon=True
                )
                self._threads.append(thread)
                self._finished.append(finished)
                thread.start()
        return self

    @staticmethod
    def _run_stage(target: Callable[[], None], finished: threading.Event) -> None:
        try:
            target()
        finally:
            finished.set()

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop both stages (a stage call in progress finishes first) and count the frames
        still in flight as discarded. Idempotent; the source stays open.

        The pipeline counts as closed only once both threads have been joined: a close that
        an exception (a second Ctrl-C's ``KeyboardInterrupt``) cut short in the join is
        finished by the next call, so the caller can close the source after it."""
        if self._closed:
            return
        self._stop.set()
        current = threading.current_thread()
        for thread, finished in zip(self._threads, self._finished, strict=True):
            if thread is current:
                continue
            # Wait on the thread's own event, not only on join(): a join cut short by an
            # exception marks the thread as stopped in CPython before 3.13 although it still
            # runs, and every later join() then returns at once.
            if finished.wait(timeout_s):
                thread.join(timeout_s)
            else:
                logger.warning(
                    "pipeline thread %s did not stop within %.0f s", thread.name, timeout_s
                )
        for q in (self._handoff, self._out):
            while True:
                try:
                    item = q.get_nowait()
                except queue.Empty:
                    break
                if item is not _END and item.frame is not None:
                    self._add(discarded=1)
        self._closed = True
        if self.counts.discarded:
            logger.info("pipeline closed with %d frames in flight", self.counts.discarded)

    def __enter__(self) -> FramePipeline[L, S]:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def ended(self) -> bool:
        """The stream ended (source finished or failed, or the pipeline closed)."""
        return self._ended or self._closed

    # -- the consumer ------------------------------------------------------------------------

    def __iter__(self) -> Iterator[PipelineOutput[L, S]]:
        self.start()
        if self.mode == "serial":
            yield from self._serial()
            return
        while True:
            out = self._get(self._out)
            if out is None or out is _END:
                self._ended = True
                return
            self._add(delivered=1 if out.frame is not None else 0)
            yield out

    def _serial(self) -> Iterator[PipelineOutput[L, S]]:
        while not self._stop.is_set():
            item = self._next_located()
            if item is _END:
                break
            out = self._run_segment(item)
            self._add(delivered=1 if out.frame is not None else 0)
            yield out
        self._ended = True

    # -- the stages --------------------------------------------------------------------------

    def _wait(self, name: str, since: float) -> None:
        with self._count_lock:
            self.waits_ms[name] = self.waits_ms.get(name, 0.0) + ms_since(since)

    def _add(self, **counts: int) -> None:
        with self._count_lock:
            for name, n in counts.items():
                setattr(self.counts, name, getattr(self.counts, name) + n)

    def _put(self, q: queue.Queue[Any], item: Any) -> bool:
        """Blocking put that gives up when the pipeline stops (False)."""
        while not self._stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q: queue.Queue[Any]) -> Any:
        """Blocking get that gives up when the pipeline stops (None)."""
        while not self._stop.is_set():
            try:
                return q.get(timeout=0.05)
            except queue.Empty:
                continue
        return None

    def _next_located(self) -> Any:
        """Read the next frame and locate it: a :class:`PipelineOutput` without the segment
        stage, or ``_END`` when the source is done (or failed for good)."""
        while not self._stop.is_set():
            t0 = time.perf_counter()
            try:
                frame = self._source.read()
            except Exception as exc:  # e.g. CaptureError: the camera did not come back
                self.error = _describe(exc)
                logger.error("the source failed; the pipeline stops: %s", self.error)
                return _END
            read_ms = ms_since(t0)
            if frame is not None and self._stop.is_set():  # closed while the read waited
                self._add(read=1, discarded=1)
                return _END
            if frame is None:
                if getattr(self._source, "finished", True):
                    return _END
                self._add(gaps=1)
                self._stop.wait(self._gap_pause_s)
                return PipelineOutput(
                    -1, None, self._last_ts, None, stage_ms={"read": read_ms}, started_s=t0
                )
            self._add(read=1)
            index = int(getattr(frame, "index", 0))
            if index > self._last_index + 1:
                self._add(source_skipped=index - self._last_index - 1)
            self._last_index = index
            # MediaPipe's video mode wants strictly increasing timestamps (files loop).
            ts = max(int(frame.timestamp_ms), self._last_ts + 1)
            self._last_ts = ts
            seq, self._seq = self._seq, self._seq + 1
            t1 = time.perf_counter()
            try:
                located, error = self._locate(frame, ts), None
            except Exception as exc:
                located, error = None, _describe(exc)
                self._add(errors=1)
                logger.exception("locate stage failed on frame %d", seq)
                self._stop.wait(self._error_pause_s)
            timings = {"read": read_ms, "locate": ms_since(t1)}
            return PipelineOutput(
                seq, frame, ts, located, error=error, stage_ms=timings, started_s=t0
            )
        return _END

    def _run_segment(self, item: PipelineOutput[L, S]) -> PipelineOutput[L, S]:
        if item.frame is None or item.located is None:
            return item
        t0 = time.perf_counter()
        try:
            segmented, error = self._segment(item.located), None
        except Exception as exc:
            segmented, error = None, _describe(exc)
            self._add(errors=1)
            logger.exception("segment stage failed on frame %d", item.seq)
            self._stop.wait(self._error_pause_s)
        timings = {**item.stage_ms, "segment": ms_since(t0)}
        return PipelineOutput(
            item.seq,
            item.frame,
            item.timestamp_ms,
            item.located,
            segmented,
            error,
            timings,
            item.started_s,
        )

    def _locate_loop(self) -> None:
        try:
            while not self._stop.is_set():
                item = self._next_located()
                if item is _END:
                    break
                t0 = time.perf_counter()
                if not self._put(self._handoff, item):
                    self._add(discarded=1 if item.frame is not None else 0)
                    return
                self._wait("locate_blocked", t0)
        except BaseException as exc:  # a bug, not a frame's error: end the stream, no hang
            self.error = _describe(exc)
            logger.exception("the locate stage stopped")
        self._put(self._handoff, _END)

    def _segment_loop(self) -> None:
        try:
            while True:
                t0 = time.perf_counter()
                item = self._get(self._handoff)
                if item is None:
                    return
                if item is _END:
                    break
                self._wait("segment_idle", t0)
                out = self._run_segment(item)
                t0 = time.perf_counter()
                if not self._put(self._out, out):
                    self._add(discarded=1 if out.frame is not None else 0)
                    return
                self._wait("segment_blocked", t0)
        except BaseException as exc:
            self.error = _describe(exc)
            logger.exception("the segment stage stopped")
        self._put(self._out, _END)
