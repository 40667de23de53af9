"""Decode cost of wds_edge.io.decode_image (Pillow: header size check, decoder-reported
truncation, EXIF orientation) against plain cv2.imdecode, interleaved in one process.

    PYTHONPATH=. python benchmarks/decode_paths.py ../shared/data/faces/biden2.jpg --runs 50
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from wds_edge.bench.environment import LoadWatch, environment_report, format_environment  # noqa: E402
from wds_edge.io import decode_image  # noqa: E402
from wds_edge.timing import summarize_ms  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("image")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be >= 1, got {args.runs}")
    if not Path(args.image).is_file():
        parser.error(f"{args.image}: no such file")
    env, load = environment_report(), LoadWatch()
    data = Path(args.image).read_bytes()
    buf = np.frombuffer(data, np.uint8)
    times: dict[str, list[float]] = {"wds_edge.io.decode_image": [], "cv2.imdecode": []}
    for _ in range(args.runs):  # interleaved: both see the same machine load
        t = time.perf_counter()
        decode_image(data)
        times["wds_edge.io.decode_image"].append((time.perf_counter() - t) * 1e3)
        t = time.perf_counter()
        cv2.imdecode(buf, cv2.IMREAD_COLOR)
        times["cv2.imdecode"].append((time.perf_counter() - t) * 1e3)
    shape = decode_image(data).shape
    print(f"{args.image}: {shape[1]}x{shape[0]}, {len(data) / 1e3:.0f} kB, {args.runs} runs")
    for name, ms in times.items():
        stats = summarize_ms(ms)
        print(f"{name:26s} p50 {stats.p50_ms:6.1f} ms  p90 {stats.p90_ms:6.1f} ms  "
              f"min {stats.min_ms:6.1f} ms")  # fmt: skip
    load.stop()
    print(f"# {format_environment(env, load)}")
    if load.warning():
        print(f"# warning: {load.warning()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
