"""The score a live screen shows: fused over the last few segmented frames, not one frame's.

One frame's score jumps (on the kiosk clip the overall ratio of the good frames varies with
a CV of 5.7 %, a crow's-feet region's by 32-41 %), so a number shown per frame flickers.
:class:`RunningScore` keeps the probability maps of the last ``window`` segmented frames of
one face, registers them onto the newest frame (:mod:`wds_edge.analysis.fusion`)
and scores their mean: the mask and the numbers then move only as fast as the face does.

A frame whose landmarks misfit the window's median beyond the tolerance (the person moved,
turned, changed expression, or someone else stepped in) starts a new window: the display
follows a new face at once instead of blending two. The window length was chosen on the
kiosk clip (benchmarks/RESULTS.md, "Issue 21"); it costs one ``cv2.warpAffine`` per frame
in the window and one scoring pass per displayed update (on the newest frame's counted
regions, which its segmentation already built).
"""

from __future__ import annotations

import collections
import dataclasses
import time

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.fusion import LANDMARK_TOLERANCE_MM, fuse_probabilities, landmark_misfit_mm
from wds_edge.analysis.result import FrameResult
from wds_edge.errors import InvalidInputError
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
        self._frames: collections.deque[FrameResult] = collections.deque(maxlen=self.window)
        self.restarts = 0

    def reset(self) -> None:
        """Forget the window (the next frame starts a new one)."""
        self._frames.clear()

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
        if self._frames:
            landmarks = [f.landmarks_crop_px for f in self._frames]
            _, misfit = landmark_misfit_mm([*landmarks, result.face_crop.landmarks_crop_px])
            if misfit[-1] > self.tolerance_mm:
                self.reset()
                self.restarts += 1
        self._frames.append(result)
        frames = list(self._frames)
        fused = fuse_probabilities(
            [f.wrinkle_prob for f in frames],  # type: ignore[misc]
            [f.landmarks_crop_px for f in frames],  # type: ignore[misc]
            reference=len(frames) - 1,
            tolerance_mm=self.tolerance_mm,
        )
        # the newest frame's counted regions: the fused map lives in its crop
        mask, scores, counted = self.analyzer.score_probability(
            fused.prob, result.face_crop, result.mm_per_px, result.counted_regions
        )
        timings = {**result.timings_ms, "running": ms_since(start)}
        return dataclasses.replace(
            result,
            wrinkle_prob=fused.prob,
            wrinkle_mask=mask,
            scores=scores,
            timings_ms=timings,
            counted_regions=counted,
        )
