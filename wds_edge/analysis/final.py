"""The outcome of a capture (a kiosk session or a video file) as a value: one fused result.

:class:`FinalResult` holds the fused wrinkle probability map, its mask and scores (inside
``result``, a :class:`FrameResult` of the reference frame), the frames used and those
refused by status, the spread of the per-frame scores over the frames used, and the
expression of the face. Like a frame's result it turns into JSON; a capture with no usable
frame is a status (``no_face``, ``too_blurry``, ...), never an exception.

:func:`smooth_scores` is the former session score (median of per-frame scores), kept for
comparisons (``bench repeatability``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wds_edge.analysis.result import (
    FrameResult,
    RegionScore,
    _clean,
    _expression,
    _flag,
    _names,
    _number,
    _numbers,
    _optional,
    _read_key,
    _refuse_error_outcome,
    _scores,
    _shown,
    _table,
    _timestamp,
)
from wds_edge.errors import InvalidInputError
from wds_edge.perception.expression import CAPTURE_EXPRESSIONS
from wds_edge.perception.quality import FrameStatus

__all__ = [
    "FinalResult",
    "UsedFrame",
    "score_spread",
    "smooth_scores",
    "NO_FRAMES",
    "DROP_REASONS",
]

#: Status of a capture that was fed no frame at all (an empty or unreadable clip).
NO_FRAMES = "no_frames"
#: Why a good frame was not fused (:attr:`FinalResult.dropped`'s keys, always all present).
DROP_REASONS = ("landmarks", "expression", "not_chosen")


@dataclass(frozen=True)
class UsedFrame:
    """One frame that went into a fused result.

    Attributes:
        index: the frame's number in the capture (0 = the first frame fed).
        timestamp_ms: its timestamp, when given.
        sharpness: the quality gate's sharpness measure (what ``min_sharpness`` is compared
            with; a face narrower than 256 px is measured at its own size, so this is not
            what the session ranked frames by: that is the frame's ``sharpness_ranked``).
        misfit_mm: its landmarks' misfit to the median landmarks of the group it was
            fused with (the chosen group of frames, not every frame the capture saw; mm).
        expression: its expression scores (``smile``, ``brow_raise``, ``frown``).
    """

    index: int
    timestamp_ms: int | None
    sharpness: float
    misfit_mm: float
    expression: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "timestamp_ms": _clean(self.timestamp_ms),
            "sharpness": round(float(self.sharpness), 3),
            "misfit_mm": round(float(self.misfit_mm), 4),
            "expression": {k: round(float(v), 4) for k, v in self.expression.items()}
            if self.expression
            else None,
        }


def score_spread(per_frame: Sequence[Mapping[str, RegionScore]]) -> dict[str, dict[str, float]]:
    """Spread of the per-frame wrinkle ratios, per region.

    Args:
        per_frame: one ``{region: RegionScore}`` per frame.

    Returns:
        ``{region: {"mean", "sd", "cv", "min", "max"}}`` over the frames (ratios in [0, 1];
        ``sd`` with ``ddof=1``, 0 for one frame; ``cv = sd / mean``, 0 when the mean is 0).
    """
    if not per_frame:
        return {}
    names = [n for n in per_frame[0] if all(n in s for s in per_frame)]
    out = {}
    for name in names:
        values = np.array([s[name].wrinkle_ratio for s in per_frame], dtype=np.float64)
        mean = float(values.mean())
        sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
        out[name] = {
            "mean": mean,
            "sd": sd,
            "cv": sd / mean if mean > 0 else 0.0,
            "min": float(values.min()),
            "max": float(values.max()),
        }
    return out


def smooth_scores(
    per_frame: list[dict[str, RegionScore]], method: str = "median"
) -> dict[str, RegionScore]:
    """Combine per-frame region scores field by field (median or mean; counts rounded).

    The session score before issue 21 (the median of five per-frame scores); the fused
    score replaced it. Kept to measure the difference.

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
            removed_px=int(round(pick("removed_px"))),
        )
    return out


