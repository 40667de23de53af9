"""A kiosk session: feed camera frames, tell the person what to do, return ONE fused result.

:class:`KioskSession` locates the face in every frame it is fed (landmarks, the one crop,
quality gates, expression; no model). Frames a gate refuses produce a prompt ("move
closer", "hold still", ...) and are counted by status; a face that is not neutral is asked
to relax ("please don't smile", "relax your face"). Once ``frames_needed`` good neutral
frames are in (or ``max_frames`` frames were fed) the session is done, and
:meth:`KioskSession.final_result` fuses them (issue 21):

1. the group: the neutral frames when at least half of ``frames_fused`` came (or when
   every good frame is neutral), else every good frame ranked from the least expressive,
   the sharper first among equally expressive ones (the result then warns
   ``not_neutral``);
   A ``raise_brows`` capture (:attr:`SessionConfig.expression`) works the same way with
   "brows raised" in place of "neutral": it prompts "raise your eyebrows", fuses raised-brow
   frames, and warns ``brows_not_raised`` when it had to fuse the most raised of frames
   that were not;
2. frames whose landmarks misfit the group's median beyond ``landmark_tolerance_mm``
   (:mod:`wds_edge.analysis.fusion`) are dropped;
3. the ``frames_fused`` sharpest of the rest (the least expressive, in the fallback) are
   segmented, their probability maps registered onto the sharpest and averaged. Frames are
   ranked by the quality gates' ``sharpness_ranked``, measured on the face crop at one size
   (256 px) whatever the face's size: the gate's ``sharpness`` measures a face box narrower
   than that at its own size, which reads sharper the smaller the face, and ranked by it a
   session fused the frames with the fewest face pixels;
4. the mean map is thresholded and scored on the counted skin regions.

``reset_after_bad_frames`` refused frames in a row (30: one second of a 30 fps camera) mean
the person walked away: the frames collected so far are set aside and the session collects
anew, so the next person's frames are not fused with theirs. A good frame whose landmarks
misfit the previous good frame's beyond ``face_change_mm`` (:data:`FACE_CHANGE_MM`: another
face, e.g. a new person who stepped in within fewer refused frames) sets them aside the same
way. If good frames come after the
reset, they alone are fused and :attr:`FinalResult.frames_reset` counts the frames set
aside; if nothing usable comes by the session's end (a clip that ends, a capture that
reaches ``max_frames`` or times out, with the person gone), the group set aside last is
fused (it is the person who was there: a refusal would throw their frames away).

Why the sharpest of a window and not every frame: on the kiosk clip the score follows the
frame's sharpness (codec key frames, lighting). Fusing the 10 sharpest of 60 good frames, three
sessions of the clip agree within 4.8 % overall (the median of five frames, the session score
before: 13.2 %); fusing the first 10 frames of each gave 12 % in the exploratory measurement
(benchmarks/RESULTS.md, "Issue 21"). Only the fused frames meet the model, so a session costs
``frames_fused`` inferences whatever its length (10 x 140 ms with ONNX Runtime FP32 on an idle
2-core CPU), plus about 0.2 s to register, fuse and score.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import ConfigDict, Field, model_validator

from wds_edge._settings import Settings
from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.final import (
    DROP_REASONS,
    NO_FRAMES,
    FinalResult,
    UsedFrame,
    score_spread,
    smooth_scores,
)
from wds_edge.analysis.fusion import (
    LANDMARK_TOLERANCE_MM,
    fuse_probabilities,
    landmark_misfit_mm,
    misfit_mm,
)
from wds_edge.analysis.result import FrameResult
from wds_edge.perception.exclusion import mm_per_crop_px
from wds_edge.perception.expression import (
    CaptureExpression,
    capture_level,
    capture_prompt,
    missed_capture_warning,
)
from wds_edge.perception.quality import FrameStatus
from wds_edge.timing import ms_since

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
#: A good frame whose landmarks misfit the previous good frame's by more than this (mm, mean
#: distance per landmark after the similarity fit, iris ruler) shows another face: the frames
#: collected so far are set aside as after a walk-away (``reset_after_bad_frames``), so two
#: people's frames are never fused (the group's median misfit cannot tell: with two people
#: in similar numbers of frames the median lies halfway and each misfits it by about half
#: their distance). Measured with the landmarker of ``face_landmarker.task``: the 180 good
#: frames of ``portrait_motion_720p.mp4`` (one still face, panned, zoomed, rolled; each
#: against the good frame before it, across the refused stretches too) misfit by 0.42 mm
#: median, 0.69 mm 99th percentile, 0.85 mm at most; the 922 ordered pairs of different
#: people among the photos of ``data/faces`` and ``data/faces_pd`` (one face each, the
#: same person's photos left out) by 3.86 mm median, 1.59 mm at least (B001301 vs
#: L000583). 1.2 mm lies halfway.
FACE_CHANGE_MM = 1.2
#: Expression levels (1 = the neutral limit) closer than this rank as equal in the fallback.
_LEVEL_STEP = 0.25


class SessionConfig(Settings):
    """Settings of a :class:`KioskSession` (defaults measured on the kiosk clip, see the
    module docstring).

    Attributes:
        frames_needed: good frames with the asked expression (neutral, or raised brows
            for ``raise_brows``) to collect before fusing (the window the
            sharpest are chosen from: 60, two seconds of a 30 fps camera).
        frames_fused: frames segmented and fused (the sharpest consistent ones: 10); at
            most ``frames_needed`` and ``max_frames`` (a session stops collecting there,
            so it could never fuse more: such settings are refused).
        max_frames: frames fed before the session stops waiting (for neutral or good
            frames: 150, five seconds at 30 fps) and fuses what it has (possibly nothing:
            see :attr:`FinalResult.status`). Below ``frames_needed`` it makes a capture of
            a fixed length (``bench repeatability`` runs its parts so).
        landmark_tolerance_mm: frames whose landmarks misfit the median by more are dropped.
        face_change_mm: a good frame whose landmarks misfit the previous good frame's by
            more (another person stepped in, :data:`FACE_CHANGE_MM`) sets the frames
            collected so far aside like ``reset_after_bad_frames``, counted in
            :attr:`FinalResult.frames_reset`.
        reset_after_bad_frames: this many refused frames in a row (the person walked away)
            set the frames collected so far aside: good frames that come after are fused
            without them (:attr:`FinalResult.frames_reset` counts the frames dropped so);
            with nothing usable after, the last group set aside is fused. 0 never resets.
        expression: what the capture asks of the face: ``"neutral"`` (the wrinkle score
            of a resting face) or ``"raise_brows"`` (the dynamic capture of the forehead
            lines; :mod:`wds_edge.perception.expression` says how raised brows are told
            and why a frown capture is not offered).
    """

    _settings_name: ClassVar[str] = "session settings"
    model_config = ConfigDict(extra="forbid")

    frames_needed: int = Field(60, ge=1)
    frames_fused: int = Field(10, ge=1)
    max_frames: int = Field(150, ge=1)
    landmark_tolerance_mm: float = Field(LANDMARK_TOLERANCE_MM, gt=0)
    reset_after_bad_frames: int = Field(30, ge=0)
    face_change_mm: float = Field(FACE_CHANGE_MM, gt=0)
    expression: CaptureExpression = "neutral"

    @model_validator(mode="after")
    def _reachable(self) -> SessionConfig:
        # A session ends once it has frames_needed good frames or was fed max_frames: it
        # could never fuse more than that, and would never be complete.
        for limit in ("frames_needed", "max_frames"):
            if self.frames_fused > getattr(self, limit):
                raise ValueError(
                    f"frames_fused ({self.frames_fused}) must not be above {limit} "
                    f"({getattr(self, limit)}): the session stops collecting at {limit} "
                    f"frames, so it could never fuse {self.frames_fused} and never be "
                    f"complete; lower frames_fused or raise {limit}"
                )
        return self


@dataclass
class SessionUpdate:
    """What one fed frame changed.

    Attributes:
        prompt: what the UI should show / say now.
        status: the frame's quality status.
        good_frames: good frames with the asked expression collected so far (neutral
            ones; raised-brow ones in a ``raise_brows`` capture), not counting those set
            aside (:attr:`KioskSession.frames_reset`).
        done: the session has its result (:meth:`KioskSession.final_result`).
        result: the frame's :class:`FrameResult` (located, not segmented; ``None`` for
            frames fed after done).
    """

    prompt: str
    status: FrameStatus
    good_frames: int
    done: bool
    result: FrameResult | None = None


@dataclass
class _Candidate:
    index: int
    located: FrameResult  # face_crop dropped once the frame cannot be fused any more
    wanted: bool  # the face is what the capture asks (neutral, or brows raised)
    level: float  # capture_level: < 1 wanted, lower is closer


class KioskSession:
    """Collect good frames from a camera and fuse them into one result.

    Frames must be upright (the face's eyes above its mouth): rotate a camera mounted on its
    side or upside down in software before feeding it (``open_source(uri, rotate=...)``,
    or ``cv2.rotate``); an upside-down
    face can pass every gate with a wrong score (see :class:`WrinkleAnalyzer`).

    Args:
        analyzer: a :class:`WrinkleAnalyzer` (the session does not close it; use
            ``video_mode=True`` for a camera).
        config: a :class:`SessionConfig` (``None``: defaults).
        on_prompt: called with the new prompt whenever it changes (UI callback).
        **overrides: fields of :class:`SessionConfig` to change.

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
        base = dict(config) if config is not None else {}
        self.config = SessionConfig(**{**base, **overrides})  # InvalidInputError if bad
        self.analyzer = analyzer
        self.on_prompt = on_prompt
        # feed() and final_result() may run on two threads (a live capture that times out
        # is fused while the camera loop hands it its last frame)
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget every frame; start collecting again (e.g. for the next person)."""
        with self._lock:
            self._reset()

    def _reset(self) -> None:
        self._candidates: list[_Candidate] = []
        self._refused: collections.Counter[str] = collections.Counter()
        self._frames_seen = 0
        self._bad_streak = 0
        self._reset_frames = 0
        #: the group the last reset set aside: fused if no good frame comes after it
        self._set_aside: list[_Candidate] = []
        self._last: FrameResult | None = None
        self._prompt: str | None = None
        self._done = False
        self._final: FinalResult | None = None

    @property
    def done(self) -> bool:
        return self._done

    @property
    def good_frames(self) -> int:
        """Good frames with the asked expression collected so far (neutral ones; raised-brow
        ones in a ``raise_brows`` capture), those set aside not counted."""
        return sum(c.wanted for c in self._candidates)

    @property
    def frames_seen(self) -> int:
        """Frames fed so far (those fed after done not counted)."""
        return self._frames_seen

    @property
    def frames_reset(self) -> int:
        """Frames the gates passed that were set aside so far: because
        ``reset_after_bad_frames`` refused frames came in a row (the person walked away),
        or because a good frame's face differed from the previous one's (another person,
        ``face_change_mm``). The last group set aside is still fused when no good frame
        comes after it: the fused result's :attr:`FinalResult.frames_reset` then leaves
        out that group's frames (and only those: earlier groups stay counted)."""
        return self._reset_frames

    @property
    def refused(self) -> dict[str, int]:
        """``{status: frames}`` of the frames the quality gates refused so far."""
        with self._lock:
            return dict(self._refused)

    @property
    def prompt(self) -> str | None:
        """The prompt most recently shown."""
        return self._prompt

    def _announce(self, prompt: str) -> None:
        if prompt != self._prompt:
            self._prompt = prompt
            if self.on_prompt is not None:
                self.on_prompt(prompt)

    def feed(
        self, image_bgr: np.ndarray, timestamp_ms: int | None = None, *, colour_order: str = "bgr"
    ) -> SessionUpdate:
        """Locate the face in one frame and say what the UI should ask next.

        Args:
            image_bgr: the camera frame (uint8 H x W x 3, upright) in ``colour_order``.
            timestamp_ms: the frame's time (video mode: must increase; ``None``: now).
            colour_order: ``"bgr"`` (OpenCV's ``VideoCapture``, the default) or ``"rgb"``
                (Pillow, picamera2's ``RGB888`` arrays, imageio). An RGB frame fed as BGR
                cannot be told apart in general: its skin looks blue (the frame is
                refused as ``colour_cast``) or its scores shift. See
                :meth:`WrinkleAnalyzer.locate`.

        Frames fed after the session is done are not analysed (reset() to start over).
        """
        if self._done:
            status = self._last.status if self._last is not None else FrameStatus.NO_FACE
            return SessionUpdate(PROMPT_DONE, status, self.good_frames, True, None)
        located = self.analyzer.locate(image_bgr, timestamp_ms, colour_order=colour_order)
        return self.feed_located(located)

    def feed_located(self, result: FrameResult) -> SessionUpdate:
        """:meth:`feed` for a frame the caller already located with the session's analyzer
        (:meth:`WrinkleAnalyzer.locate`; e.g. a benchmark that also segments every frame)."""
        with self._lock:
            return self._feed_located(result)

    def _feed_located(self, result: FrameResult) -> SessionUpdate:
        if self._done:
            return SessionUpdate(PROMPT_DONE, result.status, self.good_frames, True, None)
        self._frames_seen += 1
        self._last = result
        if result.status is FrameStatus.OK:
            self._bad_streak = 0
            if self._candidates and self._face_changed(result):
                self._set_candidates_aside("another face (its landmarks misfit the previous's)")
            self._set_aside = []  # someone is here now: their frames are the ones fused
            wanted = self.config.expression
            ask = capture_prompt(result.expression, wanted)
            level = capture_level(result.expression, wanted)
            self._candidates.append(_Candidate(self._frames_seen - 1, result, ask is None, level))
            self._trim_crops()
            prompt = PROMPT_ANALYSING if ask is None else ask
        else:
            self._refused[str(result.status.value)] += 1
            self._bad_streak += 1
            limit = self.config.reset_after_bad_frames
            if limit and self._bad_streak >= limit and self._candidates:
                self._set_candidates_aside(f"{limit} bad frames in a row")
            prompt = result.prompt
        if self.good_frames >= self.config.frames_needed or (
            self._frames_seen >= self.config.max_frames
        ):
            self._done = True
            prompt = PROMPT_DONE
        self._announce(prompt)
        return SessionUpdate(prompt, result.status, self.good_frames, self._done, result)

    def _set_candidates_aside(self, why: str) -> None:
        """The person left or another came: the frames collected so far are set aside
        (counted in ``frames_reset``; fused only if no good frame comes after them)."""
        logger.info("%s: setting %d good frames aside", why, len(self._candidates))
        self._reset_frames += len(self._candidates)
        self._set_aside, self._candidates = self._candidates, []

    def _face_changed(self, result: FrameResult) -> bool:
        """Whether a good frame's landmarks misfit the previous good frame's beyond
        ``face_change_mm`` (similarity fit, iris ruler of the previous frame): another
        person stepped in (see :data:`FACE_CHANGE_MM`)."""
        previous = self._candidates[-1].located.landmarks_crop_px
        points = result.landmarks_crop_px
        if previous is None or points is None:
            return False
        misfit = misfit_mm(points, previous, mm_per_crop_px(np.asarray(previous, np.float64)))
        return misfit > self.config.face_change_mm

    def _trim_crops(self) -> None:
        """Keep crops only for frames that can still be fused (bounded memory): the
        sharpest neutral ones and the least expressive ones, twice ``frames_fused`` each
        so that landmark misfits can be replaced, those that fit the landmarks of all the
        frames seen so far first (a sharper passer-by must not push the person's own frames
        out). Runs once ``frames_fused`` more crops than that piled up (the misfit costs
        ~0.3 ms a frame)."""
        keep = 2 * self.config.frames_fused
        with_crop = [c for c in self._candidates if c.located.face_crop is not None]
        if len(with_crop) <= 2 * keep + self.config.frames_fused:
            return
        _, misfit = landmark_misfit_mm(
            [c.located.landmarks_crop_px for c in self._candidates],
            [c.located.landmarks_crop_px for c in with_crop],
        )
        tolerance = self.config.landmark_tolerance_mm
        off = {id(c): m > tolerance for c, m in zip(with_crop, misfit, strict=True)}
        neutral = sorted(
            (c for c in with_crop if c.wanted), key=lambda c: (off[id(c)], -_ranked(c.located))
        )
        calm = sorted(with_crop, key=lambda c: (off[id(c)], *_calm_first(c)))
        kept = {id(c) for c in neutral[:keep]} | {id(c) for c in calm[:keep]}
        for c in with_crop:
            if id(c) not in kept:
                c.located = dataclasses.replace(c.located, face_crop=None)

    def final_result(self) -> FinalResult:
        """Fuse the collected frames (see the module docstring); computed once when done.

        Callable at any time (before ``done`` it fuses what has been collected), from
        another thread than :meth:`feed`'s too.
        """
        with self._lock:
            if self._final is not None:
                return self._final
            final = self._fuse()
            if self._done:
                self._final = final
            return final

    def _choose(self, candidates: list[_Candidate]) -> tuple[list[_Candidate], bool]:
        """The group to fuse from and whether it is the neutral one."""
        neutral = [c for c in candidates if c.wanted]
        # every frame has the asked expression (few came: most were refused): they are the
        # group, fused sharpest first, not ranked by how faint their expression is
        if len(neutral) >= max(1, self.config.frames_fused // 2) or (
            neutral and len(neutral) == len(candidates)
        ):
            return neutral, True
        return sorted(candidates, key=_calm_first), False

    def _fuse(self) -> FinalResult:
        cfg = self.config
        refused = dict(self._refused)
        # nothing usable since the last reset: the person who walked away is the one fused
        candidates = self._candidates or self._set_aside
        frames_reset = self._reset_frames - (len(candidates) if not self._candidates else 0)
        if not candidates:
            status = self._refused.most_common(1)[0][0] if self._refused else NO_FRAMES
            return FinalResult(
                status, self._last, {}, 0, self._frames_seen, False, refused=refused,
                dropped=dict.fromkeys(DROP_REASONS, 0), capture=cfg.expression,
                frames_reset=frames_reset,
            )  # fmt: skip
        group, neutral = self._choose(candidates)
        _, misfit = landmark_misfit_mm([c.located.landmarks_crop_px for c in group])
        tolerance = cfg.landmark_tolerance_mm
        pairs = [
            (c, m) for c, m in zip(group, misfit, strict=True) if c.located.face_crop is not None
        ]
        fits = [(c, m) for c, m in pairs if m <= tolerance]
        if not fits:  # a face that never held still: fuse its best-fitting frame alone
            fits = [min(pairs, key=lambda cm: cm[1])]
        if neutral:
            fits.sort(key=lambda cm: -_ranked(cm[0].located))
        chosen = fits[: cfg.frames_fused]
        # the fallback's one frame misfits too, but it is used, not dropped
        off = sum(m > tolerance for m in misfit) - sum(m > tolerance for _, m in chosen)
        dropped = {
            "landmarks": off,
            "expression": len(candidates) - len(group),  # 0 in the fallback: all ranked
            # fit, but not among the frames_fused chosen (or their crop was trimmed)
            "not_chosen": len(group) - len(chosen) - off,
        }
        start = time.perf_counter()
        segmented = [self.analyzer.segment(None, c.located) for c, _ in chosen]
        segment_ms = ms_since(start)
        start = time.perf_counter()
        reference = int(np.argmax([_ranked(r) for r in segmented]))
        fused = fuse_probabilities(
            [r.wrinkle_prob for r in segmented],
            [r.face_crop.landmarks_crop_px for r in segmented],  # type: ignore[union-attr]
            reference,
            tolerance_mm=float("inf"),  # the group's misfit was checked above
        )
        fuse_ms = ms_since(start)
        start = time.perf_counter()
        ref = segmented[reference]
        mask, scores, counted = self.analyzer.score_probability(
            fused.prob, ref.face_crop, ref.mm_per_px, ref.counted_regions
        )  # type: ignore[arg-type]
        score_ms = ms_since(start)
        expression = _mean_expression([r.expression for r in segmented])
        # Never silent: a fused frame without the asked expression marks the whole result.
        missed = any(not c.wanted for c, _ in chosen)
        warnings = [missed_capture_warning(cfg.expression)] if missed else []
        result = dataclasses.replace(
            ref,
            wrinkle_prob=fused.prob,
            wrinkle_mask=mask,
            scores=scores,
            warnings=list(warnings),  # the frame's own list: later notes go on the capture's
            counted_regions=counted,
        )
        used = [
            UsedFrame(c.index, c.located.timestamp_ms, c.located.sharpness, m, c.located.expression)
            for c, m in chosen
        ]
        return FinalResult(
            status="ok",
            result=result,
            scores=scores,
            frames_used=len(chosen),
            frames_seen=self._frames_seen,
            complete=len(chosen) >= cfg.frames_fused,
            used=used,
            refused=refused,
            dropped=dropped,
            spread=score_spread([r.scores for r in segmented]),
            expression=expression,
            warnings=warnings,
            timings_ms={"segment": segment_ms, "fuse": fuse_ms, "score": score_ms},
            capture=cfg.expression,
            frames_reset=frames_reset,
        )


def _calm_first(candidate: _Candidate) -> tuple[int, float]:
    """Fallback order: the least expressive first; expression levels within a quarter of
    the neutral limit of each other count as equal, and the sharper frame goes first (a
    face that smiles throughout still gets its sharpest frames fused)."""
    return math.floor(candidate.level / _LEVEL_STEP), -_ranked(candidate.located)


def _ranked(result: FrameResult) -> float:
    """The frame's sharpness to rank it by: the quality gates' ``sharpness_ranked``, measured
    at one crop size whatever the face's size (the gate's own ``sharpness`` measures a small
    face at its box's size, which reads sharper the fewer pixels the face has)."""
    return float(result.quality.get("sharpness_ranked", result.sharpness))


def _mean_expression(items: list[dict[str, float] | None]) -> dict[str, float] | None:
    present = [e for e in items if e]
    if not present:
        return None
    return {k: float(np.mean([e.get(k, 0.0) for e in present])) for k in present[0]}
