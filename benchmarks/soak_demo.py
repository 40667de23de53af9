"""Soak benchmark of the kiosk demo: run it on a looped clip for a duration and record
memory (RSS), display FPS, segmentation rate and frame statuses over time.

Not a test: it prints figures and writes them to a JSON file for ``RESULTS.md``.
The demo runs as a kiosk would (headless, realtime on the file so frames are dropped
like a camera's, segmentation in the background worker), on ``--source`` looped.

    python benchmarks/soak_demo.py --duration-s 3600 \\
        --source ../shared/data/video/portrait_motion_720p.mp4 --out runs/soak/soak_1h.json

Every ``--interval-s`` seconds one sample is taken: elapsed s, RSS MiB, frames and
segmentations in the interval (-> FPS, Hz), the status counts of the interval, and the
load average (the machine may be shared: say so beside the figures).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from wds_edge.analysis.analyzer import AnalyzerConfig  # noqa: E402
from wds_edge.bench.environment import LoadWatch, environment_report, format_environment  # noqa: E402
from wds_edge.demo.app import DemoConfig, run_demo  # noqa: E402
from wds_edge.demo.outputs import process_rss_mb  # noqa: E402
from wds_edge.io import write_json_atomic  # noqa: E402


class _SoakDone(Exception):
    """Raised from the frame callback when the duration is over (ends run_demo cleanly)."""


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="video file (looped)")
    parser.add_argument("--duration-s", type=float, default=3600.0)
    parser.add_argument("--interval-s", type=float, default=30.0)
    parser.add_argument("--model", default=None, help="ONNX model (default: the bundled one)")
    parser.add_argument(
        "--backend", default="auto", help="auto (the kiosk default) | onnxruntime | openvino"
    )
    parser.add_argument("--landmarker", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", required=True, help="JSON file for the samples and summary")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    env, load = environment_report(), LoadWatch()
    samples: list[dict[str, Any]] = []
    totals: collections.Counter[str] = collections.Counter()
    window: collections.Counter[str] = collections.Counter()
    state = {"frames": 0, "segs": 0, "t_last": 0.0}
    t0 = time.monotonic()
    state["t_last"] = t0

    def sample(now: float) -> None:
        span = max(now - state["t_last"], 1e-6)
        entry = {
            "elapsed_s": round(now - t0, 1),
            "rss_mb": process_rss_mb(),
            "display_fps": round(state["frames"] / span, 2),
            "segmentation_hz": round(state["segs"] / span, 2),
            "statuses": dict(window),
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }
        samples.append(entry)
        print(json.dumps(entry), flush=True)
        window.clear()
        state.update(frames=0, segs=0, t_last=now)

    def on_frame(record: dict[str, Any]) -> None:
        now = time.monotonic()
        state["frames"] += 1
        state["segs"] += int(bool(record.get("segmented")))
        window[record["status"]] += 1
        totals[record["status"]] += 1
        if now - state["t_last"] >= args.interval_s:
            sample(now)
        if now - t0 >= args.duration_s:
            raise _SoakDone

    config = DemoConfig(
        source=args.source,
        analyzer=AnalyzerConfig(
            model_path=args.model,
            backend=args.backend,
            landmarker_path=args.landmarker,
            num_threads=args.threads,
            video_mode=True,
        ),
        headless=True,
        realtime=True,
        sync=False,
        loop=True,
    )
    rss_start = process_rss_mb()
    with contextlib.suppress(_SoakDone):  # the duration is over
        run_demo(config, on_frame=on_frame)
    duration_s = time.monotonic() - t0
    rss = [s["rss_mb"] for s in samples]
    summary = {
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "duration_s": round(duration_s, 1),
        "frames": sum(totals.values()),
        "statuses": dict(totals),
        "rss_mb_start": rss_start,
        "rss_mb_first_sample": rss[0] if rss else None,
        "rss_mb_max": max(rss) if rss else None,
        "rss_mb_last": rss[-1] if rss else None,
        "mean_display_fps": round(sum(totals.values()) / duration_s, 2) if duration_s else 0.0,
        "loadavg_end": [round(v, 2) for v in os.getloadavg()],
        "load": load.stop().to_dict(),
        "environment": env,
        "samples": samples,
    }
    write_json_atomic(args.out, summary)
    print(json.dumps({k: v for k, v in summary.items() if k not in ("samples", "environment")}),
          flush=True)  # fmt: skip
    print(f"# {format_environment(env, load)}")
    if load.warning():
        print(f"# warning: {load.warning()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
