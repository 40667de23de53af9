"""Options and summary of a demo run: :class:`DemoConfig` (composed from the analyzer's own
:class:`~wds_edge.analysis.analyzer.AnalyzerConfig`) and :class:`DemoSummary`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wds_edge.analysis.analyzer import AnalyzerConfig

__all__ = ["DemoConfig", "DemoSummary"]


@dataclass
class DemoConfig:
    """Options of :func:`run_demo` (the CLI's ``wds-edge demo`` options).

    Attributes:
        source: camera index, ``v4l2:///dev/videoN``, ``csi://N``, ``rtsp://...`` or a video file.
        analyzer: the analyzer's settings (model, backend, precision, landmarker, threshold,
            quality gates, ...), one :class:`~wds_edge.analysis.analyzer.AnalyzerConfig`.
            The demo always runs it in video mode (tracking). Its ``num_threads`` None
            means: all cores with ``sync``; in the two-stage pipeline one core fewer than
            the machine has, so the locate stage keeps a core.
        headless: no window (record and/or write JSON lines instead).
        record_path: write the annotated frames as an mp4 (mp4v) or avi (MJPG) video,
            atomically; it plays in real time (see ``record_fps``).
        jsonl_path: write one JSON line per frame, atomically.
        max_frames: stop after this many frames (soak tests, CI); None runs until the end / q.
        realtime: emulate a camera on a file (drop frames the loop is too slow for);
            None: on for a window, off headless.
        sync: run the two stages one after the other on the display loop (``serial``);
            ``None`` / False: the two-stage pipeline (landmarks of the next frame while this
            one is segmented; :mod:`wds_edge.analysis.pipeline`). Either way every good
            frame is segmented and every frame read is shown (a camera's grabber drops the
            frames the loop is too slow for, counted in ``DemoSummary.pipeline``).
        loop: start a file over at its end (soak mode, with ``max_frames``).
        rotate: degrees clockwise every frame is turned by before it is analysed and shown
            (0, 90, 180, 270): a camera mounted on its side or upside down (90 for one on
            its left side, 270 on its right side).
        screenshot_path / screenshot_after_frames: save the displayed image once, after N
            frames; a run that ends before saves its last frame shown instead (and says so
            in ``DemoSummary.warnings``).
        snapshot_dir: where the ``s`` key saves frame + overlay PNGs + JSON.
        max_mask_age_frames: hide a mask older than this many frames.
        record_fps: frame rate of the recording (None: the source's, else 30). With a source
            that drops frames (a camera, a stream, ``realtime``) the recording is timed: each
            shown frame is repeated until the next one's capture time, so the file plays in
            real time at this rate.
        window_title: the window's title.
    """

    source: str | int = 0
    analyzer: AnalyzerConfig = field(default_factory=lambda: AnalyzerConfig(video_mode=True))
    headless: bool = False
    record_path: str | Path | None = None
    jsonl_path: str | Path | None = None
    max_frames: int | None = None
    realtime: bool | None = None
    sync: bool | None = None
    loop: bool = False
    rotate: int = 0
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
    #: Frames a stage failed on (shown with the error, recorded with ``"error"``), and
    #: captures whose frames could not be fused (ended as failed; also in ``warnings``).
    errors: int = 0
    #: ``two-stage`` or ``serial`` and the pipeline's frame counts (read, delivered,
    #: discarded at the end, errors, source gaps, frames the source skipped).
    pipeline_mode: str = ""
    pipeline: dict[str, int] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)
    snapshots: list[str] = field(default_factory=list)
    #: The capture sessions started from the keyboard, by expression, in order.
    sessions_started: list[str] = field(default_factory=list)
    session_result: dict[str, Any] | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    #: ``record_path``'s video: its ``fps``; ``timed`` (a source that drops frames: each
    #: shown frame is repeated until the next one's capture time, so the file plays in real
    #: time); ``video_frames`` in the file, of which ``repeated`` fill gaps; ``left_out``:
    #: shown frames early for their slot; ``gaps_cut``: gaps over 2 s shortened to 2 s.
    #: Empty without a recording.
    recording: dict[str, Any] = field(default_factory=dict)
    #: A video file stopped before its frame count (truncated): "N of M frames", else "".
    ended_early: str = ""
    #: Why the source failed for good (a camera that did not come back within
    #: ``max_lost_s``, a looped file without frames), else "".
    source_error: str = ""
    #: What the run did other than asked, one line each (also logged as warnings): e.g. a
    #: run that ended before ``screenshot_after_frames`` (its last frame is the screenshot),
    #: a snapshot (s key) that could not be saved, or a capture (space / b) whose frames
    #: could not be fused (the run goes on; a new capture can start).
    warnings: list[str] = field(default_factory=list)
    #: What stopped the run early: "SIGINT" (Ctrl-C), "SIGTERM", "KeyboardInterrupt";
    #: "" when the source ended, ``max_frames`` was reached or q / Esc was pressed.
    stopped_by: str = ""

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
