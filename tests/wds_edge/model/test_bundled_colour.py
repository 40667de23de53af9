"""No silent zero (issue 16): on a grey frame or under a far-off white balance the bundled
model either scores within a factor of two of the colour frame, or the result says why not.

Real photos (held out from training), converted in the test: grey = BT.601 grey in all three
channels (a mono / IR camera); cool = R x 0.7, B x 1.4.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.analysis.result import FrameResult
from wds_edge.io import read_image
from wds_edge.perception.regions import REGION_NAMES

PHOTOS = ("obama2.jpg", "ffhq_00117.png")


@pytest.fixture(scope="module")
def analyzer(landmarker_path: Path):  # noqa: ANN201 - WrinkleAnalyzer
    from wds_edge.analysis.analyzer import WrinkleAnalyzer

    with WrinkleAnalyzer(
        landmarker_path=str(landmarker_path), backend="onnxruntime", num_threads=1
    ) as a:
        yield a


def _score(result: FrameResult) -> float:
    """Wrinkle pixels in the six regions / pixels of the six regions."""
    area = sum(result.scores[r].area_px for r in REGION_NAMES)
    return sum(result.scores[r].wrinkle_px for r in REGION_NAMES) / max(1, area)


def _grey(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def _cool(bgr: np.ndarray) -> np.ndarray:
    gains = np.array([1.4, 1.0, 0.7], np.float32)  # B, G, R
    return np.clip(bgr.astype(np.float32) * gains, 0, 255).round().astype(np.uint8)


def _check(analyzer, faces_dir: Path, convert, expected_statuses: tuple[str, ...]) -> None:  # noqa: ANN001
    for name in PHOTOS:
        bgr = read_image(faces_dir / name)
        colour = analyzer.analyze(bgr)
        assert colour.ok and colour.segmented
        c = _score(colour)
        assert c > 0, f"{name}: the colour frame itself scores 0"
        other = analyzer.analyze(convert(bgr))
        if not other.ok:
            # a status that names the problem is no silent zero
            assert other.status.value in expected_statuses, f"{name}: {other.status.value}"
            continue
        ratio = _score(other) / c
        assert 0.5 <= ratio <= 2.0, f"{name}: {ratio:.3f} x the colour frame's score"


def test_grey_frame_scores_like_the_colour_frame_or_says_why(analyzer, faces_dir) -> None:  # noqa: ANN001
    _check(analyzer, faces_dir, _grey, ("needs_colour_camera",))


def test_cool_white_balance_scores_like_the_colour_frame_or_says_why(analyzer, faces_dir) -> None:  # noqa: ANN001
    _check(analyzer, faces_dir, _cool, ("colour_cast",))


def test_no_shared_colour_photo_is_called_a_colour_cast(analyzer, faces_dir) -> None:  # noqa: ANN001
    """The white-balance check must not refuse ordinary photos (every shared face)."""
    for path in sorted(faces_dir.iterdir()):
        result = analyzer.analyze(read_image(path))
        assert result.status.value != "colour_cast", (path.name, result.quality)
