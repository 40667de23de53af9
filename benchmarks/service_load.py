"""Load on `wds-edge serve`: sequential then concurrent POST /v1/analyze, latency and RSS.

Usage:
    python benchmarks/service_load.py --photo ../shared/data/faces/biden2.jpg \
        [--landmarker ../shared/models/face_landmarker.task] [--sequential 200] \
        [--clients 8] [--per-client 25] [--rounds 1] [--side 0]

Starts `wds-edge serve` (no camera, bundled model unless --model, ONNX Runtime) as a
separate process on a free loopback port, sends the requests, and prints one JSON
object: latency percentiles per phase, the server's RSS before, between and after the
phases (psutil), errors, the load average. --side N downscales the photo to N px first.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import psutil


def post(url: str, body: bytes) -> tuple[int, float]:
    start = time.perf_counter()
    req = urllib.request.Request(f"{url}/v1/analyze", body, {"Content-Type": "image/jpeg"})
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.read()
        status = exc.code
    return status, (time.perf_counter() - start) * 1000.0


def percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {
        "n": int(a.size),
        "p50_ms": round(float(np.percentile(a, 50)), 1),
        "p90_ms": round(float(np.percentile(a, 90)), 1),
        "max_ms": round(float(a.max()), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--landmarker", default=os.environ.get("WDS_EDGE_FACE_LANDMARKER"))
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=25)
    parser.add_argument("--side", type=int, default=0, help="downscale the photo to N px")
    parser.add_argument("--rounds", type=int, default=1, help="concurrent rounds (RSS after each)")
    args = parser.parse_args()

    image = cv2.imread(args.photo)
    if args.side:
        image = cv2.resize(image, (args.side, args.side), interpolation=cv2.INTER_AREA)
    body = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    cmd = [sys.executable, "-m", "wds_edge.cli", "serve", "--port", "0", "--backend", "onnxruntime"]
    cmd += ["--model", args.model] if args.model else []
    cmd += ["--landmarker", args.landmarker] if args.landmarker else []
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        if "listening on" not in line:
            raise SystemExit(f"the service did not start: {line!r}")
        url = line.split("listening on ")[1].split()[0]
        proc = psutil.Process(server.pid)
        rss = {"after_start_mb": proc.memory_info().rss / 2**20}
        post(url, body)  # first request: lazy imports, allocator growth
        rss["after_first_mb"] = proc.memory_info().rss / 2**20
        statuses: list[int] = []
        seq_ms = []
        for _ in range(args.sequential):
            status, ms = post(url, body)
            statuses.append(status)
            seq_ms.append(ms)
        rss["after_sequential_mb"] = proc.memory_info().rss / 2**20
        conc_ms: list[float] = []
        lock = threading.Lock()

        def client() -> None:
            for _ in range(args.per_client):
                status, ms = post(url, body)
                with lock:
                    statuses.append(status)
                    conc_ms.append(ms)

        wall_s = 0.0
        for round_index in range(args.rounds):
            threads = [threading.Thread(target=client) for _ in range(args.clients)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall_s += time.perf_counter() - start
            rss[f"after_concurrent_{round_index + 1}_mb"] = proc.memory_info().rss / 2**20
        errors = [s for s in statuses if s not in (200, 422)]
        print(
            json.dumps(
                {
                    "photo": args.photo,
                    "photo_px": list(image.shape[1::-1]),
                    "body_bytes": len(body),
                    "sequential": percentiles(seq_ms),
                    "concurrent": {
                        **percentiles(conc_ms),
                        "clients": args.clients,
                        "rounds": args.rounds,
                        "throughput_rps": round(len(conc_ms) / wall_s, 2),
                    },
                    "status_counts": {str(s): statuses.count(s) for s in sorted(set(statuses))},
                    "errors": len(errors),
                    "server_rss_mb": {k: round(v, 1) for k, v in rss.items()},
                    "loadavg": os.getloadavg(),
                },
                indent=2,
            )
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