@dataclass
class FinalResult:
    """The fused outcome of a capture (see the module docstring).

    Attributes:
        status: ``"ok"`` when frames were fused; otherwise the commonest status of the
            refused frames (``"no_face"``, ``"too_blurry"``, ...) or ``"no_frames"``.
        result: the reference frame's :class:`FrameResult` carrying the FUSED probability
            map, mask and scores (crop space of that frame), or the last frame's result
            when nothing was fused (``None`` if nothing was fed).
        scores: the fused scores (``result.scores``; ``{}`` when nothing was fused).
        frames_used: frames fused.
        frames_seen: frames fed.
        complete: as many frames were fused as the capture asked for.
        used: the fused frames (:class:`UsedFrame`).
        refused: ``{status: frames}`` of frames the quality gates refused.
        dropped: frames that passed the gates, were not set aside (``frames_reset``) and
            were not fused, by reason (:data:`DROP_REASONS`, every key present, 0 when
            none): ``"landmarks"``: misfit beyond the tolerance; ``"expression"``: without
            the asked expression while frames with it were fused (0 when the least
            expressive frames were fused); ``"not_chosen"``: fit, but not among the
            ``frames_fused`` chosen (e.g. 50 of the 60 good frames when the 10 sharpest
            are fused). Every frame fed is counted once:
            ``frames_seen == frames_used + sum(refused.values()) + sum(dropped.values())
            + frames_reset`` (a result written before ``"not_chosen"`` was counted reads
            back without it).
        frames_reset: frames that passed the gates but were set aside and not fused:
            set aside when ``reset_after_bad_frames`` refused frames came in a row (the
            person walked away) or when a good frame's face differed from the previous
            one's (another person, ``face_change_mm``). When no good frame came after the
            last group set aside, that group is fused and not counted here; groups set
            aside before it still are (two resets: the first group's frames).
        spread: :func:`score_spread` of the fused frames' own scores.
        expression: mean expression scores of the fused frames.
        warnings: e.g. ``"not_neutral"`` (no neutral frame came: the least expressive
            frames were fused) or ``"brows_not_raised"`` (a ``raise_brows`` capture fused
            frames without raised brows).
        timings_ms: ``segment`` (all fused frames), ``fuse``, ``score``; a video file's
            (:func:`~wds_edge.analysis.video.analyze_video`) also ``total``, the wall time
            of the whole file's analysis (every frame read and checked included).
        capture: what the capture asked of the face: ``"neutral"`` or ``"raise_brows"``
            (scores of the two kinds are not comparable).
    """

    status: str
    result: FrameResult | None
    scores: dict[str, RegionScore]
    frames_used: int
    frames_seen: int
    complete: bool
    used: list[UsedFrame] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    spread: dict[str, dict[str, float]] = field(default_factory=dict)
    expression: dict[str, float] | None = None
    warnings: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    capture: str = "neutral"
    frames_reset: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self, include_arrays: bool = False) -> dict[str, Any]:
        """JSON-ready dict: the capture's summary and the reference frame's result."""
        return {
            "status": self.status,
            "fused": True,
            "capture": self.capture,
            "complete": self.complete,
            "warnings": list(self.warnings),
            "scores": {name: s.to_dict() for name, s in self.scores.items()},
            "frames_used": self.frames_used,
            "frames_seen": self.frames_seen,
            "frames_refused": dict(self.refused),
            "frames_dropped": dict(self.dropped),
            "frames_reset": self.frames_reset,
            "per_frame_spread": {
                name: {k: round(float(v), 6) for k, v in stats.items()}
                for name, stats in self.spread.items()
            },
            "expression": {k: round(float(v), 4) for k, v in self.expression.items()}
            if self.expression
            else None,
            "used_frames": [u.to_dict() for u in self.used],
            "timings_ms": {k: round(float(v), 3) for k, v in self.timings_ms.items()},
            "frame": self.result.to_dict(include_arrays) if self.result is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FinalResult:
        """Rebuild a capture from :meth:`to_dict` output (the JSON ``wds-edge analyze``
        writes for a video, a session's ``to_dict()``, a finished live capture's
        ``final``): its summary (capture kind, frames used / seen / refused / dropped /
        reset, the per-frame spread, warnings) and ``result``, the reference frame's
        :class:`FrameResult` with the fused scores (``FrameResult.from_dict``: the crop
        transform stays ``None``; the mask comes back when it was included).
        :func:`~wds_edge.analysis.compare.compare_results` judges the rebuilt capture as
        it judges the dict.

        Raises:
            InvalidInputError: not a capture's result (one frame's: use
                :meth:`FrameResult.from_dict`; a batch's error outcome), or a key of the
                wrong form (the message names it).
        """
        if not isinstance(data, Mapping):
            raise InvalidInputError(
                f"a capture's result is a dict, got {type(data).__name__}; {_FINAL_HINT}"
            )
        _refuse_error_outcome(data, "a capture's result")
        if "frame" not in data:
            raise InvalidInputError(
                f"this is not a fused capture's result (no 'frame'; status "
                f"{_shown(data.get('status'))}): one frame's result is rebuilt with "
                f"FrameResult.from_dict(data); {_FINAL_HINT}"
            )

        def read(key: str, expected: str, convert: Any, default: Any = None) -> Any:
            return _read_key(
                data, key, expected, convert, default, "a capture's result", _FINAL_HINT
            )

        frame = data["frame"]
        try:
            result = None if frame is None else FrameResult.from_dict(frame)
        except InvalidInputError as exc:
            raise InvalidInputError(f"a capture's result's 'frame': {exc}") from None
        return cls(
            status=read("status", "'ok', a frame status or 'no_frames'", _status),
            result=result,
            scores=read("scores", "a table of region scores", _scores),
            frames_used=read("frames_used", "a whole number >= 0", _count),
            frames_seen=read("frames_seen", "a whole number >= 0", _count),
            complete=read("complete", "true or false", _flag, False),
            used=read("used_frames", "a list of used frames", _used_frames),
            refused=read("frames_refused", "a table of frame counts", _counts),
            dropped=read("frames_dropped", "a table of frame counts", _counts),
            frames_reset=read("frames_reset", "a whole number >= 0", _count, 0),
            spread=read("per_frame_spread", "a table of region tables of numbers", _spread),
            expression=read("expression", "null or a table of numbers", _expression),
            warnings=read("warnings", "a list of names", _names),
            timings_ms=read("timings_ms", "a table of numbers", _numbers),
            capture=read("capture", "'neutral' or 'raise_brows'", _capture, "neutral"),
        )


#: How to get a dict :meth:`FinalResult.from_dict` reads.
_FINAL_HINT = (
    "pass a dict written by FinalResult.to_dict() (the JSON `wds-edge analyze` writes for a video)"
)


def _status(value: Any) -> str:
    """A capture's status: ``ok``, a quality gate's status or :data:`NO_FRAMES`."""
    if value not in {"ok", NO_FRAMES, *(s.value for s in FrameStatus)}:
        raise ValueError(value)
    return str(value)


def _capture(value: Any) -> str:
    if value not in CAPTURE_EXPRESSIONS:
        raise ValueError(value)
    return str(value)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(value)
    return value


def _counts(value: Any) -> dict[str, int]:
    return {str(k): _count(v) for k, v in _table(value).items()}


def _spread(value: Any) -> dict[str, dict[str, float]]:
    return {str(k): _numbers(v) for k, v in _table(value).items()}


def _used_frames(value: Any) -> list[UsedFrame]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise TypeError(value)
    return [
        UsedFrame(
            index=_count(_table(u)["index"]),
            timestamp_ms=_optional(_timestamp)(u.get("timestamp_ms")),
            sharpness=_number(u["sharpness"]),
            misfit_mm=_number(u["misfit_mm"]),
            expression=_expression(u.get("expression")),
        )
        for u in value
    ]
