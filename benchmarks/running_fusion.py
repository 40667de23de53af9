"""The live screen's running fused score: incremental (:class:`RunningScore`) against exact
re-registration of the whole window onto every new frame, interleaved, on the kiosk clip.

*Exact* is what :class:`RunningScore` did before issue 25's postprocessing cut and what a
capture still does once (:func:`~wds_edge.analysis.fusion.fuse_probabilities` of the last
``window`` frames onto the newest: a landmark fit per frame for the median misfit, another
per frame for its registration, a warp per frame). *Incremental* keeps each frame's
transform into the window's anchor crop and a running sum there (three fits, two warps).
Both score the fused map the same way. Per clip frame with a face, both run on the same
segmented result, in alternating order, and their CPU time (``time.process_time``) is
recorded; then the masks and scores are compared:

* mask IoU of incremental against exact, per frame (mean, worst);
* the mean overall ratio and the median frame-to-frame change of the shown overall score
  (what a person watching the screen sees move).

    python benchmarks/running_fusion.py [--model MODEL.onnx] [--frames 120]
"""

from __future__ import annotations

import collections
import os
import time

import numpy as np
from _clip_bench import clip_analyzer, clip_parser, print_header

from wds_edge.bench.environment import environment_report


def main(argv: list[str] | None = None) -> int:
    parser = clip_parser(__doc__, frames=120)
    args = parser.parse_args(argv)
    if args.frames < 2:  # the frame-to-frame columns compare each frame with the one before
        parser.error(f"--frames must be >= 2 (frame-to-frame changes), got {args.frames}")
    if not os.path.isfile(args.video):
        parser.error(f"--video {args.video}: no such file (pass a video of a face)")

    from wds_edge.analysis.fusion import fuse_probabilities
    from wds_edge.analysis.running import RUNNING_WINDOW, RunningScore
    from wds_edge.capture.sources import open_source
    from wds_edge.errors import WdsEdgeError
    from wds_edge.model.metrics import mask_iou
    from wds_edge.timing import summarize_ms

    env, load_start = environment_report(), os.getloadavg()[0]
    window: collections.deque = collections.deque(maxlen=RUNNING_WINDOW)

    def exact(result):  # noqa: ANN001, ANN202
        window.append(result)
        frames = list(window)
        fused = fuse_probabilities(
            [f.wrinkle_prob for f in frames],
            [f.landmarks_crop_px for f in frames],
            reference=len(frames) - 1,
        )
        return analyzer.score_probability(
            fused.prob, result.face_crop, result.mm_per_px, result.counted_regions
        )

    def incremental(result):  # noqa: ANN001, ANN202
        shown = running.add(result)
        return shown.wrinkle_mask, shown.scores, shown.counted_regions

    cpu_ms: dict[str, list[float]] = {"exact": [], "incremental": []}
    shown: dict[str, list] = {"exact": [], "incremental": []}
    try:  # a video OpenCV cannot read, a model or landmarker that does not load: one line
        analyzer = clip_analyzer(args)
        running = RunningScore(analyzer)
        with analyzer, open_source(args.video, threaded=False) as source:
            for frame in source:
                if len(shown["exact"]) >= args.frames:
                    break
                result = analyzer.analyze(frame.image_bgr, timestamp_ms=int(frame.timestamp_ms))
                if not result.segmented:
                    continue
                names = ("exact", "incremental")
                for name in names if len(shown["exact"]) % 2 else names[::-1]:
                    fn = exact if name == "exact" else incremental
                    c0 = time.process_time()
                    mask, scores, _ = fn(result)
                    cpu_ms[name].append((time.process_time() - c0) * 1000.0)
                    shown[name].append((mask > 0, scores["overall"].wrinkle_ratio))
    except WdsEdgeError as exc:
        parser.error(str(exc))
    if len(shown["exact"]) < 2:
        parser.error(f"--video {args.video}: {len(shown['exact'])} frames with a usable face, "
                     "need at least 2 to compare (pass a clip with a face in view)")  # fmt: skip
    if running.restarts:
        print(f"# warning: the running window restarted {running.restarts} times (exact did not)")
    ious = [mask_iou(a, b) for (a, _), (b, _) in zip(*shown.values(), strict=True)]
    print_header(env, load_start)
    print(f"# {len(ious)} clip frames with a face, window {RUNNING_WINDOW}, "
          f"{analyzer.model_info['backend']}, 1 inference thread")  # fmt: skip
    print("| fusion | CPU ms per frame, median | p90 | overall ratio, mean | "
          "frame-to-frame change of the shown overall, median | "
          "mask IoU with the previous frame's, median |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, values in cpu_ms.items():
        overall = np.array([o for _, o in shown[name]])
        change = np.abs(np.diff(overall)) / np.maximum(overall[1:], 1e-12)
        masks = [m for m, _ in shown[name]]
        steady = [mask_iou(a, b) for a, b in zip(masks[:-1], masks[1:], strict=True)]
        cpu = summarize_ms(values)
        print(f"| {name} | {cpu.p50_ms:.1f} | {cpu.p90_ms:.1f} | "
              f"{overall.mean() * 100:.3f} % | {np.median(change) * 100:.2f} % | "
              f"{np.median(steady):.3f} |")  # fmt: skip
    print(f"# incremental vs exact mask IoU: mean {np.mean(ious):.3f}, worst {np.min(ious):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
