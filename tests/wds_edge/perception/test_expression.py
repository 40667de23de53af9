"""Expression from MediaPipe blendshapes on real photos: smiling faces are not neutral,
neutral faces are (issue 21). The photos' measured scores: wds_edge/perception/expression.py."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from wds_edge.io import read_image
from wds_edge.perception.expression import (
    PROMPT_NO_SMILE,
    PROMPT_RELAX,
    expression_level,
    expression_prompt,
    expression_scores,
    expressive_parts,
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
