"""`bench pipeline`: the whole kiosk pipeline on a video or image folder, serial vs two-stage,
interleaved, every face frame segmented.

Each configuration (``serial`` or ``two-stage``, :data:`~wds_edge.analysis.pipeline.PIPELINE_MODES`,
optionally with its inference threads: ``two-stage:1``) gets its own analyzer (MediaPipe
video mode; ONNX Runtime's idle threads not spinning, so one configuration does not slow the
next). The frames are decoded in chunks of ``chunk_frames``; every chunk goes through every
configuration in turn, the order reversed every other chunk, so background load on a shared
machine hits all of them alike. Every frame whose gates pass is segmented; each frame's
overlay is drawn by the consumer, as a display would.

Per configuration:

* FPS over all frames, and face FPS: segmented frames / the wall time spent on them, each
  frame's share of the wall time being the time from the previous frame's output (overlay
  drawn) to its own, so a frame without a usable face (landmarks only) neither counts nor
  adds its time, and the figure does not depend on ``chunk_frames``;
* per-stage p50 / p90 (ms): ``decode`` (once per frame, before the configurations),
  ``landmarks`` and ``quality`` (the locate stage's parts), ``crop_preprocess``,
  ``inference``, ``postprocess`` (the segment stage's parts), ``overlay``, the stage wall
  times ``locate`` and ``segment``, and ``end_to_end``: from the frame's read to its overlay
  drawn (in the two-stage mode this includes the wait between the stages);
* how long the locate stage waited for the segment stage and the other way round (which
  stage limits the rate);
* ``identical``: frames whose status, mask and scores equal the first configuration's;
* ``threads``: the inference threads it ran with (its own ``:THREADS``, else
  ``num_threads``), or ``"default"`` (the backend's own choice), as every bench report
  writes them (:func:`~wds_edge.bench.model_bench.threads_label`).

:meth:`PipelineBenchResult.rows` puts the configurations side by side per stage (the
printed table); :meth:`PipelineBenchResult.csv_rows` is one row per configuration (the
CSV), so each row names the threads it ran with.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wds_edge._checks import is_digits
from wds_edge.bench.model_bench import threads_label
from wds_edge.bench.stats import LatencyStats, StageRecorder, summarize_ms
from wds_edge.errors import InvalidInputError
from wds_edge.progress import ProgressCallback

__all__ = [
    "PIPELINE_STAGES",
    "ModeFigures",
    "PipelineBenchResult",
    "bench_pipeline",
    "iter_bench_frames",
    "parse_modes",
]

logger = logging.getLogger(__name__)

PIPELINE_STAGES = (
    "landmarks",
    "quality",
    "locate",
    "crop_preprocess",
    "inference",
    "postprocess",
    "segment",
    "overlay",
    "end_to_end",
)
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def parse_modes(specs: Sequence[str]) -> list[tuple[str, int | None]]:
    """``["serial", "two-stage:1"]`` -> ``[("serial", None), ("two-stage", 1)]``.

    Raises:
        InvalidInputError: an unknown mode, a bad thread count, a duplicate, or none.
    """
    from wds_edge.analysis.pipeline import PIPELINE_MODES

    out: list[tuple[str, int | None]] = []
    for spec in specs:
        mode, _, threads = spec.strip().lower().partition(":")
        if mode not in PIPELINE_MODES:
            raise InvalidInputError(
                f"unknown pipeline mode {spec!r}; choose from {', '.join(PIPELINE_MODES)} "
                "(optionally with inference threads, e.g. two-stage:1)"
            )
        if threads and (not is_digits(threads) or int(threads) < 1):
            raise InvalidInputError(f"{spec!r}: the threads after ':' must be a number >= 1")
        entry = (mode, int(threads) if threads else None)
        if entry in out:
            raise InvalidInputError(f"{spec!r} is listed twice")
        out.append(entry)
    if not out:
        raise InvalidInputError("no pipeline modes: pass e.g. --modes serial,two-stage")
    return out


@dataclass
class ModeFigures:
    """One configuration's figures over the whole run."""

    label: str
    mode: str
    threads: int | None
    frames: int = 0
    segmented: int = 0
    errors: int = 0
    wall_s: float = 0.0
    face_frames: int = 0
    face_wall_s: float = 0.0
    identical: int = 0
    waits_ms: dict[str, float] = field(default_factory=dict)
    stages: dict[str, LatencyStats] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def face_fps(self) -> float | None:
        return self.face_frames / self.face_wall_s if self.face_wall_s > 0 else None

    def summary_row(self) -> dict[str, Any]:
        face = self.face_fps
        return {
            "config": self.label,
            "threads": threads_label(self.threads),
            "frames": self.frames,
            "segmented": self.segmented,
            "FPS": round(self.fps, 2),
            "face FPS": None if face is None else round(face, 2),
            "errors": self.errors,
            "same results": self.identical,
        }

    def to_dict(self) -> dict[str, Any]:
        face = self.face_fps
        return {
            "label": self.label,
            "mode": self.mode,
            "threads": threads_label(self.threads),
            "frames": self.frames,
            "segmented_frames": self.segmented,
            "errors": self.errors,
            "wall_s": round(self.wall_s, 3),
            "fps": round(self.fps, 3),
            "face_frames": self.face_frames,
            "face_wall_s": round(self.face_wall_s, 3),
            "face_fps": None if face is None else round(face, 3),
            "identical_to_first": self.identical,
            "waits_ms": {k: round(v, 1) for k, v in self.waits_ms.items()},
            "stages_ms": {k: v.to_dict() for k, v in self.stages.items()},
        }


