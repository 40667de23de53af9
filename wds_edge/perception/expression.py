"""Facial expression from MediaPipe's blendshape scores: is this a neutral face?

Smiling deepens crow's feet and the lines under the eyes; raised brows deepen the forehead
lines; a frown deepens the glabella. A wrinkle score is comparable only between faces with
the same expression, so the kiosk prefers neutral frames (issue 21).

The FaceLandmarker's blendshape model gives 52 scores in [0, 1]; three expression scores are
taken from them (the larger side counts):

* ``smile``: ``mouthSmileLeft`` / ``mouthSmileRight``;
* ``brow_raise``: ``browInnerUp``, ``browOuterUpLeft`` / ``browOuterUpRight``;
* ``frown``: ``browDownLeft`` / ``browDownRight`` (reported, never gated: see below).

Limits, measured on the shared photos (``data/faces``, ``data/faces_pd``) and every 10th
frame of ``portrait_motion_720p.mp4`` (benchmarks/RESULTS.md, "Issue 21"):

* ``smile``: faces without a smile score 0.00-0.22 (``ffhq_00016`` 0.00, ``D000096`` 0.04,
  ``biden.jpg`` 0.05, ``obama3`` 0.07, ``S001218`` 0.22, a closed-mouth half smile), smiling
  faces 0.56-0.98 (``Z000018`` 0.56, ``obama2`` 0.72, ``biden2`` and the clip 0.97-0.98):
  :data:`MAX_NEUTRAL_SMILE` = 0.4 lies in the gap.
* ``brow_raise``: 0.00-0.19 on every face but two, 0.43-0.46 on those two (``W000808``,
  ``W000187``, whose brows are visibly raised): :data:`MAX_NEUTRAL_BROW_RAISE` = 0.3.
* ``frown``: 0.56-0.77 on faces that do not frown (``obama3``, ``biden.jpg``,
  ``obama_and_biden``) and 0.8-0.9 on smiling ones with a squint: this score does not tell
  a frown from heavy brows or a squint on these photos, so it does not gate neutrality.

Captures under an expression (the dynamic capture of a botulinum-toxin consultation): a
session can ask for raised brows instead of a neutral face (:data:`CAPTURE_EXPRESSIONS`).
Its frames count when ``brow_raise`` is above :data:`MIN_RAISED_BROWS` (the same gap as
above: 0.43-0.46 raised, at most 0.19 otherwise); the forehead lines are what it scores. A
frown capture is not offered: the ``frown`` score does not tell a frown from a resting face
on the photos here (see above), so a session could not know when it has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

from wds_edge.errors import InvalidInputError

__all__ = [
    "EXPRESSION_NAMES",
    "GATED_EXPRESSIONS",
    "MAX_NEUTRAL_SMILE",
    "MAX_NEUTRAL_BROW_RAISE",
    "NOT_NEUTRAL",
    "PROMPT_NO_SMILE",
    "PROMPT_RELAX",
    "expression_scores",
    "expressive_parts",
    "expression_level",
    "expression_prompt",
    "CAPTURE_EXPRESSIONS",
    "CaptureExpression",
    "MIN_RAISED_BROWS",
    "PROMPT_RAISE_BROWS",
    "BROWS_NOT_RAISED",
    "capture_level",
    "check_capture_expression",
    "capture_prompt",
    "missed_capture_warning",
]

EXPRESSION_NAMES = ("smile", "brow_raise", "frown")
#: Above this ``smile`` score a face is smiling (see the module docstring).
MAX_NEUTRAL_SMILE = 0.4
#: Above this ``brow_raise`` score the brows are raised.
MAX_NEUTRAL_BROW_RAISE = 0.3
#: The expressions that decide neutrality, with their limits.
GATED_EXPRESSIONS: dict[str, float] = {
    "smile": MAX_NEUTRAL_SMILE,
    "brow_raise": MAX_NEUTRAL_BROW_RAISE,
}
#: The warning a result carries when its face was not neutral.
NOT_NEUTRAL = "not_neutral"
PROMPT_NO_SMILE = "please don't smile"
PROMPT_RELAX = "relax your face"

#: What a capture can ask of the face: ``neutral`` (the default) or ``raise_brows``.
CaptureExpression = Literal["neutral", "raise_brows"]
CAPTURE_EXPRESSIONS: tuple[str, ...] = get_args(CaptureExpression)
#: Above this ``brow_raise`` score the brows are raised (a ``raise_brows`` capture's frames).
MIN_RAISED_BROWS = MAX_NEUTRAL_BROW_RAISE
PROMPT_RAISE_BROWS = "raise your eyebrows"
#: The warning of a ``raise_brows`` capture that fused frames without raised brows.
BROWS_NOT_RAISED = "brows_not_raised"

_SOURCES = {
    "smile": ("mouthSmileLeft", "mouthSmileRight"),
    "brow_raise": ("browInnerUp", "browOuterUpLeft", "browOuterUpRight"),
    "frown": ("browDownLeft", "browDownRight"),
}


def expression_scores(blendshapes: Mapping[str, float] | None) -> dict[str, float] | None:
    """``{"smile", "brow_raise", "frown"}`` scores in [0, 1] from MediaPipe blendshapes.

    Args:
        blendshapes: MediaPipe category name -> score (``Face.blendshapes``), or None.

    Returns:
        The three scores (the larger side of each), or None without blendshapes.
    """
    if not blendshapes:
        return None
    return {
        name: float(max(blendshapes.get(k, 0.0) for k in keys)) for name, keys in _SOURCES.items()
    }


def expressive_parts(scores: Mapping[str, float] | None) -> list[str]:
    """The gated expressions above their limit (``[]``: neutral, or not measured)."""
    if not scores:
        return []
    return [n for n, limit in GATED_EXPRESSIONS.items() if scores.get(n, 0.0) > limit]


def expression_level(scores: Mapping[str, float] | None) -> float:
    """How far from neutral: the largest gated score relative to its limit (< 1: neutral).

    Used to rank frames when no neutral one comes (the least expressive first); 0 when
    not measured.
    """
    if not scores:
        return 0.0
    return max(scores.get(n, 0.0) / limit for n, limit in GATED_EXPRESSIONS.items())


def expression_prompt(scores: Mapping[str, float] | None) -> str | None:
    """What to ask of a person whose face is not neutral (None when it is)."""
    parts = expressive_parts(scores)
    if not parts:
        return None
    return PROMPT_NO_SMILE if "smile" in parts else PROMPT_RELAX


def check_capture_expression(expression: str) -> str:
    """``expression`` if a capture can ask for it (:data:`CAPTURE_EXPRESSIONS`).

    Raises:
        InvalidInputError: any other value (a frown capture, a typo).
    """
    if expression not in CAPTURE_EXPRESSIONS:
        raise InvalidInputError(
            f"capture expression must be one of {', '.join(CAPTURE_EXPRESSIONS)}, "
            f"got {expression!r}"
        )
    return expression


def capture_level(scores: Mapping[str, float] | None, expression: str = "neutral") -> float:
    """How far a face is from what the capture asks (< 1: it is there; lower is closer).

    ``neutral``: :func:`expression_level` (without expression scores: 0, neutral).
    ``raise_brows``: :data:`MIN_RAISED_BROWS` over the ``brow_raise`` score (raised brows
    score < 1, the higher the raise the lower); without expression scores the raise cannot
    be known, so the face counts as not there (the capture then warns).
    """
    check_capture_expression(expression)
    if expression == "neutral":
        return expression_level(scores)
    raised = float(scores.get("brow_raise", 0.0)) if scores else 0.0
    return MIN_RAISED_BROWS / max(raised, 1e-3)


def capture_prompt(scores: Mapping[str, float] | None, expression: str = "neutral") -> str | None:
    """What to ask of a person whose face is not yet what the capture wants (None: it is)."""
    check_capture_expression(expression)
    if expression == "neutral":
        return expression_prompt(scores)
    return None if capture_level(scores, expression) < 1.0 else PROMPT_RAISE_BROWS


def missed_capture_warning(expression: str = "neutral") -> str:
    """The warning of a capture that had to fuse frames without the asked expression."""
    check_capture_expression(expression)
    return NOT_NEUTRAL if expression == "neutral" else BROWS_NOT_RAISED
