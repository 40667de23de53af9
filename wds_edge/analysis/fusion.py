"""Fusing the wrinkle probability maps of several frames of one face (issue 21).

The kiosk crop is landmark-aligned (paper Table 1 box, roll levelled), so a crop pixel is
nearly the same skin point in every frame of a still face. "Nearly": the Table 1 box hangs
on the face's extreme landmarks, which jitter by a few pixels. Each frame's map is
therefore registered onto a reference frame by the similarity transform (rotation, scale,
shift) that best maps its 478 crop-space landmarks onto the reference's
(``cv2.estimateAffinePartial2D``, least median of squares). On the kiosk clip this halves
the landmark misfit (median 3.4 -> 1.8 crop pixels at 640 px).

Frames whose landmarks disagree with the session's median landmarks beyond
:data:`LANDMARK_TOLERANCE_MM` after that fit (a mis-tracked mesh, a turned head, another
expression) are dropped before fusing. The mean probability of the rest is thresholded
like a single frame's (paper Eq. 12 is computed on the fused mask).

Tolerance, measured (``scripts/landmark_misfit.py``; benchmarks/RESULTS.md, "Issue 21",
"The landmark misfits behind the fusion tolerance"): the 180 good frames of
``portrait_motion_720p.mp4`` (one still face, panned, zoomed, rolled) misfit their median
by 0.19-0.83 mm (median 0.42; mean distance per landmark after the fit, iris ruler); any two
of the project's nine face photos misfit each other by 1.91-10.1 mm (two people: 1.91 at
the least; one person in another pose and expression: 4.8-10.1). 1.5 mm keeps every frame
of a still face and drops a frame of another pose or expression. It cannot tell two people
apart in one group: against the median of a group that mixes them in equal parts each
misfits by about half their distance (1.2 mm for a pair 2.4 mm apart); the session keeps
them apart earlier, by setting the frames before a change of face aside
(``SessionConfig.face_change_mm``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.perception.exclusion import mm_per_crop_px

__all__ = [
    "LANDMARK_TOLERANCE_MM",
    "FusedMap",
    "register_landmarks",
    "landmark_misfit_mm",
    "misfit_mm",
    "fuse_probabilities",
]

#: Frames whose landmarks misfit the session's median by more than this are dropped.
LANDMARK_TOLERANCE_MM = 1.5


@dataclass
class FusedMap:
    """The outcome of :func:`fuse_probabilities`.

    Attributes:
        prob: float32 ``S x S`` mean wrinkle probability in the reference frame's crop.
        reference: index (into the given frames) of the frame the maps were registered to.
        used: indices of the fused frames.
        dropped: indices of frames dropped for landmark disagreement.
        misfit_mm: per given frame, its landmarks' misfit to the median (mm).
    """

    prob: np.ndarray
    reference: int
    used: list[int]
    dropped: list[int]
    misfit_mm: list[float]


def register_landmarks(source_px: np.ndarray, target_px: np.ndarray) -> np.ndarray:
    """The similarity transform mapping ``source_px`` landmarks onto ``target_px``.

    Args:
        source_px, target_px: float (N, 2) crop-space landmarks of the same face mesh.

    Returns:
        float64 (2, 3) matrix for ``cv2.warpAffine`` (identity when the fit fails).
    """
    matrix, _ = cv2.estimateAffinePartial2D(
        np.asarray(source_px, np.float32), np.asarray(target_px, np.float32), method=cv2.LMEDS
    )
    if matrix is None:
        return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    return matrix.astype(np.float64)


def landmark_misfit_mm(
    landmarks_crop_px: Sequence[np.ndarray], measure: Sequence[np.ndarray] | None = None
) -> tuple[np.ndarray, list[float]]:
    """Median landmarks of several frames and each frame's misfit to them.

    Args:
        landmarks_crop_px: per frame float (478, 2) landmarks in crop pixels.
        measure: the landmark sets to measure against that median (default: every frame's;
            a caller that needs a few frames' misfit saves a similarity fit per other frame).

    Returns:
        ``(median (478, 2) float64, misfit per measured frame in mm)``: the mean distance per
        landmark after the frame's similarity fit onto the median, iris ruler of the median.
    """
    if not landmarks_crop_px:
        raise InvalidInputError("no frames to compare landmarks of")
    stack = np.stack([np.asarray(p, np.float64) for p in landmarks_crop_px])
    median = np.median(stack, axis=0)
    mm = mm_per_crop_px(median)
    targets = stack if measure is None else measure
    return median, [misfit_mm(points, median, mm) for points in targets]


def misfit_mm(points_px: np.ndarray, median_px: np.ndarray, mm_per_px: float) -> float:
    """One frame's landmark misfit to ``median_px``: mean distance after its similarity fit.

    Args:
        points_px: float (478, 2) crop-space landmarks of the frame.
        median_px: float (478, 2) median landmarks of the frames it is compared with.
        mm_per_px: millimetres per crop pixel (the iris ruler of ``median_px``).

    Returns:
        The mean distance per landmark in mm.
    """
    points = np.asarray(points_px, np.float64)
    m = register_landmarks(points, median_px)
    fitted = points @ m[:, :2].T + m[:, 2]
    return float(np.linalg.norm(fitted - median_px, axis=1).mean() * mm_per_px)


def fuse_probabilities(
    probs: Sequence[np.ndarray],
    landmarks_crop_px: Sequence[np.ndarray],
    reference: int,
    tolerance_mm: float = LANDMARK_TOLERANCE_MM,
) -> FusedMap:
    """Register each frame's probability map onto the reference frame and average them.

    Args:
        probs: per frame float32 ``S x S`` wrinkle probability (crop space).
        landmarks_crop_px: per frame float (478, 2) landmarks in the same crop space.
        reference: index of the frame to register onto (e.g. the sharpest).
        tolerance_mm: frames misfitting the median landmarks by more are dropped (the
            reference is never dropped: pick it among frames that fit).

    Returns:
        :class:`FusedMap`.

    Raises:
        InvalidInputError: no frames, lengths or shapes that disagree, a bad reference.
    """
    if not probs or len(probs) != len(landmarks_crop_px):
        raise InvalidInputError(
            f"need one landmark set per probability map, got {len(probs)} maps and "
            f"{len(landmarks_crop_px)} landmark sets"
        )
    if not 0 <= reference < len(probs):
        raise InvalidInputError(f"reference {reference} is not one of the {len(probs)} frames")
    shape = np.asarray(probs[reference]).shape
    if any(np.asarray(p).shape != shape for p in probs) or len(shape) != 2:
        raise InvalidInputError("probability maps must all be 2-D and of one crop size")
    _, misfit = landmark_misfit_mm(landmarks_crop_px)
    used = [i for i, m in enumerate(misfit) if m <= tolerance_mm or i == reference]
    dropped = [i for i in range(len(probs)) if i not in used]
    target = np.asarray(landmarks_crop_px[reference], np.float64)
    total = np.zeros(shape, np.float64)
    for i in used:
        prob = np.asarray(probs[i], np.float32)
        if i != reference:
            matrix = register_landmarks(landmarks_crop_px[i], target)
            prob = cv2.warpAffine(
                prob, matrix, (shape[1], shape[0]), flags=cv2.INTER_LINEAR, borderValue=0.0
            )
        total += prob
    fused = (total / len(used)).astype(np.float32)
    return FusedMap(fused, reference, used, dropped, misfit)
