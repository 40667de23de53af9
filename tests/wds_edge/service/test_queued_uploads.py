"""Uploads waiting for a photo slot must not hold the server's worker threads.

Each waiting ``POST /v1/analyze`` used to wait for its slot (``IMAGE_SLOTS`` photos at a
time) inside one of the thread pool's 40 threads, so ~40 queued uploads starved whatever
else needs a thread: overlay stream encoding, static files. The slot is now taken in the
event loop before the worker thread is entered.
"""

from __future__ import annotations

import socket
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


def _raw_upload(url: str, photo: bytes) -> socket.socket:
    """A POST /v1/analyze sent whole over a raw socket (closed by the caller, unread)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    head = (
        f"POST /v1/analyze HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: image/png\r\n"
        f"Content-Length: {len(photo)}\r\n\r\n"
    )
    sock.sendall(head.encode() + photo)
    return sock


def test_uploads_whose_client_left_are_not_analysed(
    onnx_model_path: Path, landmarker_path: Path, start_service: Any, service_config: Any
) -> None:
    """Abandoned uploads used to be decoded and analysed all the same, one after another."""
    service = start_service(
        service_config(model_path=onnx_model_path, landmarker_path=landmarker_path)
    )
    photo = cv2.imencode(".png", np.full((64, 64, 3), 128, np.uint8))[1].tobytes()
    try:
        with service.engine.lock:  # the analyzer is busy: the uploads queue
            kept = [_raw_upload(service.url, photo) for _ in range(2)]  # take both slots
            time.sleep(1.0)
            gone = [_raw_upload(service.url, photo) for _ in range(4)]  # wait for a slot
            time.sleep(1.0)
            for sock in gone:
                sock.close()  # their clients leave
            time.sleep(1.0)
        for sock in kept:
            assert sock.recv(64).startswith(b"HTTP/1.1 422")
            sock.close()
        time.sleep(2.0)  # the abandoned ones would be analysed now
        assert service.engine.requests == 2
    finally:
        service.stop()


def test_photos_waiting_at_shutdown_are_refused_not_analysed(
    onnx_model_path: Path, landmarker_path: Path, start_service: Any, service_config: Any
) -> None:
    """At shutdown the waiting photos were analysed one after another (past the grace
    period, some on the closed analyzer); they are now answered 503 at once."""
    service = start_service(
        service_config(model_path=onnx_model_path, landmarker_path=landmarker_path)
    )
    photo = cv2.imencode(".png", np.full((64, 64, 3), 128, np.uint8))[1].tobytes()
    try:
        with service.engine.lock:
            waiting = [_raw_upload(service.url, photo) for _ in range(2)]
            time.sleep(1.0)
            closer = threading.Thread(target=service.engine.close, daemon=True)
            closer.start()
            time.sleep(0.5)
        closer.join(30)
        for sock in waiting:
            answer = sock.recv(4096)
            assert answer.startswith(b"HTTP/1.1 503") and b"shutting down" in answer, answer
            sock.close()
        assert service.engine.requests == 0
    finally:
        service.stop()
