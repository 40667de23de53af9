"""Uploads waiting for a photo slot must not hold the server's worker threads.

Each waiting ``POST /v1/analyze`` used to wait for its slot (``IMAGE_SLOTS`` photos at a
time) inside one of the thread pool's 40 threads, so ~40 queued uploads starved whatever
else needs a thread: overlay stream encoding, static files. The slot is now taken in the
event loop before the worker thread is entered.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from test_service import request

UPLOADS = 45  # more than the thread pool's 40 threads


def test_queued_uploads_leave_threads_for_static_files(
    onnx_model_path: Path, landmarker_path: Path, start_service: Any, service_config: Any
) -> None:
    service = start_service(
        service_config(
            model_path=onnx_model_path, landmarker_path=landmarker_path, max_connections=60
        )
    )
    photo = cv2.imencode(".png", np.full((64, 64, 3), 128, np.uint8))[1].tobytes()
    answers: list[int] = []

    def upload() -> None:
        answers.append(request(f"{service.url}/v1/analyze", photo, "image/png")[0])

    threads = [threading.Thread(target=upload, daemon=True) for _ in range(UPLOADS)]
    try:
        with service.engine.lock:  # the analyzer is busy: every upload queues
            for thread in threads:
                thread.start()
            time.sleep(3.0)  # all of them arrived and wait
            started = time.monotonic()
            with urllib.request.urlopen(f"{service.url}/static/kiosk.css", timeout=10) as r:
                assert r.status == 200 and r.read()
            assert time.monotonic() - started < 5.0
            assert answers == []  # still queued
        for thread in threads:
            thread.join(120)
        assert sorted(set(answers)) == [422] and len(answers) == UPLOADS, answers
    finally:
        service.stop()
