"""Expression from MediaPipe blendshapes on real photos: smiling faces are not neutral,
neutral faces are (issue 21). The photos' measured scores: wds_edge/perception/expression.py."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from wds_edge.io import read_image
from wds_edge.perception.expression import (
    BROWS_NOT_RAISED,
    CAPTURE_EXPRESSIONS,
    PROMPT_NO_SMILE,
    PROMPT_RAISE_BROWS,
    PROMPT_RELAX,
    capture_level,
    capture_prompt,
    expression_level,
    expression_prompt,
    expression_scores,
    expressive_parts,
    missed_capture_warning,
)
from wds_edge.perception.landmarks import FaceLandmarker, FaceLandmarkerOptions

SMILING = ("faces/biden2.jpg", "faces/obama.jpg", "faces/ffhq_00117.png", "faces_pd/Z000018.jpg")
NEUTRAL = (
    "faces/ffhq_00016.png",
    "faces/biden.jpg",
    "faces_pd/D000096.jpg",
    "faces_pd/S001218.jpg",
)


@pytest.fixture(scope="module")
def scores(shared_dir: Path, landmarker_path: Path) -> dict[str, dict[str, float]]:
    out = {}
    with FaceLandmarker(FaceLandmarkerOptions(model_path=landmarker_path)) as landmarker:
        for name in (*SMILING, *NEUTRAL, "faces_pd/W000187.jpg"):
            bgr = read_image(shared_dir / "data" / name)
            face = landmarker.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))[0]
            assert face.blendshapes is not None and len(face.blendshapes) == 52
            out[name] = expression_scores(face.blendshapes)
    return out


def test_smiling_faces_are_not_neutral(scores) -> None:  # noqa: ANN001
    for name in SMILING:
        assert expressive_parts(scores[name]) == ["smile"], (name, scores[name])
        assert expression_prompt(scores[name]) == PROMPT_NO_SMILE
        assert expression_level(scores[name]) > 1.0


def test_neutral_faces_are_neutral(scores) -> None:  # noqa: ANN001
    for name in NEUTRAL:
        assert expressive_parts(scores[name]) == [], (name, scores[name])
        assert expression_prompt(scores[name]) is None
        assert expression_level(scores[name]) < 1.0


def test_raised_brows_are_asked_to_relax(scores) -> None:  # noqa: ANN001
    # W000187: no smile (0.00), brows visibly raised (browInnerUp 0.46).
    assert expressive_parts(scores["faces_pd/W000187.jpg"]) == ["brow_raise"]
    assert expression_prompt(scores["faces_pd/W000187.jpg"]) == PROMPT_RELAX


def test_no_blendshapes_is_no_expression() -> None:
    assert expression_scores(None) is None and expression_scores({}) is None
    assert expressive_parts(None) == [] and expression_level(None) == 0.0


def test_a_single_photo_is_scored_with_a_warning_not_refused(analyzer, shared_dir: Path) -> None:  # noqa: ANN001
    smiling = analyzer.analyze(read_image(shared_dir / "data" / "faces" / "biden2.jpg"))
    assert smiling.status.value == "ok" and smiling.segmented
    assert smiling.warnings == ["not_neutral"] and smiling.expression["smile"] > 0.4
    assert smiling.to_dict()["warnings"] == ["not_neutral"]
    neutral = analyzer.analyze(read_image(shared_dir / "data" / "faces" / "ffhq_00016.png"))
    assert neutral.status.value == "ok" and neutral.warnings == []


def test_a_raise_brows_capture_wants_raised_brows(scores) -> None:  # noqa: ANN001
    raised = scores["faces_pd/W000187.jpg"]  # brow_raise 0.46
    assert capture_level(raised, "raise_brows") < 1.0
    assert capture_prompt(raised, "raise_brows") is None
    for name in (*NEUTRAL, *SMILING):  # brow_raise <= 0.19: not raised
        assert capture_level(scores[name], "raise_brows") > 1.0, (name, scores[name])
        assert capture_prompt(scores[name], "raise_brows") == PROMPT_RAISE_BROWS
    # the more raised, the closer (the fallback fuses the most raised first)
    assert capture_level(raised, "raise_brows") < capture_level(
        scores["faces_pd/D000096.jpg"], "raise_brows"
    )
    # a neutral capture is what it was: neutral faces are there, raised brows are not
    assert capture_prompt(scores["faces/ffhq_00016.png"], "neutral") is None
    assert capture_prompt(raised, "neutral") == PROMPT_RELAX
    assert missed_capture_warning("neutral") == "not_neutral"
    assert missed_capture_warning("raise_brows") == BROWS_NOT_RAISED
    assert CAPTURE_EXPRESSIONS == ("neutral", "raise_brows")
    with pytest.raises(ValueError, match="raise_brows"):
        capture_level(raised, "frown")
    # without blendshapes a raise cannot be known: never taken for one (neutral stays neutral)
    assert capture_prompt(None, "raise_brows") == PROMPT_RAISE_BROWS
    assert capture_prompt(None, "neutral") is None
