"""The live demo: camera -> landmarks every frame -> segmentation in a worker -> overlay.

The display never waits for segmentation. Each frame is located on the main loop
(:meth:`WrinkleAnalyzer.locate`: face, crop transform, quality - fast); the newest
good crop is handed to a background worker (:class:`LatestJobWorker`, 1-slot queue,
newest wins) that runs :meth:`WrinkleAnalyzer.segment`. The last finished
segmentation's crop-space probability is pasted back with the *current* frame's crop
transform, so the mask follows the face at camera rate even when the model runs at a
few updates per second. A mask segmented before the face was last lost is never shown
on a returning face.

``sync=True`` segments every good frame on the main loop instead (deterministic:
headless runs on a file, CI). See :class:`DemoConfig` for every option.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wds_edge.bench.stats import StageRecorder
from wds_edge.capture.reconnect import ReconnectingSource
from wds_edge.demo.outputs import DemoRecorder, process_rss_mb, save_snapshot
from wds_edge.demo.ui import (
    KEY_QUIT,
    KEY_SESSION,
    KEY_SNAPSHOT,
    WindowDisplay,
    draw_banner,
    draw_hud,
)
from wds_edge.demo.worker import LatestJobWorker

__all__ = ["DemoConfig", "DemoSummary", "run_demo"]

logger = logging.getLogger(__name__)

LOST_PROMPT = "camera lost, reconnecting..."


def _segmentation_threads(requested: int | None, sync: bool) -> int | None:
    """Threads for inference: as asked; else leave a core to the display loop when async."""
    if requested is not None or sync:
        return requested
    return max(1, (os.cpu_count() or 1) - 1)


@dataclass
class DemoConfig:
    """Options of :func:`run_demo` (the CLI's ``wds-edge demo`` options).

    Attributes:
        source: camera index, ``v4l2:///dev/videoN``, ``csi://N``, ``rtsp://...`` or a video file.
        model_path / backend / precision / landmarker_path / threshold: as
            :class:`wds_edge.analysis.analyzer.AnalyzerConfig` (None model: the bundled default).
        num_threads: ONNX Runtime intra-op threads. None: all cores when segmenting on the
            main loop; with the background worker, one core fewer than the machine has,
            so the display loop keeps a core (measured on 2 cores: display 23.6 -> 29.7
            FPS, segmentation rate unchanged at 2.3/s).
        headless: no window (record and/or write JSON lines instead).
        record_path: write the annotated frames as an mp4 (mp4v) video, atomically.
        jsonl_path: write one JSON line per frame, atomically.
        max_frames: stop after this many frames (soak tests, CI); None runs until the end / q.
        realtime: emulate a camera on a file (drop frames the loop is too slow for);
            None: on for a window, off headless.
        sync: segment on the main loop, every good frame (deterministic); None: on when
            headless on a file, else off (background worker).
        loop: start a file over at its end (soak mode, with ``max_frames``).
        screenshot_path / screenshot_after_frames: save the displayed image once, after N frames.
        snapshot_dir: where the ``s`` key saves frame + overlay PNGs + JSON.
        max_mask_age_frames: hide a mask older than this many frames.
    """

    source: str | int = 0
    model_path: str | Path | None = None
    backend: str = "auto"
    precision: str = "auto"
    landmarker_path: str | Path | None = None
    num_threads: int | None = None
    threshold: float | None = None
    headless: bool = False
    record_path: str | Path | None = None
    jsonl_path: str | Path | None = None
    max_frames: int | None = None
    realtime: bool | None = None
    sync: bool | None = None
    loop: bool = False
    screenshot_path: str | Path | None = None
    screenshot_after_frames: int = 30
    snapshot_dir: str | Path = "wds_snapshots"
    max_mask_age_frames: int = 90
    record_fps: float | None = None
    window_title: str = "wds-edge demo"


@dataclass
class DemoSummary:
    """What a demo run did (returned by :func:`run_demo`, printed by the CLI)."""

    frames: int = 0
    segmentations: int = 0
    duration_s: float = 0.0
    status_counts: dict[str, int] = field(default_factory=dict)
    stages_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    reconnects: int = 0
    jobs_replaced: int = 0
    rss_mb: dict[str, float] = field(default_factory=dict)
    snapshots: list[str] = field(default_factory=list)
    session_result: dict[str, Any] | None = None
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def display_fps(self) -> float:
        return self.frames / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def segmentation_hz(self) -> float:
        return self.segmentations / self.duration_s if self.duration_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["display_fps"] = round(self.display_fps, 2)
        data["segmentation_hz"] = round(self.segmentation_hz, 2)
        return data


def _is_file_source(source: str | int) -> bool:
    return not isinstance(source, int) and "://" not in str(source) and not str(source).isdigit()


class _Rate:
    """Events per second over the last ``window_s`` seconds (bounded deque)."""

    def __init__(self, window_s: float = 2.0) -> None:
        self._times: collections.deque[float] = collections.deque(maxlen=256)
        self._window_s = window_s

    def tick(self, now: float) -> None:
        self._times.append(now)

    def rate(self, now: float) -> float:
        while self._times and now - self._times[0] > self._window_s:
            self._times.popleft()
        if len(self._times) < 2:
            return 0.0
        return (len(self._times) - 1) / max(self._times[-1] - self._times[0], 1e-6)


def _with_mask(located: Any, seg: Any) -> Any:
    """``located`` (current face position) carrying ``seg``'s crop-space mask and scores."""
    return dataclasses.replace(
        located, wrinkle_prob=seg.wrinkle_prob, wrinkle_mask=seg.wrinkle_mask, scores=seg.scores
    )


def run_demo(
    config: DemoConfig, *, on_frame: Callable[[dict[str, Any]], None] | None = None
) -> DemoSummary:
    """Run the demo until the source ends, ``max_frames``, or the q / Esc key.

    Args:
        config: see :class:`DemoConfig`.
        on_frame: called with each frame's JSON record (what ``jsonl_path`` gets).

    Raises:
        CaptureError: the source cannot be opened.
        ModelError / BackendError / MissingDependencyError: the model or a window cannot load.
    """
    from wds_edge.analysis.analyzer import AnalyzerConfig, WrinkleAnalyzer
    from wds_edge.analysis.overlay import draw_overlay
    from wds_edge.capture.sources import open_source

    is_file = _is_file_source(config.source)
    realtime = (not config.headless) if config.realtime is None else config.realtime
    sync = (config.headless and is_file) if config.sync is None else config.sync
    source = ReconnectingSource(
        lambda: open_source(config.source, realtime=realtime and is_file),
        live=not is_file,
        loop=config.loop,
    )
    analyzer = WrinkleAnalyzer(
        AnalyzerConfig(
            model_path=None if config.model_path is None else str(config.model_path),
            backend=config.backend,
            precision=config.precision,
            landmarker_path=None if config.landmarker_path is None else str(config.landmarker_path),
            video_mode=True,
            num_threads=_segmentation_threads(config.num_threads, sync),
            threshold=config.threshold,
        )
    )
    window = None if config.headless else WindowDisplay(config.window_title)
    fps = float(getattr(source.source, "fps", 0) or 0) or 30.0
    recorder = DemoRecorder(config.record_path, config.jsonl_path, fps=config.record_fps or fps)
    worker: LatestJobWorker[Any] | None = None if sync else LatestJobWorker("wds-segmentation")
    summary = DemoSummary()
    stages = StageRecorder(max_samples=5000)
    recent: dict[str, float] = {}  # stage -> exponential moving average for the HUD
    display_rate, seg_rate = _Rate(), _Rate()
    last_seg: tuple[int, Any, float] | None = None  # (frame index, result, duration ms)
    last_bad_index = -1  # last frame without a usable face: older masks are not shown
    last_ts = -1
    session: Any = None
    final: tuple[Any, float] | None = None  # (session result, shown until monotonic time)
    shape_hw = (480, 640)
    index = -1
    t_start = time.monotonic()
    summary.rss_mb["start"] = process_rss_mb()

    def note(stage: str, ms: float) -> None:
        stages.add(stage, ms)
        recent[stage] = ms if stage not in recent else 0.8 * recent[stage] + 0.2 * ms

    try:
        while config.max_frames is None or summary.frames < config.max_frames:
            t0 = time.perf_counter()
            frame = source.read()
            read_ms = (time.perf_counter() - t0) * 1000.0
            if frame is None:
                if source.finished:
                    break
                # Camera lost: keep the window alive with a banner, retry in the background.
                canvas = np.zeros((*shape_hw, 3), np.uint8)
                draw_banner(canvas, LOST_PROMPT, color=(80, 80, 255))
                if window is not None:
                    key = window.show(canvas, wait_ms=100)
                    if key in KEY_QUIT or window.closed_by_user:
                        break
                else:
                    time.sleep(0.1)
                continue
            index += 1
            now = time.monotonic()
            image = frame.image_bgr
            shape_hw = image.shape[:2]
            capture_age_ms = max(0.0, (now - frame.capture_time_s) * 1000.0)
            # MediaPipe's video mode needs strictly increasing timestamps (files loop).
            ts = max(int(frame.timestamp_ms), last_ts + 1)
            last_ts = ts
            timings: dict[str, float] = {"capture_age": capture_age_ms, "read": read_ms}

            if session is not None:
                update = session.feed(image, ts)
                located = update.result if update.result is not None else analyzer.locate(image, ts)
                if update.done:
                    final_result = session.final_result()
                    final = (final_result, time.monotonic() + 8.0)
                    summary.session_result = final_result.to_dict()
                    session = None
            else:
                located = analyzer.locate(image, ts)
            timings["locate"] = float(
                located.timings_ms.get("total", sum(located.timings_ms.values()))
            )
            status = str(getattr(located.status, "value", located.status))
            summary.status_counts[status] = summary.status_counts.get(status, 0) + 1
            segmented_now = False
            if not located.ok:
                last_bad_index = index
            elif sync:
                t1 = time.perf_counter()
                seg = analyzer.segment(image, located)
                last_seg = (index, seg, (time.perf_counter() - t1) * 1000.0)
                segmented_now = True
            elif worker is not None and session is None:
                worker.submit(index, lambda img=image, loc=located: analyzer.segment(img, loc))
            if worker is not None:
                out = worker.latest()
                if out is not None and (last_seg is None or out.tag != last_seg[0]):
                    last_seg = (out.tag, out.value, out.duration_ms)
                    segmented_now = True
            if segmented_now and last_seg is not None:
                summary.segmentations += 1
                seg_rate.tick(now)
                note("segment", last_seg[2])
                timings["segment"] = last_seg[2]

            shown = located
            seg_age = None
            showing_final = final is not None and now < final[1]
            if showing_final and located.ok and final[0].result is not None:  # type: ignore[index]
                # The session's sharpest frame's mask, on the face where it is now, with
                # the scores smoothed over the session's good frames.
                shown = _with_mask(located, final[0].result)  # type: ignore[index]
                shown.scores = dict(final[0].scores)  # type: ignore[index]
            elif (
                located.ok
                and last_seg is not None
                and last_seg[0] > last_bad_index
                and index - last_seg[0] <= config.max_mask_age_frames
            ):
                shown = _with_mask(located, last_seg[1])
                seg_age = index - last_seg[0]
            t2 = time.perf_counter()
            canvas = draw_overlay(image, shown, show_regions=True, show_scores=True)
            timings["overlay"] = (time.perf_counter() - t2) * 1000.0
            for stage in ("capture_age", "read", "locate", "overlay"):
                note(stage, timings[stage])
            display_rate.tick(now)
            ratios = {k: float(v.wrinkle_ratio) for k, v in shown.scores.items()}
            extra: tuple[str, ...] = ()
            if session is not None:
                extra = ("capture session: hold still...",)
            elif showing_final:
                extra = ("final result (space: new session)",)
            draw_hud(
                canvas,
                prompt=located.prompt,
                ok=located.ok,
                display_fps=display_rate.rate(now),
                seg_rate_hz=seg_rate.rate(now),
                seg_age_frames=seg_age,
                stage_ms={k: recent[k] for k in recent},
                region_ratios=None,
                extra_lines=extra,
            )
            record = {
                "frame": index,
                "capture_time_s": round(frame.capture_time_s, 6),
                "timestamp_ms": int(frame.timestamp_ms),
                "status": status,
                "prompt": located.prompt,
                "face_box_px": located.to_dict()["face_box_px"],
                "segmented": segmented_now,
                "seg_frame": None if seg_age is None else index - seg_age,
                "seg_age_frames": seg_age,
                "scores": {k: round(v, 6) for k, v in ratios.items()} or None,
                "timings_ms": {k: round(v, 3) for k, v in timings.items()},
            }
            recorder.write(canvas, record)
            if on_frame is not None:
                on_frame(record)
            summary.frames += 1
            if config.screenshot_path and summary.frames == config.screenshot_after_frames:
                from wds_edge.io import write_image_atomic

                summary.outputs["screenshot"] = str(
                    write_image_atomic(config.screenshot_path, canvas)
                )
            if summary.frames == 100:
                summary.rss_mb["frame_100"] = process_rss_mb()
            if window is not None:
                key = window.show(canvas)
                if key in KEY_QUIT or window.closed_by_user:
                    break
                if key in KEY_SNAPSHOT:
                    summary.snapshots.append(
                        str(save_snapshot(config.snapshot_dir, image, canvas, shown, record))
                    )
                if key in KEY_SESSION and session is None:
                    from wds_edge.analysis.session import KioskSession

                    session, final = KioskSession(analyzer), None
            timings["loop"] = (time.perf_counter() - t0) * 1000.0
            note("loop", timings["loop"])
    finally:
        summary.duration_s = time.monotonic() - t_start
        summary.rss_mb["end"] = process_rss_mb()
        if worker is not None:
            summary.jobs_replaced = worker.replaced
            worker.close()
        if window is not None:
            window.close()
        summary.outputs.update(recorder.close())
        summary.reconnects = source.reconnects
        source.close()
        analyzer.close()
    summary.stages_ms = {k: v.to_dict() for k, v in stages.summary().items()}
    logger.info("demo summary: %s", json.dumps(summary.to_dict())[:500])
    return summary
