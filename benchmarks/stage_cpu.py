"""CPU time per stage of the kiosk path, per clip frame (where the time goes, on a loaded
machine too).

Wall-clock stage times on a shared machine measure the other work as much as ours; CPU time
(``time.process_time``: every thread of this process, MediaPipe's own threads included) does
not depend on how long the process waited for a core. With one inference thread and nothing
else running in the process, each stage's CPU milliseconds are what it costs; on an idle
machine its wall time is at least that. Stages, each timed around the SDK call that does it:

* ``locate``: :meth:`WrinkleAnalyzer.locate` (landmarks, the one crop, gates, colour);
* ``inference``: the backend call alone on the frame's model input (the host
  preprocessing, ``model_input``: the SDK's ``crop_preprocess``, runs before it, untimed);
* ``postprocess``: threshold, counted skin regions, scores (:meth:`score_probability`);
* ``regions``: the counted skin regions alone (:func:`skin_regions`): the live screen's
  per-frame postprocessing, which leaves the scoring to the running score;
* ``running``: the live screen's running fused score (:class:`RunningScore`);
* ``overlay``: drawing the result onto the frame.

    python benchmarks/stage_cpu.py [--model MODEL.onnx] [--backend onnxruntime] [--frames 60]
"""

from __future__ import annotations

import os
import time

from _clip_bench import clip_analyzer, clip_parser, print_header

from wds_edge.bench.environment import environment_report

_STAGES = ("locate", "inference", "postprocess", "regions", "running", "overlay")


def main(argv: list[str] | None = None) -> int:
    parser = clip_parser(__doc__, frames=60)
    args = parser.parse_args(argv)
    if not os.path.isfile(args.video):
        parser.error(f"--video {args.video}: no such file (pass a video of a face)")

    from wds_edge.analysis.analyzer import WrinkleAnalyzer
    from wds_edge.analysis.config import AnalyzerConfig
    from wds_edge.analysis.overlay import draw_overlay
    from wds_edge.analysis.running import RunningScore
    from wds_edge.capture.sources import open_source
    from wds_edge.errors import WdsEdgeError
    from wds_edge.model.preprocessing import model_input
    from wds_edge.perception.skin_regions import skin_regions
    from wds_edge.timing import summarize_ms

    env, load_start = environment_report(), os.getloadavg()[0]
    cpu_ms: dict[str, list[float]] = {s: [] for s in _STAGES}
    # (runs on the code before issue 25 too, for the before / after figures)
    spin = {"spin_wait": False} if "spin_wait" in AnalyzerConfig.model_fields else {}
    has_counted = "regions" in WrinkleAnalyzer.score_probability.__code__.co_varnames

    def timed(stage: str, fn, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        c0 = time.process_time()
        out = fn(*a, **k)
        cpu_ms[stage].append((time.process_time() - c0) * 1000.0)
        return out

    try:  # a video OpenCV cannot read, a model or landmarker that does not load: one line
        analyzer = clip_analyzer(args, **spin)
        running = RunningScore(analyzer)
        with analyzer, open_source(args.video, threaded=False) as source:
            for frame in source:
                if len(cpu_ms["locate"]) >= args.frames:
                    break
                located = timed("locate", analyzer.locate, frame.image_bgr, int(frame.timestamp_ms))
                if not located.ok:
                    cpu_ms["locate"].pop()
                    continue
                crop = located.face_crop
                # untimed: "inference" is the backend call alone (the figures in RESULTS.md)
                batch = model_input(crop.crop_rgb, analyzer.metadata.preprocessing)
                prob = timed("inference", analyzer.backend.infer, batch)[0, 0]
                mask, scores, counted = timed(
                    "postprocess", analyzer.score_probability, prob, crop, located.mm_per_px
                )
                timed(
                    "regions", skin_regions, crop.crop_rgb, crop.landmarks_crop_px, crop.in_frame,
                    mm_per_px=located.mm_per_px,
                )  # fmt: skip
                segmented = analyzer.segment(None, located)  # the result the running score takes
                shown = timed("running", running.add, segmented)
                timed("overlay", draw_overlay, frame.image_bgr, shown)
    except WdsEdgeError as exc:
        parser.error(str(exc))
    if not cpu_ms["locate"]:
        parser.error(f"--video {args.video}: no frame with a usable face, nothing to time "
                     "(pass a clip with a face in view)")  # fmt: skip
    print_header(env, load_start)
    reuse = "reuses" if has_counted else "recomputes"
    backend = analyzer.model_info["backend"]
    print(f"# {len(cpu_ms['locate'])} clip frames with a face, {backend}, 1 inference thread; "
          f"the running score {reuse} the frame's counted regions")  # fmt: skip
    print("| stage | CPU ms per frame, median | p90 |\n|---|---|---|")
    for stage, values in cpu_ms.items():
        cpu = summarize_ms(values)
        print(f"| {stage} | {cpu.p50_ms:.1f} | {cpu.p90_ms:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
