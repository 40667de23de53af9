"""What the web layer calls: one analyzer, one lock, the live camera loop.

:class:`ServiceEngine` holds the only :class:`WrinkleAnalyzer` (and so the only
backend) of the service, a lock around it (one analysis at a time per backend: the
live loop and ``POST /v1/analyze`` share it), a bound on the posted photos decoded and
held at once (:data:`IMAGE_SLOTS`), and the
:class:`wds_edge.analysis.live.LiveAnalysis` of the camera when one is configured.
Nothing here knows about HTTP.

The analyzer runs in MediaPipe IMAGE mode, like ``wds-edge analyze``: a photo posted
to the service gets exactly the result the CLI gives it, and a camera frame is located
independently of the previous one (no tracking state that a posted photo could disturb).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from wds_edge.analysis.analyzer import AnalyzerConfig, WrinkleAnalyzer
from wds_edge.analysis.batch import InputOutcome
from wds_edge.analysis.live import LiveAnalysis, open_live_source
from wds_edge.errors import InvalidInputError
from wds_edge.io import decode_image
from wds_edge.service.config import ServiceConfig
from wds_edge.service.uploads import SERVICE_FORMATS, RequestError, check_image_header

__all__ = ["ServiceEngine", "IMAGE_SLOTS"]

logger = logging.getLogger(__name__)

#: Posted photos decoded and held at once (one analysed while the next decodes). Each
#: may be ~290 MB at the pixel limit (6000 x 6000 x 8 bytes of BGR + float work), so
#: every request slot (--max-connections) decoding at once would need gigabytes.
IMAGE_SLOTS = 2


class ServiceEngine:
    """The analyzer, its lock and the live loop of one service (see the module docstring).

    Args:
        config: the service settings (model, backend, source, limits).

    Raises:
        ModelError / BackendError / MissingDependencyError: the model cannot load.
        CaptureError: ``config.source`` cannot be opened.
    """

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.lock = threading.Lock()
        #: bounds the posted photos decoded and held at once (IMAGE_SLOTS)
        self.image_slots = threading.BoundedSemaphore(IMAGE_SLOTS)
        self.live: LiveAnalysis | None = None
        self.requests = 0
        #: set by close(): photos not yet decoded or analysed are refused (503)
        self._closing = threading.Event()
        self._started_s = time.monotonic()
        self.analyzer = WrinkleAnalyzer(
            AnalyzerConfig(
                model_path=None if config.model_path is None else str(config.model_path),
                backend=config.backend,
                precision=config.precision,
                device=config.device,
                landmarker_path=None
                if config.landmarker_path is None
                else str(config.landmarker_path),
                threshold=config.threshold,
                num_threads=config.num_threads,
                video_mode=False,
            )
        )
        try:
            if config.source is not None:
                source = config.source
                self.live = LiveAnalysis(
                    self.analyzer,
                    lambda: open_live_source(source, loop=config.loop_source, rotate=config.rotate),
                    lock=self.lock,
                    session_config=config.session,
                ).start()
        except BaseException:
            self.analyzer.close()
            raise

    def analyze_bytes(self, data: bytes, name: str = "upload") -> tuple[int, dict[str, Any]]:
        """Analyse an encoded image: ``(http_status, JSON of wds-edge analyze --json)``.

        The JSON is :meth:`InputOutcome.to_dict` with ``input`` set to ``name``: the same
        object ``wds-edge analyze --json`` prints for a file (``decode`` in the timings).
        The status is 200 for a segmented face, 422 when the frame has no usable face
        (the body is still the result: its ``status`` and ``prompt`` say why).

        Raises:
            RequestError: 415 for another format than JPEG / PNG (decided from the bytes),
                413 when the header declares more than ``max_image_pixels``, 503 once
                :meth:`close` began.
            InvalidInputError: undecodable data (the service answers 400).
        """
        limit = self.config.max_image_pixels
        check_image_header(data, limit, name)
        # a slot covers the decoded image's whole life (decode, wait for the analyzer,
        # analysis): without it every request at once decoded its photo at once
        with self.image_slots:
            self.check_open()
            start = time.perf_counter()
            image = decode_image(data, source=name, max_pixels=limit, formats=SERVICE_FORMATS)
            decode_ms = (time.perf_counter() - start) * 1000.0
            with self.lock:
                self.check_open()  # closed while this photo waited: the analyzer is gone
                result = self.analyzer.analyze(image)
            del image
        self.requests += 1
        result.timings_ms = {"decode": decode_ms, **result.timings_ms}
        result.timings_ms["total"] = result.timings_ms.get("total", 0.0) + decode_ms
        outcome = InputOutcome(input=name, result=result)
        return (200 if result.ok and result.segmented else 422), outcome.to_dict()

    def health(self) -> dict[str, Any]:
        """``status``, ``model`` (the results' model block: name, version, threshold, input
        size, path, sha256 and a Q/DQ model's source_sha256), ``backend``,
        ``device``, ``precision``, ``camera`` (state, source, rotate, frames, errors, the live
        pipeline's frame counts), ``stream_max_fps``, counters."""
        info = self.analyzer.model_info
        precision = getattr(self.analyzer.backend, "precision", None)
        camera: dict[str, Any] = {"state": "none", "source": None}
        if self.live is not None:
            camera = {
                "state": self.live.camera_state,
                "source": self.config.source,
                "rotate": self.config.rotate,
                "frames_analysed": self.live.frames,
                "errors": self.live.errors,
                "last_error": self.live.last_error,
                # read, delivered, discarded, errors, gaps, frames the camera skipped while
                # the two-stage pipeline was busy (issue 25: nothing lost silently)
                "pipeline": self.live.counts.to_dict(),
            }
        healthy = self.live is None or self.live.camera_state in ("starting", "running", "ended")
        return {
            "status": "ok" if healthy else "degraded",
            # the results' model block (sha256, a Q/DQ model's source_sha256: what `compare`
            # checks), less what follows at the top level
            "model": {k: v for k, v in info.items() if k not in ("backend", "device", "precision")},
            "backend": info["backend"],
            "device": info["device"],
            "precision": precision if precision is not None else "fp32",
            "camera": camera,
            # the highest rate a /v1/stream client may ask for (the kiosk page reads it)
            "stream_max_fps": self.config.stream_max_fps,
            "requests_analysed": self.requests,
            "uptime_s": round(time.monotonic() - self._started_s, 1),
        }

    def require_live(self) -> LiveAnalysis:
        """The live loop, or an error saying the service was started without a camera."""
        if self.live is None:
            raise InvalidInputError(
                "this service was started without a camera: restart it with --source "
                "(a camera index, v4l2:///dev/video0, rtsp://... or a video file)"
            )
        return self.live

    def start_capture(self, expression: str | None = None) -> tuple[bool, int]:
        """Start a capture on the live camera, limited to ``config.capture_timeout_s``.

        Args:
            expression: what the capture asks of the face (``"neutral"``,
                ``"raise_brows"``); ``None``: neutral.

        Returns:
            ``(started, capture_id)`` as :meth:`LiveAnalysis.start_capture`.

        Raises:
            InvalidInputError: no camera, or the camera is not delivering frames now
                (lost, failed, ended): a capture could never finish.
        """
        live = self.require_live()
        state = live.camera_state
        if state not in ("starting", "running"):
            detail = f" ({live.last_error})" if live.last_error else ""
            # "error": the last analysis failed, or (loop stopped) the camera failed for good
            what = {"error": "has failed"}.get(state, f"is {state}")
            raise InvalidInputError(
                f"the camera {what}{detail}, so a capture cannot collect frames; "
                "check the camera (GET /healthz shows its state) and try again"
            )
        return live.start_capture(timeout_s=self.config.capture_timeout_s, expression=expression)

    def check_open(self) -> None:
        """Raise a 503 RequestError once :meth:`close` began (a photo waiting then is
        refused at once instead of decoded and analysed after its client got the 503)."""
        if self._closing.is_set():
            raise RequestError(503, "the service is shutting down; try again")

    def close(self) -> None:
        """Stop the live loop (closing the camera), then close the analyzer. Idempotent.
        Photos waiting to be decoded or analysed are refused from now on (503)."""
        self._closing.set()
        if self.live is not None:
            with contextlib.suppress(Exception):
                self.live.close()
        with self.lock:  # a request still analysing finishes before the backend goes
            self.analyzer.close()
        logger.info("service engine closed (camera and backend released)")
