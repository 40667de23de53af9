"""A kiosk session: feed camera frames, tell the person what to do, return one final result.

:class:`KioskSession` analyses every frame it is fed. Frames that fail a quality gate
produce a prompt for the UI ("move closer", "hold still", "look at the camera", "more
light", "no face"); frames that pass are segmented and kept. Once
``frames_needed`` good frames are collected (or ``max_frames`` frames were fed) the
session is done: the final result is the sharpest good frame's full analysis, with
scores smoothed over all good frames.

Smoothing: the **median** of each score over the good frames (default), because one
frame with a motion-smeared or mis-thresholded mask should not move the result, and a
median ignores it where a mean or an exponential moving average would not. The scores
of a still face vary little, so nothing is lost. ``smoothing="mean"`` is offered for
comparison.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.result import FrameResult, RegionScore
from wds_edge.errors import InvalidInputError, describe_validation_error
from wds_edge.perception.quality import FrameStatus

__all__ = [
    "SessionConfig",
    "SessionUpdate",
    "FinalResult",
    "KioskSession",
    "PROMPT_ANALYSING",
    "PROMPT_DONE",
    "smooth_scores",
]

logger = logging.getLogger(__name__)

#: Prompt while good frames are being collected.
PROMPT_ANALYSING = "analysing..."
#: Prompt once the session has its result.
PROMPT_DONE = "done"


class SessionConfig(BaseModel):
    """Settings of a :class:`KioskSession`.

    Attributes:
        frames_needed: good (quality-passing, segmented) frames to collect.
        max_frames: frames fed before the session gives up waiting and finishes with
            what it has (possibly nothing: see :attr:`FinalResult.complete`).
        smoothing: ``"median"`` (default, see the module docstring) or ``"mean"``.
        reset_after_bad_frames: this many bad frames in a row (e.g. the person walked
            away) drop the good frames collected so far; 0 never drops them.
    """

    model_config = ConfigDict(extra="forbid")

    frames_needed: int = Field(5, ge=1)
    max_frames: int = Field(90, ge=1)
    smoothing: Literal["median", "mean"] = "median"
    reset_after_bad_frames: int = Field(30, ge=0)


@dataclass
class SessionUpdate:
    """What one fed frame changed.

    Attributes:
        prompt: what the UI should show / say now.
        status: the frame's quality status.
        good_frames: good frames collected so far.
        done: the session has its result (:meth:`KioskSession.final_result`).
        result: the frame's :class:`FrameResult` (``None`` for frames fed after done).
    """

    prompt: str
    status: FrameStatus
    good_frames: int
    done: bool
    result: FrameResult | None = None


def smooth_scores(
    per_frame: list[dict[str, RegionScore]], method: str = "median"
) -> dict[str, RegionScore]:
    """Combine per-frame region scores field by field (median or mean; counts rounded).

    Args:
        per_frame: one ``{region: RegionScore}`` per good frame.
        method: ``"median"`` or ``"mean"``.

    Returns:
        ``{region: RegionScore}`` over the regions present in every frame; ``{}`` if none.
    """
    if method not in ("median", "mean"):
        raise InvalidInputError(f"smoothing must be 'median' or 'mean', got {method!r}")
    if not per_frame:
        return {}
    reduce = np.median if method == "median" else np.mean
    names = [n for n in per_frame[0] if all(n in s for s in per_frame)]
    out = {}
    for name in names:
        items = [s[name] for s in per_frame]

        def pick(attr: str, items: list[RegionScore] = items) -> float:
            return float(reduce([getattr(i, attr) for i in items]))

        mm = [i.total_length_mm for i in items]
        out[name] = RegionScore(
            area_px=int(round(pick("area_px"))),
            wrinkle_px=int(round(pick("wrinkle_px"))),
            wrinkle_ratio=pick("wrinkle_ratio"),
            wrinkle_count=int(round(pick("wrinkle_count"))),
            total_length_px=pick("total_length_px"),
            total_length_mm=None if any(v is None for v in mm) else float(reduce(mm)),
        )
    return out


@dataclass
class FinalResult:
    """The outcome of a session.

    Attributes:
        result: the sharpest good frame's full :class:`FrameResult` (mask, landmarks, ...),
            or the last frame's result when no frame was good (``None`` if nothing was fed).
        scores: smoothed scores over the good frames (``{}`` when there were none).
        frames_used: good frames the scores were smoothed over.
        frames_seen: frames fed.
        complete: ``frames_needed`` good frames were collected.
        smoothing: the method used.
    """

    result: FrameResult | None
    scores: dict[str, RegionScore]
    frames_used: int
    frames_seen: int
    complete: bool
    smoothing: str = "median"
    sharpness: list[float] = field(default_factory=list)

    @property
    def status(self) -> FrameStatus | None:
        return self.result.status if self.result is not None else None

    def to_dict(self, include_arrays: bool = False) -> dict[str, Any]:
        """JSON-ready dict: the chosen frame's result plus the smoothed scores."""
        return {
            "complete": self.complete,
            "frames_used": self.frames_used,
            "frames_seen": self.frames_seen,
            "smoothing": self.smoothing,
            "scores": {name: s.to_dict() for name, s in self.scores.items()},
            "frame": self.result.to_dict(include_arrays) if self.result is not None else None,
        }