@dataclass
class PipelineBenchResult:
    """Per-configuration figures of one interleaved run (see the module docstring)."""

    source: str
    model: str
    backend: str
    precision: str
    device: str
    frames: int
    chunk_frames: int
    decode: LatencyStats
    modes: list[ModeFigures]
    status_counts: dict[str, int] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        """One row per stage, the configurations' p50 / p90 side by side (``decode`` is
        shared: :attr:`decode`)."""
        rows = []
        for name in PIPELINE_STAGES:
            row: dict[str, Any] = {"stage": name}
            for m in self.modes:
                st = m.stages.get(name)
                row[f"{m.label} p50"] = None if st is None else round(st.p50_ms, 2)
                row[f"{m.label} p90"] = None if st is None else round(st.p90_ms, 2)
            rows.append(row)
        return rows

    def csv_rows(self) -> list[dict[str, Any]]:
        """One row per configuration: its label, mode, threads, frame counts, FPS and
        every stage's p50 / p90 (ms; empty where the stage did not run)."""
        rows = []
        for m in self.modes:
            face = m.face_fps
            row: dict[str, Any] = {
                "config": m.label,
                "mode": m.mode,
                "threads": threads_label(m.threads),
                "frames": m.frames,
                "segmented_frames": m.segmented,
                "errors": m.errors,
                "fps": round(m.fps, 3),
                "face_fps": None if face is None else round(face, 3),
                "identical_to_first": m.identical,
            }
            for name in PIPELINE_STAGES:
                st = m.stages.get(name)
                row[f"{name}_p50_ms"] = None if st is None else round(st.p50_ms, 2)
                row[f"{name}_p90_ms"] = None if st is None else round(st.p90_ms, 2)
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "model": self.model,
            "backend": self.backend,
            "precision": self.precision,
            "device": self.device,
            "frames": self.frames,
            "chunk_frames": self.chunk_frames,
            "status_counts": self.status_counts,
            "decode_ms": self.decode.to_dict(),
            "modes": [m.to_dict() for m in self.modes],
        }


def iter_bench_frames(
    source: str | Path, *, realtime: bool = False
) -> Iterator[tuple[Any, int, float, float]]:
    """Yield ``(image_bgr, frame_index, capture_time_s, decode_ms)`` from a video or folder.

    A folder yields its images in name order (decode = :func:`wds_edge.io.read_image`).

    Raises:
        InvalidInputError: an empty folder; CaptureError: a video that cannot be opened.
    """
    from wds_edge.capture.sources import local_path, open_source

    path = Path(local_path(source))  # a file:// URL's folder is a folder too
    if path.is_dir():
        from wds_edge.io import read_image

        files = sorted(
            p for p in path.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES and p.is_file()
        )
        decoded = 0
        for i, file in enumerate(files):
            grabbed = time.monotonic()
            t0 = time.perf_counter()
            try:
                image = read_image(file)
            except InvalidInputError as exc:  # a stray ._x.jpg or an empty file: not a frame
                logger.warning("skipping %s", exc)
                continue
            decoded += 1
            yield image, i, grabbed, (time.perf_counter() - t0) * 1000.0
        if not decoded:
            raise InvalidInputError(
                f"{path}: no readable images ({', '.join(sorted(_IMAGE_SUFFIXES))}) in this folder"
            )
        return
    with open_source(str(source), realtime=realtime) as frames:
        while True:
            t0 = time.perf_counter()
            frame = frames.read()
            decode_ms = (time.perf_counter() - t0) * 1000.0
            if frame is None:
                return
            yield frame.image_bgr, int(frame.index), frame.capture_time_s, decode_ms


