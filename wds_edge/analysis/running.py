"""The score a live screen shows: fused over the last few segmented frames, not one frame's.

One frame's score jumps (on the kiosk clip the overall ratio of the good frames varies with
a CV of 5.7 %, a crow's-feet region's by 32-41 %), so a number shown per frame flickers.
:class:`RunningScore` keeps the probability maps of the last ``window`` segmented frames of
one face, registers them onto the newest frame (:mod:`wds_edge.analysis.fusion`)
and scores their mean: the mask and the numbers then move only as fast as the face does.

A frame whose landmarks misfit the window's median beyond the tolerance (the person moved,
turned, changed expression, or someone else stepped in) starts a new window: the display
follows a new face at once instead of blending two. The window length was chosen on the
kiosk clip (benchmarks/RESULTS.md, "Issue 21").

Cost per frame, whatever the window: the window keeps a running sum of its maps in one
frame's crop (the *anchor*, moved to the newest frame every two windows so that it never
gets old), so a new frame is registered and warped into the anchor once, the leaving
frame's warped map is subtracted, and the sum of the others is warped once onto the newest
frame, whose own map is added unwarped: three landmark fits, two ``cv2.warpAffine`` and one
scoring pass (on the newest frame's counted regions, which its segmentation already built).
Re-registering every frame of the window onto each new frame, as
:func:`~wds_edge.analysis.fusion.fuse_probabilities` does once for a capture, costs about
two and a half times as much at window 12 (``benchmarks/running_fusion.py``; figures and the
agreement of the two in RESULTS.md, "Issue 25").
"""

from __future__ import annotations

import collections
import dataclasses
import time

import cv2
import numpy as np

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.fusion import LANDMARK_TOLERANCE_MM, misfit_mm, register_landmarks
from wds_edge.analysis.result import FrameResult
from wds_edge.errors import InvalidInputError
from wds_edge.perception.exclusion import mm_per_crop_px
from wds_edge.timing import ms_since

__all__ = ["RUNNING_WINDOW", "RunningScore"]

#: Segmented frames fused for the live display (issue 21, `bench repeatability` on the kiosk
#: clip: the overall score's CV over one-second stretches, median / largest, is 4.4 / 6.5 %
#: per frame, 3.6 / 4.8 % fused over 8, 3.0 / 4.5 % over 12, 2.8 / 4.1 % over 16; 12 is one
#: group of pictures of the clip's codec and keeps the lag short).
RUNNING_WINDOW = 12


class RunningScore:
    """Fuse the newest segmented frames of one face for display.

    Args:
        analyzer: the :class:`WrinkleAnalyzer` that segmented the frames (its threshold and
            scoring are used; the caller serialises its use, as for any analysis).
        window: frames fused (>= 1).
        tolerance_mm: landmark misfit that starts a new window.

    Example:
        >>> running = RunningScore(analyzer)
        >>> shown = running.add(analyzer.analyze(frame))   # fused mask + scores
    """

    def __init__(
        self,
        analyzer: WrinkleAnalyzer,
        window: int = RUNNING_WINDOW,
        tolerance_mm: float = LANDMARK_TOLERANCE_MM,
    ) -> None:
        if int(window) < 1:
            raise InvalidInputError(f"window must be >= 1 frame, got {window}")
        self.analyzer = analyzer
        self.window = int(window)
        self.tolerance_mm = float(tolerance_mm)
        #: the window: each frame with its map warped into the anchor's crop
        self._frames: collections.deque[tuple[FrameResult, np.ndarray]] = collections.deque()
        self._anchor: np.ndarray | None = None  # crop landmarks of the anchor frame
        self._sum: np.ndarray | None = None  # float64 sum of the warped maps (anchor's crop)
        self._anchor_age = 0  # frames added since the anchor was set
        self.restarts = 0

    def reset(self) -> None:
        """Forget the window (the next frame starts a new one)."""
        self._frames.clear()
        self._anchor = self._sum = None
        self._anchor_age = 0

    def _rebase(self) -> None:
        """Move the anchor to the newest frame: its crop replaces one that is getting old (a
        face that drifts slowly would otherwise be summed ever further from where it is)."""
        self._anchor = np.asarray(self._frames[-1][0].face_crop.landmarks_crop_px, np.float64)
        frames, self._sum, self._anchor_age = list(self._frames), None, 0
        self._frames.clear()
        for result, _ in frames:
            prob = np.asarray(result.wrinkle_prob, np.float32)
            warped = _warp(
                prob, register_landmarks(result.face_crop.landmarks_crop_px, self._anchor)
            )
            self._sum = warped.astype(np.float64) if self._sum is None else self._sum + warped
            self._frames.append((result, warped))

    @property
    def frames(self) -> int:
        """Frames in the window now."""
        return len(self._frames)

    def add(self, result: FrameResult) -> FrameResult:
        """Add a segmented frame and return it carrying the window's fused map and scores.

        Args:
            result: a segmented :class:`FrameResult` (``segmented`` and its ``face_crop``);
                anything else resets the window and is returned unchanged.

        Returns:
            A copy of ``result`` whose ``wrinkle_prob``, ``wrinkle_mask`` and ``scores`` are
            fused over the window (in ``result``'s crop), with the timing ``running`` added.
        """
        if not result.segmented or result.face_crop is None or result.wrinkle_prob is None:
            self.reset()
            return result
        start = time.perf_counter()
        prob = np.asarray(result.wrinkle_prob, np.float32)
        landmarks = np.asarray(result.face_crop.landmarks_crop_px, np.float64)
        if self._sum is not None and self._sum.shape != prob.shape:
            self.reset()  # another crop size: nothing to fuse with
        if self._frames:
            stack = np.stack([*(f.landmarks_crop_px for f, _ in self._frames), landmarks])
            median = np.median(stack, axis=0)
            if misfit_mm(landmarks, median, mm_per_crop_px(median)) > self.tolerance_mm:
                self.reset()
                self.restarts += 1
        if self._anchor is None or self._sum is None:
            self._anchor, warped = landmarks, prob
            self._sum = prob.astype(np.float64)
        else:
            if len(self._frames) == self.window:
                self._sum -= self._frames.popleft()[1]
            warped = _warp(prob, register_landmarks(landmarks, self._anchor))
            self._sum += warped
        self._frames.append((result, warped))
        self._anchor_age += 1
        if self._anchor_age > 2 * self.window:
            self._rebase()  # once per 2 windows: one fit and one warp per frame of the window
        fused = prob
        if len(self._frames) > 1:
            others = (self._sum - self._frames[-1][1]).astype(np.float32)  # in the anchor's crop
            others = _warp(others, register_landmarks(self._anchor, landmarks))
            fused = (others + prob) / np.float32(len(self._frames))
        # the newest frame's counted regions: the fused map lives in its crop
        mask, scores, counted = self.analyzer.score_probability(
            fused, result.face_crop, result.mm_per_px, result.counted_regions
        )
        timings = {**result.timings_ms, "running": ms_since(start)}
        return dataclasses.replace(
            result,
            wrinkle_prob=fused,
            wrinkle_mask=mask,
            scores=scores,
            timings_ms=timings,
            counted_regions=counted,
        )


def _warp(prob: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``prob`` (float32 crop map) moved by the 2 x 3 ``matrix`` into a crop of its size."""
    size = (prob.shape[1], prob.shape[0])
    return cv2.warpAffine(prob, matrix, size, flags=cv2.INTER_LINEAR, borderValue=0.0)
