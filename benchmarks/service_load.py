"""Load on `wds-edge serve`: sequential then concurrent POST /v1/analyze, latency and RSS.

Usage:
    python benchmarks/service_load.py --photo ../shared/data/faces/biden2.jpg \
        [--landmarker ../shared/models/face_landmarker.task] [--sequential 200] \
        [--clients 8] [--per-client 25] [--rounds 1] [--side 0] [--slow-clients]

Starts `wds-edge serve` (no camera, bundled model unless --model, ONNX Runtime) as a
separate process on a free loopback port, sends the requests, and prints one JSON
object: latency percentiles per phase, the server's RSS before, between and after the
phases (psutil), errors, the CPU and the load average at the start and the end
(``environment``, ``load``). --side N downscales the photo to N px first. A service that does
not start is reported with the end of its stderr.

--slow-clients adds the attacks of issue 23 after the load: 40 sockets that send nothing
and 32 uploads trickling one byte a second (the server's defaults: 10 s header timeout,
30 s body timeout, 32 requests at once), while /healthz and POST /v1/analyze are probed
every 0.5 s; then three concurrent 4 MB Radiance HDR bombs declaring 8000 x 8000, with
the server's peak RSS (VmHWM) before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wds_edge.bench.environment import LoadWatch, environment_report, format_environment  # noqa: E402

#: Lines of the service's stderr quoted when it does not start.
STDERR_TAIL_LINES = 20


def start_failure(first_line: str, stderr_text: str) -> str:
    """Why the service did not start: its first stdout line and the end of its stderr."""
    tail = "\n".join(stderr_text.strip().splitlines()[-STDERR_TAIL_LINES:])
    return f"the service did not start (its first output line: {first_line!r}); " + (
        f"the end of its stderr:\n{tail}" if tail else "it wrote nothing to stderr"
    )


def post(url: str, body: bytes, path: str = "/v1/analyze") -> tuple[int, float]:
    start = time.perf_counter()
    req = urllib.request.Request(
        f"{url}{path}", body if path != "/healthz" else None, {"Content-Type": "image/jpeg"}
    )
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


def hdr_bomb(width: int, height: int) -> bytes:
    """A valid run-length Radiance HDR of width x height grey pixels (8000 x 8000: 4 MB)."""
    runs = [min(127, width - i) for i in range(0, width, 127)]
    channel = lambda v: b"".join(bytes((0x80 + n, v)) for n in runs)  # noqa: E731
    line = bytes((2, 2, width >> 8, width & 0xFF)) + b"".join(channel(v) for v in (128,) * 3)
    line += channel(129)
    header = f"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y {height} +X {width}\n".encode()
    return header + line * height


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def slow_client_phase(url: str, body: bytes, proc: psutil.Process) -> dict[str, Any]:
    """40 idle sockets + 32 trickling uploads for 35 s, probing /healthz and analyze."""
    host, port = url.removeprefix("http://").split(":")
    head = (
        f"POST /v1/analyze HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: image/jpeg\r\n"
        "Content-Length: 100000\r\n\r\n"
    ).encode()
    idle = [socket.create_connection((host, int(port))) for _ in range(40)]
    uploads = [socket.create_connection((host, int(port))) for _ in range(32)]
    for sock in uploads:
        sock.sendall(head)
    start = time.monotonic()
    answered: dict[str, list[float]] = {}
    stop = threading.Event()

    def trickle(sock: socket.socket) -> None:
        sock.settimeout(1.0)
        while not stop.is_set():
            try:
                sock.sendall(b"\xff")
                reply = sock.recv(64)
            except TimeoutError:
                continue
            except OSError:
                reply = b"closed"
            status = reply.split(b" ")[1].decode() if reply.startswith(b"HTTP/") else "closed"
            answered.setdefault(status, []).append(time.monotonic() - start)
            return

    def idle_closed(sock: socket.socket) -> None:
        sock.settimeout(60)
        with contextlib.suppress(OSError):
            sock.recv(1)
        answered.setdefault("idle closed", []).append(time.monotonic() - start)

    threads = [threading.Thread(target=trickle, args=(s,)) for s in uploads]
    threads += [threading.Thread(target=idle_closed, args=(s,)) for s in idle]
    for t in threads:
        t.start()
    health: list[tuple[int, float]] = []
    analyze: list[tuple[int, float]] = []
    rss = [proc.memory_info().rss / 2**20]
    while time.monotonic() - start < 35:
        health.append(post(url, b"", "/healthz"))
        analyze.append(post(url, body))
        rss.append(proc.memory_info().rss / 2**20)
        time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(10)
    for sock in idle + uploads:
        sock.close()

    def summary(samples: list[tuple[int, float]]) -> dict[str, Any]:
        codes = [c for c, _ in samples]
        return {
            "status_counts": {str(c): codes.count(c) for c in sorted(set(codes))},
            **percentiles([ms for _, ms in samples]),
        }

    return {
        "healthz": summary(health),
        "analyze": summary(analyze),
        "slow_sockets_ended": {
            k: {"n": len(v), "first_s": round(min(v), 1), "last_s": round(max(v), 1)}
            for k, v in sorted(answered.items())
        },
        "server_rss_mb": {"start": round(rss[0], 1), "max": round(max(rss), 1),
                          "end": round(rss[-1], 1)},
    }  # fmt: skip


def bomb_phase(url: str, pid: int) -> dict[str, Any]:
    bomb = hdr_bomb(8000, 8000)
    before = peak_rss_mb(pid)
    results: list[tuple[int, float]] = []
    threads = [threading.Thread(target=lambda: results.append(post(url, bomb))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "bomb_bytes": len(bomb),
        "statuses": [s for s, _ in results],
        "ms": [round(ms, 1) for _, ms in results],
        "server_peak_rss_mb": {"before": round(before, 1), "after": round(peak_rss_mb(pid), 1)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--landmarker", default=os.environ.get("WDS_EDGE_FACE_LANDMARKER"))
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=25)
    parser.add_argument("--side", type=int, default=0, help="downscale the photo to N px")
    parser.add_argument("--rounds", type=int, default=1, help="concurrent rounds (RSS after each)")
    parser.add_argument("--slow-clients", action="store_true", help="then idle/trickle + bombs")
    parser.add_argument("--no-bombs", action="store_true", help="leave the HDR bombs out")
    args = parser.parse_args(argv)

    image = cv2.imread(args.photo)
    if image is None:
        parser.error(f"--photo {args.photo}: not a readable image")
    for name in ("sequential", "clients", "per_client", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    env, load = environment_report(), LoadWatch()
    if args.side:
        image = cv2.resize(image, (args.side, args.side), interpolation=cv2.INTER_AREA)
    body = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    cmd = [sys.executable, "-m", "wds_edge.cli", "serve", "--port", "0", "--backend", "onnxruntime"]
    cmd += ["--model", args.model] if args.model else []
    cmd += ["--landmarker", args.landmarker] if args.landmarker else []
    # stderr to a file, not a pipe: nobody reads it while the load runs (a full pipe would
    # block the service), and its end says why a service did not start
    errors_file = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in the finally below
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors_file, text=True)
    try:
        line = server.stdout.readline()
        if "listening on" not in line:
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=10)  # let it finish writing why
            errors_file.seek(0)
            raise SystemExit(start_failure(line, errors_file.read()))
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
        extra: dict[str, Any] = {}
        if args.slow_clients:
            extra["slow_clients"] = slow_client_phase(url, body, proc)
            if not args.no_bombs:  # (a server before issue 23 takes ~3 GB per bomb)
                extra["hdr_bombs"] = bomb_phase(url, server.pid)
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
                    **extra,
                    "loadavg": os.getloadavg(),
                    "load": load.stop().to_dict(),
                    "environment": env,
                },
                indent=2,
            )
        )
        # (stdout is the one JSON object above, which holds both: the line is for the eye)
        print(f"# {format_environment(env, load)}", file=sys.stderr)
        if load.warning():
            print(f"# warning: {load.warning()}", file=sys.stderr)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        errors_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
