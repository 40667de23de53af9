"""`bench pipeline`: per-stage latency of the whole kiosk pipeline on a video or image folder.

Stages (milliseconds, p50 / p90 / p99 over the frames):

* ``capture_age``: frame grab -> the pipeline picks it up (``Frame.capture_time_s``);
* ``decode``: reading / decoding the frame (video decode, or image file decode);
* ``landmarks``: MediaPipe FaceLandmarker (+ quality gates: ``quality``);
* ``crop_preprocess``: paper Table 1 crop, resize, colour order, host-side texture map;
* ``inference``: the backend call;
* ``postprocess``: threshold, region masks, per-region scores (Eq. 12);
* ``overlay``: drawing the mask and regions back onto the frame;
* ``end_to_end``: all of the above for one frame.

End-to-end FPS is frames / wall time; dropped frames are counted from gaps in the
frame indices (only a ``realtime`` file or a live camera drops frames).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wds_edge.bench.stats import LatencyStats, StageRecorder
from wds_edge.errors import InvalidInputError
from wds_edge.progress import ProgressCallback

__all__ = ["PIPELINE_STAGES", "PipelineBenchResult", "bench_pipeline", "iter_bench_frames"]

PIPELINE_STAGES = (
    "capture_age",
    "decode",
    "landmarks",
    "quality",
    "crop_preprocess",
    "inference",
    "postprocess",
    "overlay",
    "end_to_end",
)
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


@dataclass
class PipelineBenchResult:
    """Per-stage statistics and throughput of one pipeline run."""

    source: str
    model: str
    backend: str
    device: str
    frames: int
    segmented_frames: int
    dropped_frames: int
    wall_s: float
    stages: dict[str, LatencyStats]
    status_counts: dict[str, int] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per stage (for tables / CSV)."""
        return [
            {
                "stage": name,
                "frames": st.count,
                "p50_ms": round(st.p50_ms, 2),
                "p90_ms": round(st.p90_ms, 2),
                "p99_ms": round(st.p99_ms, 2),
                "mean_ms": round(st.mean_ms, 2),
                "max_ms": round(st.max_ms, 2),
            }
            for name, st in self.stages.items()
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "model": self.model,
            "backend": self.backend,
            "device": self.device,
            "frames": self.frames,
            "segmented_frames": self.segmented_frames,
            "dropped_frames": self.dropped_frames,
            "wall_s": round(self.wall_s, 3),
            "end_to_end_fps": round(self.fps, 2),
            "status_counts": self.status_counts,
            "stages_ms": {k: v.to_dict() for k, v in self.stages.items()},
        }


def iter_bench_frames(
    source: str | Path, *, realtime: bool = False
) -> Iterator[tuple[Any, int, float, float]]:
    """Yield ``(image_bgr, frame_index, capture_time_s, decode_ms)`` from a video or folder.

    A folder yields its images in name order (decode = :func:`wds_edge.io.read_image`).

    Raises:
        InvalidInputError: an empty folder; CaptureError: a video that cannot be opened.
    """
    path = Path(source)
    if path.is_dir():
        from wds_edge.io import read_image

        files = sorted(p for p in path.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
        if not files:
            raise InvalidInputError(
                f"{path}: no images ({', '.join(sorted(_IMAGE_SUFFIXES))}) in this folder"
            )
        for i, file in enumerate(files):
            grabbed = time.monotonic()
            t0 = time.perf_counter()
            image = read_image(file)
            yield image, i, grabbed, (time.perf_counter() - t0) * 1000.0
        return
    from wds_edge.capture.sources import open_source

    with open_source(str(source), realtime=realtime) as frames:
        while True:
            t0 = time.perf_counter()
            frame = frames.read()
            decode_ms = (time.perf_counter() - t0) * 1000.0
            if frame is None:
                return
            yield frame.image_bgr, int(frame.index), frame.capture_time_s, decode_ms


def bench_pipeline(
    source: str | Path,
    *,
    model_path: str | Path | None = None,
    backend: str = "auto",
    precision: str = "fp16",
    landmarker_path: str | Path | None = None,
    num_threads: int | None = None,
    max_frames: int | None = None,
    realtime: bool = False,
    on_frame: ProgressCallback | None = None,
) -> PipelineBenchResult:
    """Run :meth:`WrinkleAnalyzer.analyze` + the overlay on every frame and time each stage.

    Args:
        source: a video file or a folder of images.
        model_path / backend / precision / landmarker_path / num_threads: as
            :class:`wds_edge.analysis.analyzer.AnalyzerConfig`.
        max_frames: stop after this many frames.
        realtime: treat a video file like a camera (frames the pipeline is too slow for
            are dropped and counted).
        on_frame: called as ``on_frame(frames_done, max_frames_or_None, status)`` per frame.
    """
    from wds_edge.analysis.analyzer import AnalyzerConfig, WrinkleAnalyzer
    from wds_edge.analysis.overlay import draw_overlay

    cfg = AnalyzerConfig(
        model_path=None if model_path is None else str(model_path),
        backend=backend,
        precision=precision,
        landmarker_path=None if landmarker_path is None else str(landmarker_path),
        video_mode=True,
        num_threads=num_threads,
    )
    stages = StageRecorder(PIPELINE_STAGES)
    statuses: dict[str, int] = {}
    frames = segmented = dropped = 0
    last_index = -1
    last_ts = -1
    with WrinkleAnalyzer(cfg) as analyzer:
        info = analyzer.model_info
        t_start = time.perf_counter()
        for image, index, grabbed_s, decode_ms in iter_bench_frames(source, realtime=realtime):
            t0 = time.perf_counter()
            stages.add("capture_age", max(0.0, (time.monotonic() - grabbed_s) * 1000.0))
            dropped += max(0, index - last_index - 1)
            last_index = index
            last_ts = max(last_ts + 1, int(index * 1000 / 30))
            result = analyzer.analyze(image, last_ts)
            t1 = time.perf_counter()
            draw_overlay(image, result)
            overlay_ms = (time.perf_counter() - t1) * 1000.0
            stages.add("decode", decode_ms)
            for name in ("landmarks", "quality", "crop_preprocess", "inference", "postprocess"):
                if name in result.timings_ms:
                    stages.add(name, result.timings_ms[name])
            stages.add("overlay", overlay_ms)
            stages.add("end_to_end", decode_ms + (time.perf_counter() - t0) * 1000.0)
            status = str(getattr(result.status, "value", result.status))
            statuses[status] = statuses.get(status, 0) + 1
            segmented += int(result.segmented)
            frames += 1
            if on_frame is not None:
                on_frame(frames, max_frames, status)
            if max_frames is not None and frames >= max_frames:
                break
        wall_s = time.perf_counter() - t_start
    if frames == 0:
        raise InvalidInputError(f"{source}: no frames could be read")
    return PipelineBenchResult(
        source=str(source),
        model=str(info.get("path")),
        backend=str(info.get("backend")),
        device=str(info.get("device")),
        frames=frames,
        segmented_frames=segmented,
        dropped_frames=dropped,
        wall_s=wall_s,
        stages=stages.summary(),
        status_counts=statuses,
    )
