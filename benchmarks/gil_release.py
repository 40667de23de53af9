"""Do the pipeline's native calls release the GIL? (issue 25: the two-stage pipeline needs it)

For each call of the kiosk path (MediaPipe landmarks on a 720p clip frame, ONNX Runtime and
OpenVINO inference on a face crop, the crop warp + texture preprocessing, the
postprocessing), one thread runs the call in a loop while a second thread counts in pure
Python. What is measured is the share of the wall time the counting thread was *runnable*
(on a CPU or waiting in the run queue: ``/proc/self/task/TID/schedstat``), not its rate: a
thread blocked on the GIL sleeps, a thread that only lacks a CPU (a loaded machine) waits
runnable. So the figure does not depend on the load: beside ``time.sleep`` (which releases
the GIL) it is about 100 %, beside a pure-Python loop (which holds it: the threads take
turns) about 50 %; a native call that releases the GIL for most of its time leaves it near
100 %, the Python around the call shows as the gap. Short windows of every call are
interleaved (``--rounds``); the medians are printed with the CPU and the load average.

Then the claim itself: N landmark calls and N inferences one after another vs on two
threads at once (interleaved rounds), with the CPU time the process got per wall second
(on a loaded machine the process's share of the CPU, not the GIL, caps the overlap).

    python benchmarks/gil_release.py [--model MODEL.onnx] [--rounds 8] [--window-s 0.5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import cv2  # noqa: E402

from wds_edge.bench.environment import (  # noqa: E402
    LoadWatch,
    environment_report,
    format_environment,
)


def _runnable_ns() -> int:
    """This thread's time on a CPU + waiting for one (ns, from schedstat)."""
    tid = threading.get_native_id()
    on_cpu, waiting, _ = Path(f"/proc/self/task/{tid}/schedstat").read_text().split()
    return int(on_cpu) + int(waiting)


def _runnable_beside(work: Callable[[], object], window_s: float) -> float:
    """Share of the wall time this (counting) thread was runnable while another thread
    loops ``work``: 1.0 = never blocked on the GIL."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            work()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    time.sleep(0.02)
    n, t0, r0 = 0, time.perf_counter(), _runnable_ns()
    end = t0 + window_s
    while True:
        for _ in range(2000):
            n += 1
        if time.perf_counter() >= end:
            break
    share = (_runnable_ns() - r0) / 1e9 / (time.perf_counter() - t0)
    stop.set()
    thread.join()
    return share


def _python_busy() -> None:
    total = 0
    for i in range(20000):
        total += i


def _overlap(
    a: Callable[[], object], b: Callable[[], object], n: int
) -> tuple[float, float, float, float]:
    """(serial s, two threads s, CPU s per wall s serial, the same on two threads) for n
    calls of a and n calls of b."""
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        a()
    for _ in range(n):
        b()
    serial, serial_cpu = time.perf_counter() - t0, time.process_time() - c0
    c0, t0 = time.process_time(), time.perf_counter()
    other = threading.Thread(target=lambda: [b() for _ in range(n)])
    other.start()
    for _ in range(n):
        a()
    other.join()
    parallel, parallel_cpu = time.perf_counter() - t0, time.process_time() - c0
    return serial, parallel, serial_cpu / serial, parallel_cpu / parallel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="ONNX model (default: the bundled one)")
    parser.add_argument(
        "--video", default=str(REPO_ROOT.parent / "shared/data/video/portrait_motion_720p.mp4")
    )
    parser.add_argument(
        "--landmarker", default=str(REPO_ROOT.parent / "shared/models/face_landmarker.task")
    )
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--window-s", type=float, default=0.5)
    parser.add_argument("--overlap-calls", type=int, default=5)
    args = parser.parse_args(argv)

    from wds_edge.analysis.analyzer import WrinkleAnalyzer
    from wds_edge.model.preprocessing import model_input
    from wds_edge.perception.face_crop import crop_face
    from wds_edge.runtime import load_backend

    env, load = environment_report(), LoadWatch()
    cap = cv2.VideoCapture(args.video)
    ok, frame = cap.read()
    cap.release()
    if not ok:
        raise SystemExit(f"cannot read {args.video}")
    analyzer = WrinkleAnalyzer(
        model_path=args.model, backend="onnxruntime", landmarker_path=args.landmarker,
        num_threads=1, spin_wait=False,
    )  # fmt: skip
    located = analyzer.locate(frame)
    if not located.ok:
        raise SystemExit("no usable face in the clip's first frame")
    size, pre = analyzer.input_size_px, analyzer.metadata.preprocessing
    crop = located.face_crop
    x = model_input(crop.crop_rgb, pre)
    ov = load_backend(analyzer.model_path, "openvino", precision="fp32", num_threads=1)
    seg = analyzer.segment(None, located)
    calls: dict[str, Callable[[], object]] = {
        "sleep (releases the GIL)": lambda: time.sleep(0.005),
        "pure Python (holds it)": _python_busy,
        "MediaPipe landmarks": lambda: analyzer.landmarker.detect(
            cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        ),
        "ONNX Runtime infer": lambda: analyzer.backend.infer(x),
        "OpenVINO infer": lambda: ov.infer(x),
        "crop + preprocessing": lambda: model_input(
            crop_face(frame, located.landmarks_px, size).crop_rgb, pre
        ),
        "postprocessing": lambda: analyzer.score_probability(
            seg.wrinkle_prob, crop, located.mm_per_px
        ),
    }
    rates: dict[str, list[float]] = {name: [] for name in calls}
    for r in range(args.rounds):
        names = list(calls) if r % 2 == 0 else list(reversed(calls))
        for name in names:
            rates[name].append(_runnable_beside(calls[name], args.window_s))
    overlaps = []
    for _ in range(max(1, args.rounds // 2)):
        overlaps.append(_overlap(calls["MediaPipe landmarks"], calls["ONNX Runtime infer"],
                                 args.overlap_calls))  # fmt: skip
    ov.close()
    analyzer.close()
    load.stop()
    print(f"# {format_environment(env, load)}")
    print("| call in the other thread | Python thread runnable beside it (median) |")
    print("|---|---|")
    for name, values in rates.items():
        print(f"| {name} | {100 * statistics.median(values):.0f} % |")
    serial, parallel, cpu_serial, cpu_parallel = (
        statistics.median(o[i] for o in overlaps) for i in range(4)
    )
    print(
        f"\n{args.overlap_calls} landmark calls + {args.overlap_calls} ONNX Runtime inferences "
        f"(1 thread each): one after another {serial:.2f} s ({cpu_serial:.2f} CPU s per s), "
        f"on two threads {parallel:.2f} s ({cpu_parallel:.2f} CPU s per s); medians of "
        f"{len(overlaps)} rounds"
    )
    if load.warning():
        print(f"warning: {load.warning()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