class _ChunkSource:
    """Already decoded frames as a pipeline source (``read()`` until they run out)."""

    finished = True

    def __init__(self, frames: list[Any]) -> None:
        self._frames, self._next = frames, 0

    def read(self) -> Any:
        if self._next >= len(self._frames):
            return None
        self._next += 1
        return self._frames[self._next - 1]


def _chunks(source: str | Path, size: int, max_frames: int | None) -> Iterator[list[Any]]:
    """Decoded frames in lists of ``size`` (``Frame`` objects; decode time in ``.decode_ms``)."""
    from wds_edge.capture.frame import Frame

    chunk: list[Any] = []
    for count, (image, index, _grabbed, decode_ms) in enumerate(iter_bench_frames(source), 1):
        frame = Frame(image, index, time.monotonic(), int(index * 1000 / 30))
        chunk.append((frame, decode_ms))
        if len(chunk) == size:
            yield chunk
            chunk = []
        if max_frames is not None and count >= max_frames:
            break
    if chunk:
        yield chunk


def _same(a: Any, b: Any) -> bool:
    """Two results of one frame agree: status, mask (bit for bit) and scores."""
    if a is None or b is None or a.status != b.status or a.segmented != b.segmented:
        return False
    if a.wrinkle_mask is not None and not np.array_equal(a.wrinkle_mask, b.wrinkle_mask):
        return False
    return {k: v.to_dict() for k, v in a.scores.items()} == {
        k: v.to_dict() for k, v in b.scores.items()
    }


class _Runner:
    """One configuration: its analyzer, recorder and totals."""

    def __init__(self, label: str, mode: str, threads: int | None, cfg: Any) -> None:
        from wds_edge.analysis.analyzer import WrinkleAnalyzer

        self.figures = ModeFigures(label, mode, threads)
        self.analyzer = WrinkleAnalyzer(cfg.model_copy(update={"num_threads": threads}))
        self.stages = StageRecorder(PIPELINE_STAGES)

    def run(self, frames: list[Any]) -> list[Any]:
        """Every frame of a chunk through the pipeline; the results in order."""
        from wds_edge.analysis.overlay import draw_overlay
        from wds_edge.analysis.pipeline import FramePipeline, analyzer_stages

        locate, segment = analyzer_stages(self.analyzer)
        results: list[Any] = []
        figures = self.figures
        t0 = time.perf_counter()
        last = t0  # when the previous frame's overlay was drawn
        face_wall_s = 0.0
        with FramePipeline(_ChunkSource(frames), locate, segment, mode=figures.mode) as pipeline:
            for out in pipeline:
                result = out.result
                t1 = time.perf_counter()
                if result is not None:
                    draw_overlay(out.frame.image_bgr, result)
                self.stages.add("overlay", (time.perf_counter() - t1) * 1000.0)
                self.stages.add("end_to_end", (time.perf_counter() - out.started_s) * 1000.0)
                for name in ("locate", "segment"):
                    if name in out.stage_ms:
                        self.stages.add(name, out.stage_ms[name])
                if result is not None:
                    for name in ("landmarks", "quality", "crop_preprocess", "inference"):
                        if name in result.timings_ms:
                            self.stages.add(name, result.timings_ms[name])
                    if "postprocess" in result.timings_ms:
                        self.stages.add("postprocess", result.timings_ms["postprocess"])
                results.append(result)
                now = time.perf_counter()
                if result is not None and result.segmented:  # this frame's share of the wall
                    face_wall_s += now - last
                last = now
            wall_s = time.perf_counter() - t0
            counts, waits = pipeline.counts, dict(pipeline.waits_ms)
        figures.frames += len(results)
        figures.segmented += sum(bool(r is not None and r.segmented) for r in results)
        figures.errors += counts.errors
        figures.wall_s += wall_s
        figures.face_frames += sum(bool(r is not None and r.segmented) for r in results)
        figures.face_wall_s += face_wall_s
        for name, ms in waits.items():
            figures.waits_ms[name] = figures.waits_ms.get(name, 0.0) + ms
        return results

    def close(self) -> None:
        self.figures.stages = self.stages.summary()
        self.analyzer.close()


