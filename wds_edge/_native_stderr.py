"""Keep MediaPipe's start-up chatter off the terminal without losing its real messages.

MediaPipe's C++ core (absl logging, TensorFlow Lite) writes straight to file descriptor 2
when a FaceLandmarker graph starts: "Logging before InitGoogle()", "Sets
FaceBlendshapesGraph acceleration to xnnpack", "Created TensorFlow Lite XNNPACK delegate",
"Feedback manager requires a model with a single signature" (4-6 lines on every command).
``GLOG_minloglevel`` / ``TF_CPP_MIN_LOG_LEVEL`` do not reach absl's logger in the wheels
(google-ai-edge/mediapipe issues 5371 and 5737), and Python's ``sys.stderr`` is not where
they go, so :func:`native_stderr_to_log` points descriptor 2 at a temporary file while the
graph is built, then sends the known informational lines to this module's logger (debug)
and writes every other line (an error, anything new) back to the real stderr: nothing is
lost, only reordered by at most the graph's start-up time.

Set ``WDS_EDGE_NATIVE_LOGS=1`` to leave descriptor 2 alone (to see everything as it comes).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator

__all__ = ["NATIVE_LOGS_ENV", "is_startup_chatter", "native_stderr_to_log"]

logger = logging.getLogger(__name__)

NATIVE_LOGS_ENV = "WDS_EDGE_NATIVE_LOGS"

#: Informational lines MediaPipe 0.10 - 1.2 prints while a FaceLandmarker graph starts.
_CHATTER = re.compile(
    r"^(WARNING: Logging before InitGoogle\(\) is written to STDERR"
    r"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU\."
    r"|[IW]\d{4} [\d:.]+\s+\d+ (face_landmarker_graph|inference_feedback_manager"
    r"|gl_context|gl_context_egl)\.cc:\d+\]"
    r")"
)
_redirect_lock = threading.Lock()  # one redirect of the process-wide descriptor at a time


def is_startup_chatter(line: str) -> bool:
    """Whether ``line`` is one of MediaPipe's known informational start-up lines."""
    return bool(_CHATTER.match(line.strip()))


@contextlib.contextmanager
def native_stderr_to_log() -> Iterator[None]:
    """Inside the block, descriptor 2 goes to a temporary file; afterwards the known
    start-up lines go to the debug log and every other line back to stderr.

    A no-op when ``WDS_EDGE_NATIVE_LOGS=1`` or when descriptor 2 cannot be duplicated (a
    daemon without stderr).
    """
    if os.environ.get(NATIVE_LOGS_ENV, "").strip() in {"1", "true", "yes"}:
        yield
        return
    with _redirect_lock:
        saved, capture = None, None
        try:
            if sys.stderr is not None:
                sys.stderr.flush()
            saved = os.dup(2)
            capture = tempfile.TemporaryFile()  # noqa: SIM115 (closed below, after the restore)
            os.dup2(capture.fileno(), 2)
        except (OSError, ValueError):  # no descriptor 2, no temporary folder: leave it alone
            if saved is not None:
                os.close(saved)
            if capture is not None:
                capture.close()
            saved = capture = None
        if saved is None or capture is None:
            yield
            return
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            with capture:
                capture.seek(0)
                text = capture.read().decode("utf-8", errors="replace")
            _route(text)


def _route(text: str) -> None:
    kept = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if is_startup_chatter(line):
            logger.debug("mediapipe: %s", line)
        else:
            kept.append(line)
    if kept:
        with contextlib.suppress(OSError, ValueError, AttributeError):  # no stderr at all
            sys.stderr.write("\n".join(kept) + "\n")
            sys.stderr.flush()
