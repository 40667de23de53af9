"""`bench repeatability`: how much do the scores of one still person move? (issue 21)

A clip of one person is split into ``sessions`` consecutive parts; each part is one kiosk
capture (:class:`~wds_edge.analysis.session.KioskSession`, its fused result). Every good
frame is also segmented on its own. Reported per region:

* ``frame_cv``: the CV (sd / mean) of the per-frame wrinkle ratios over all good frames
  (what a per-frame number on the screen does);
* ``session_*``: mean, sd, CV and spread ((max - min) / mean) of the FUSED session scores
  (what a person gets from two visits seconds apart);
* ``legacy_spread``: the same spread for the session score before issue 21 (the median of
  the first five good frames' scores, regions without the exclusion zones, "overall" over
  the whole in-frame crop), computed from the same probability maps;
* ``running``: the CV of the running fused score a live screen shows
  (:class:`~wds_edge.analysis.running.RunningScore`) over the good frames, and the median
  and largest CV over one-second stretches (``None``: fewer good frames than one second,
  so no stretch to measure); for several window lengths.

The report's ``session_config`` is what every capture ran with (``reset_after_bad_frames``
0: a part is one person); each session's entry holds its own ``session_config``, whose
``max_frames`` is the part's length.

``session_sd`` / ``session_cv`` and ``frame_sd`` / ``frame_cv`` are what
:func:`wds_edge.analysis.compare.compare_results` turns into a minimal detectable change.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.final import score_spread, smooth_scores
from wds_edge.analysis.live import is_file_source
from wds_edge.analysis.result import FrameResult, RegionScore
from wds_edge.analysis.running import RUNNING_WINDOW, RunningScore
from wds_edge.analysis.scoring import score_regions
from wds_edge.analysis.session import KioskSession, SessionConfig
from wds_edge.bench.report import write_figure_png
from wds_edge.capture.sources import local_path, open_source, require_local_source
from wds_edge.errors import InvalidInputError
from wds_edge.perception.regions import region_masks

__all__ = [
    "RepeatabilityReport",
    "bench_repeatability",
    "check_repeatability_inputs",
    "write_repeatability_plot",
]


#: Frames in the legacy session score (the median of five).
_LEGACY_FRAMES = 5


@dataclass
class RepeatabilityReport:
    """Per-region repeatability of one clip (see the module docstring)."""

    source: str
    sessions: list[dict[str, Any]]
    regions: dict[str, dict[str, float]]
    running: dict[str, float | None]
    running_by_window: dict[str, dict[str, float | None]]
    frames: dict[str, int]
    session_config: dict[str, Any]
    model: dict[str, Any]
    timings_s: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "repeatability",
            "source": self.source,
            "model": self.model,
            "session_config": self.session_config,
            "frames": self.frames,
            "sessions": self.sessions,
            "regions": self.regions,
            "running": self.running,
            "running_by_window": self.running_by_window,
            "timings_s": self.timings_s,
        }


def _legacy_scores(result: FrameResult) -> dict[str, RegionScore]:
    """The scores before issue 21: bare region polygons, "overall" = in-frame crop."""
    crop = result.face_crop
    regions = {
        n: m & crop.in_frame for n, m in region_masks(crop.landmarks_crop_px, crop.size_px).items()
    }  # type: ignore[union-attr]
    return score_regions(result.wrinkle_mask, regions, result.mm_per_px, overall_mask=crop.in_frame)  # type: ignore[union-attr, arg-type]


def _shared_config(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    """The settings every session ran with (``reset_after_bad_frames`` 0); ``max_frames``,
    each part's length, differs and stands in each session's own ``session_config``."""
    return {k: v for k, v in sessions[0]["session_config"].items() if k != "max_frames"}


def _spread(values: list[float]) -> float:
    mean = float(np.mean(values)) if values else 0.0
    return (max(values) - min(values)) / mean if mean > 0 else 0.0


def _running_stats(series: list[float], fps: float) -> dict[str, float | None]:
    """The running score's CV over the good frames, and its largest / median CV over any
    one-second stretch of them: ``None`` when the good frames are fewer than one second's
    (there is no stretch to measure, which is not a steady score)."""
    values = np.asarray(series, np.float64)
    window = max(2, int(round(fps)))
    fits = values.size >= window
    stats: dict[str, float | None] = {
        "cv": 0.0,
        "max_window_cv": 0.0 if fits else None,
        "median_window_cv": 0.0 if fits else None,
        "window_frames": float(window),
        "frames": float(values.size),
    }
    if values.size < 2 or values.mean() <= 0:
        return stats
    cvs = [
        float(values[i : i + window].std(ddof=1) / values[i : i + window].mean())
        for i in range(0, values.size - window + 1)
        if values[i : i + window].mean() > 0
    ]
    stats["cv"] = float(values.std(ddof=1) / values.mean())
    if cvs:
        stats["max_window_cv"], stats["median_window_cv"] = max(cvs), float(np.median(cvs))
    return stats


def _check_session_length(
    source: str | Path, total: int, sessions: int, shortest: int, config: SessionConfig
) -> None:
    """Refuse ``total`` frames cut into ``sessions`` parts whose ``shortest`` holds fewer
    frames than a capture fuses."""
    if shortest < config.frames_fused:
        raise InvalidInputError(
            f"{source}: {total} frames in {sessions} sessions leave a session only "
            f"{shortest} frames, fewer than the {config.frames_fused} it fuses; use fewer "
            "sessions, a longer clip, or a smaller frames_fused"
        )


def check_repeatability_inputs(
    source: str | Path, sessions: int = 3, session_config: SessionConfig | None = None
) -> None:
    """What :func:`bench_repeatability` refuses before a frame is analysed, checked without
    a model or landmarker (``bench repeatability`` runs it before its ``--out`` is made).

    The frame count a video's container declares (a folder's image count) is at least what
    its decoder returns, so a clip it leaves too short for ``sessions`` captures of
    ``frames_fused`` frames each is refused here; one that only looks long enough is counted
    again when the clip is read.

    Raises:
        InvalidInputError: fewer than 2 sessions, a camera or stream, a path that does not
            exist, too few frames for the sessions.
        CaptureError: the video cannot be opened.
    """
    if sessions < 2:
        raise InvalidInputError(
            f"--sessions must be at least 2 to measure a spread, got {sessions}"
        )
    if not is_file_source(source):
        raise InvalidInputError(
            f"{source} is a camera or stream, which never ends: record the person first "
            "(e.g. `wds-edge demo --source 0 --record clip.mp4`) and pass the file"
        )
    require_local_source(source)
    with open_source(Path(local_path(source))) as src:
        declared = getattr(src, "expected_frames", None)
        if declared is None and hasattr(src, "paths"):
            declared = len(src.paths)  # a folder or glob of frames
    if declared is None:
        return
    if declared < sessions:
        raise InvalidInputError(f"{source}: {declared} frames cannot make {sessions} sessions")
    # the shortest of equal parts is at most declared // sessions frames long
    config = session_config if session_config is not None else SessionConfig()
    _check_session_length(source, declared, sessions, declared // sessions, config)


def bench_repeatability(
    analyzer: WrinkleAnalyzer,
    source: str | Path,
    sessions: int = 3,
    session_config: SessionConfig | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    running_windows: tuple[int, ...] = (1, 4, 8, RUNNING_WINDOW, 16),
) -> RepeatabilityReport:
    """Split a clip of one person into sessions and measure how its scores repeat.

    Args:
        analyzer: an open :class:`WrinkleAnalyzer` (``video_mode=True`` for a clip).
        source: a video file of ONE person (or a folder / glob of their frames).
        sessions: consecutive parts of the clip, one capture each (>= 2).
        session_config: each capture's settings; ``max_frames`` is set to the part's length
            and ``reset_after_bad_frames`` to 0 (a part is one person by construction).
        progress: called with (frames done, total or None).
        running_windows: window lengths of the running score to measure (``running`` holds
            the default window's figures, ``running_by_window`` every length's).

    Returns:
        :class:`RepeatabilityReport`.

    Raises:
        InvalidInputError: what :func:`check_repeatability_inputs` refuses, or a part
            without a usable frame.
        CaptureError: the source cannot be opened.
    """
    start = time.perf_counter()
    check_repeatability_inputs(source, sessions, session_config)
    # Parts hold equal numbers of usable frames (a clip that ends in blur or an empty scene
    # must not leave its last session without a face): a first pass finds them. The clip is
    # decoded twice rather than held in memory (a minute of 1080p is ~11 GB of frames).
    usable, total = [], 0
    with open_source(Path(local_path(source))) as src:
        fps = float(getattr(src, "fps", 0) or 30.0)
        for i, f in enumerate(src):
            total += 1
            if analyzer.locate(f.image_bgr, f.timestamp_ms).ok:
                usable.append(i)
    if total < sessions:
        raise InvalidInputError(f"{source}: {total} frames cannot make {sessions} sessions")
    base = dict(session_config) if session_config is not None else {}
    if len(usable) < sessions:
        raise InvalidInputError(
            f"{source}: {len(usable)} usable frames cannot make {sessions} sessions"
        )
    cuts = [usable[round(k * len(usable) / sessions)] for k in range(1, sessions)]
    bounds = np.array([0, *cuts, total])
    _check_session_length(
        source, total, sessions, int(np.diff(bounds).min()), SessionConfig(**base)
    )
    windows = sorted({int(w) for w in running_windows} | {RUNNING_WINDOW})
    runners = {w: RunningScore(analyzer, window=w) for w in windows}
    series: dict[int, list[float]] = {w: [] for w in windows}
    per_frame: list[dict[str, RegionScore]] = []
    legacy_frames: list[dict[str, RegionScore]] = []
    out_sessions = []
    done = 0
    with open_source(Path(local_path(source))) as second:
        frames = iter(second)
        for k in range(sessions):
            part = itertools.islice(frames, int(bounds[k + 1] - bounds[k]))
            # One person by construction: blurred / empty stretches must not drop the frames.
            length = int(bounds[k + 1] - bounds[k])
            config = SessionConfig(**{**base, "max_frames": length, "reset_after_bad_frames": 0})
            session = KioskSession(analyzer, config)
            good: list[FrameResult] = []
            for frame in part:
                located = analyzer.locate(frame.image_bgr, frame.timestamp_ms)
                session.feed_located(located)
                if located.ok:
                    seg = analyzer.segment(None, located)
                    good.append(seg)
                    for w, runner in runners.items():
                        series[w].append(runner.add(seg).scores["overall"].wrinkle_ratio)
                else:
                    for runner in runners.values():
                        runner.reset()
                done += 1
                if progress is not None:
                    progress(done, total)
            final = session.final_result()
            if not final.ok:
                raise InvalidInputError(
                    f"session {k + 1} (frames {bounds[k]}-{bounds[k + 1] - 1}) has no usable frame "
                    f"({final.status}): give a clip where the person is in view throughout"
                )
            per_frame += [g.scores for g in good]
            legacy = [_legacy_scores(g) for g in good]
            legacy_frames += legacy
            out_sessions.append(
                {
                    "frames": [int(bounds[k]), int(bounds[k + 1] - 1)],
                    "session_config": config.model_dump(),  # what this capture ran with
                    "good_frames": len(good),
                    "fused": {n: s.wrinkle_ratio for n, s in final.scores.items()},
                    "frames_used": final.frames_used,
                    "warnings": final.warnings,
                    "legacy_median5": {
                        n: s.wrinkle_ratio
                        for n, s in smooth_scores(legacy[:_LEGACY_FRAMES], "median").items()
                    },
                    "skin_median5": {
                        n: s.wrinkle_ratio
                        for n, s in smooth_scores([g.scores for g in good[:_LEGACY_FRAMES]]).items()
                    },
                    "timings_ms": final.timings_ms,
                }
            )
    frame_stats = score_spread(per_frame)
    legacy_stats = score_spread(legacy_frames)
    regions = {}
    for name, stats in frame_stats.items():
        fused = [s["fused"][name] for s in out_sessions]
        legacy = [s["legacy_median5"][name] for s in out_sessions]
        skin5 = [s["skin_median5"][name] for s in out_sessions]
        mean = float(np.mean(fused))
        sd = float(np.std(fused, ddof=1))
        regions[name] = {
            "frame_mean": stats["mean"],
            "frame_sd": stats["sd"],
            "frame_cv": stats["cv"],
            "legacy_frame_cv": legacy_stats[name]["cv"],
            "session_mean": mean,
            "session_sd": sd,
            "session_cv": sd / mean if mean > 0 else 0.0,
            "session_spread": _spread(fused),
            "legacy_spread": _spread(legacy),
            "skin_median5_spread": _spread(skin5),
        }
    return RepeatabilityReport(
        source=str(source),
        sessions=out_sessions,
        regions=regions,
        running={**_running_stats(series[RUNNING_WINDOW], fps), "window": float(RUNNING_WINDOW)},
        running_by_window={str(w): _running_stats(series[w], fps) for w in windows},
        frames={"total": total, "usable": len(usable), "good": len(per_frame)},
        session_config=_shared_config(out_sessions),
        model=analyzer.model_info,
        timings_s={"total": time.perf_counter() - start},
    )


def write_repeatability_plot(report: RepeatabilityReport, path: str | Path) -> Path | None:
    """Grouped bars per region: per-frame CV, fused session spread, legacy session spread
    (percent). Returns None when matplotlib is absent."""
    names = list(report.regions)
    series = [
        ("per-frame CV", "frame_cv", "#bbbbbb"),
        ("median of 5, before (spread)", "legacy_spread", "#cc6677"),
        ("fused session (spread)", "session_spread", "#4477aa"),
    ]

    def draw(ax: Any) -> None:
        width = 0.27
        for i, (label, key, colour) in enumerate(series):
            values = [100 * report.regions[n][key] for n in names]
            xs = [j + (i - 1) * width for j in range(len(names))]
            ax.bar(xs, values, width, label=label, color=colour)
        ax.axhline(5, color="#228833", linestyle="--", linewidth=1)
        ax.axhline(15, color="#ccbb44", linestyle=":", linewidth=1)
        ax.set_xticks(range(len(names)), names, rotation=25, ha="right", fontsize=8)
        ax.set_ylabel("% of the mean")
        ax.set_title(f"repeatability: {Path(report.source).name}, {len(report.sessions)} sessions")
        ax.legend(fontsize=8)

    return write_figure_png(path, (9, 4.5), draw)
