"""The demo's background worker: runs the newest job, never queues more than one.

The display loop hands every located frame's segmentation job to
:class:`LatestJobWorker`. There is one pending slot: a new job replaces a pending one
that has not started (its frame is stale by then), so the worker always segments the
newest crop and memory stays bounded however slow segmentation is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["JobOutput", "LatestJobWorker"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class JobOutput(Generic[T]):
    """A finished job: its tag (the frame index), value, and how long it ran."""

    tag: int
    value: T
    duration_ms: float
    finished_s: float  # time.monotonic() when it finished


class LatestJobWorker(Generic[T]):
    """One daemon thread running the newest submitted job (1-slot queue, newest wins).

    Args:
        name: thread name (shows in stack dumps).

    Errors raised by a job are kept and re-raised by the next :meth:`latest` call in the
    caller's thread, so a failing model never dies silently in the background.
    """

    def __init__(self, name: str = "wds-worker") -> None:
        self._cond = threading.Condition()
        self._pending: tuple[int, Callable[[], T]] | None = None
        self._latest: JobOutput[T] | None = None
        self._error: BaseException | None = None
        self._busy = False
        self._stopping = False
        self.submitted = 0
        self.replaced = 0
        self.completed = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, tag: int, job: Callable[[], T]) -> bool:
        """Queue ``job`` (tagged ``tag``); returns True if it replaced a pending job."""
        with self._cond:
            if self._stopping:
                return False
            replaced = self._pending is not None
            self._pending = (tag, job)
            self.submitted += 1
            self.replaced += int(replaced)
            self._cond.notify()
            return replaced

    @property
    def idle(self) -> bool:
        """No job running and none pending."""
        with self._cond:
            return not self._busy and self._pending is None

    def latest(self) -> JobOutput[T] | None:
        """The most recently finished job's output (None before the first one)."""
        with self._cond:
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            return self._latest

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Block until no job is running or pending (True) or the timeout passes (False)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            while self._busy or self._pending is not None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                tag, job = self._pending  # type: ignore[misc]
                self._pending = None
                self._busy = True
            t0 = time.perf_counter()
            try:
                value = job()
            except BaseException as exc:  # handed to the caller's thread by latest()
                logger.exception("background job %d failed", tag)
                with self._cond:
                    self._error = exc
                    self._busy = False
                    self._cond.notify_all()
                continue
            out = JobOutput(tag, value, (time.perf_counter() - t0) * 1000.0, time.monotonic())
            with self._cond:
                self._latest = out
                self.completed += 1
                self._busy = False
                self._cond.notify_all()

    def close(self, timeout_s: float = 10.0) -> None:
        """Drop the pending job, let a running one finish, stop the thread. Idempotent."""
        with self._cond:
            self._stopping = True
            self._pending = None
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)

    def __enter__(self) -> LatestJobWorker[T]:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