def bench_pipeline(
    source: str | Path,
    *,
    model_path: str | Path | None = None,
    backend: str = "auto",
    precision: str = "auto",
    landmarker_path: str | Path | None = None,
    num_threads: int | None = None,
    modes: Sequence[str] = ("serial", "two-stage"),
    chunk_frames: int = 30,
    max_frames: int | None = None,
    on_frame: ProgressCallback | None = None,
    device: str | int | None = None,
) -> PipelineBenchResult:
    """Run every frame of ``source`` through each configuration, interleaved by chunks.

    Args:
        source: a video file or a folder of images.
        model_path / backend / precision / landmarker_path: as
            :class:`wds_edge.analysis.analyzer.AnalyzerConfig`.
        num_threads: inference threads of a configuration that does not name its own.
        modes: ``serial`` / ``two-stage`` entries, each optionally ``:THREADS``
            (:func:`parse_modes`); the first is the reference of ``identical``.
        chunk_frames: frames decoded and run through every configuration in turn.
        max_frames: stop after this many frames.
        on_frame: called as ``on_frame(frames_done, max_frames_or_None, "")`` per chunk.
        device: as :class:`~wds_edge.analysis.analyzer.AnalyzerConfig` (an OpenVINO device,
            a CUDA index; None: the backend's default).

    Raises:
        InvalidInputError: bad modes / chunk size, or a source without frames.
    """
    from wds_edge.analysis.analyzer import AnalyzerConfig

    entries = parse_modes(modes)
    if chunk_frames < 1:
        raise InvalidInputError(f"chunk_frames must be >= 1, got {chunk_frames}")
    cfg = AnalyzerConfig(
        model_path=None if model_path is None else str(model_path),
        backend=backend,
        precision=precision,
        device=device,
        landmarker_path=None if landmarker_path is None else str(landmarker_path),
        video_mode=True,
        spin_wait=False,  # configurations take turns: no idle thread spins into the next
    )
    labels = [m if t is None else f"{m}:{t}" for m, t in entries]
    runners: list[_Runner] = []
    statuses: dict[str, int] = {}
    decode_ms: list[float] = []
    frames = 0
    try:
        for (mode, threads), label in zip(entries, labels, strict=True):
            runners.append(_Runner(label, mode, threads or num_threads, cfg))
        info = runners[0].analyzer.model_info
        for i, chunk in enumerate(_chunks(source, chunk_frames, max_frames)):
            decode_ms.extend(d for _, d in chunk)
            chunk_frames_only = [f for f, _ in chunk]
            order = list(range(len(runners)))
            results = {}
            for k in order if i % 2 == 0 else reversed(order):
                results[k] = runners[k].run(chunk_frames_only)
            for k in order[1:]:
                runners[k].figures.identical += sum(
                    _same(a, b) for a, b in zip(results[0], results[k], strict=True)
                )
            runners[0].figures.identical += len(results[0])
            for r in results[0]:
                status = "error" if r is None else str(getattr(r.status, "value", r.status))
                statuses[status] = statuses.get(status, 0) + 1
            frames += len(chunk)
            if on_frame is not None:
                on_frame(frames, max_frames, "")
    finally:
        for runner in runners:
            runner.close()
    if frames == 0:
        raise InvalidInputError(f"{source}: no frames could be read")
    return PipelineBenchResult(
        source=str(source),
        model=str(info.get("path")),
        backend=str(info.get("backend")),
        precision=str(info.get("precision")),
        device=str(info.get("device")),
        frames=frames,
        chunk_frames=chunk_frames,
        decode=summarize_ms(decode_ms),
        modes=[r.figures for r in runners],
        status_counts=statuses,
    )