class KioskSession:
    """Collect good frames from a camera and produce one smoothed result.

    Args:
        analyzer: a :class:`WrinkleAnalyzer` (the session does not close it; use
            ``video_mode=True`` for a camera).
        config: a :class:`SessionConfig` (``None``: defaults).
        on_prompt: called with the new prompt whenever it changes (UI callback).

    Example:
        >>> session = KioskSession(analyzer, on_prompt=ui.show)
        >>> for frame in source:
        ...     if session.feed(frame.image_bgr, frame.timestamp_ms).done:
        ...         break
        >>> final = session.final_result()
    """

    def __init__(
        self,
        analyzer: WrinkleAnalyzer,
        config: SessionConfig | None = None,
        on_prompt: Callable[[str], None] | None = None,
        **overrides: Any,
    ) -> None:
        try:
            base = dict(config) if config is not None else {}
            self.config = SessionConfig(**{**base, **overrides})
        except ValidationError as exc:
            raise InvalidInputError(describe_validation_error(exc, "session settings")) from None
        self.analyzer = analyzer
        self.on_prompt = on_prompt
        self.reset()

    def reset(self) -> None:
        """Forget every frame; start collecting again (e.g. for the next person)."""
        self._good: list[FrameResult] = []
        self._frames_seen = 0
        self._bad_streak = 0
        self._last: FrameResult | None = None
        self._prompt: str | None = None
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    @property
    def good_frames(self) -> int:
        return len(self._good)

    @property
    def prompt(self) -> str | None:
        """The prompt most recently shown."""
        return self._prompt

    def _announce(self, prompt: str) -> None:
        if prompt != self._prompt:
            self._prompt = prompt
            if self.on_prompt is not None:
                self.on_prompt(prompt)

    def feed(self, image_bgr: np.ndarray, timestamp_ms: int | None = None) -> SessionUpdate:
        """Analyse one frame and say what the UI should ask next.

        Frames fed after the session is done are not analysed (reset() to start over).

        Returns:
            A :class:`SessionUpdate`.
        """
        if self._done:
            status = self._last.status if self._last is not None else FrameStatus.NO_FACE
            return SessionUpdate(PROMPT_DONE, status, len(self._good), True, None)
        result = self.analyzer.analyze(image_bgr, timestamp_ms)
        self._frames_seen += 1
        self._last = result
        if result.status is FrameStatus.OK and result.segmented:
            self._good.append(result)
            self._bad_streak = 0
            prompt = PROMPT_ANALYSING
        else:
            self._bad_streak += 1
            limit = self.config.reset_after_bad_frames
            if limit and self._bad_streak >= limit and self._good:
                logger.info(
                    "%d bad frames in a row: dropping %d good frames", limit, len(self._good)
                )
                self._good.clear()
            prompt = result.prompt
        if len(self._good) >= self.config.frames_needed or (
            self._frames_seen >= self.config.max_frames
        ):
            self._done = True
            prompt = PROMPT_DONE
        self._announce(prompt)
        return SessionUpdate(prompt, result.status, len(self._good), self._done, result)

    def final_result(self) -> FinalResult:
        """The sharpest good frame's result with scores smoothed over all good frames.

        Callable at any time (before ``done`` it summarises what has been collected).
        """
        good = self._good
        chosen = max(good, key=lambda r: r.sharpness) if good else self._last
        return FinalResult(
            result=chosen,
            scores=smooth_scores([r.scores for r in good], self.config.smoothing),
            frames_used=len(good),
            frames_seen=self._frames_seen,
            complete=len(good) >= self.config.frames_needed,
            smoothing=self.config.smoothing,
            sharpness=[r.sharpness for r in good],
        )
