"""KioskSession on the kiosk stand-in video played as a camera (VIDEO mode, real decoding)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.result import RegionScore
from wds_edge.analysis.session import (
    PROMPT_ANALYSING,
    PROMPT_DONE,
    KioskSession,
    SessionConfig,
    smooth_scores,
)
from wds_edge.capture.sources import open_source
from wds_edge.errors import InvalidInputError
from wds_edge.perception.quality import FrameStatus

STEP = 3  # every third frame: enough to see each phase, a third of the time


@pytest.fixture(scope="module")
def video_frames(video_path: Path) -> list:
    """Every STEP-th frame of the 240-frame clip, decoded once, with its index and time."""
    with open_source(video_path) as source:
        frames = [f for f in source if f.index % STEP == 0]
    indices = [f.index for f in frames]
    assert indices == sorted(set(indices)), "a frame was handed out twice"
    assert indices[-1] >= 237
    return frames


@pytest.fixture(scope="module")
def video_analyzer(onnx_model_path: Path, landmarker_path: Path):  # noqa: ANN201
    with WrinkleAnalyzer(
        model_path=str(onnx_model_path),
        landmarker_path=str(landmarker_path),
        backend="onnxruntime",
        video_mode=True,
        num_threads=1,
    ) as analyzer:
        yield analyzer


def test_session_collects_good_frames_and_finishes(video_analyzer, video_frames) -> None:  # noqa: ANN001
    prompts: list[str] = []
    session = KioskSession(video_analyzer, SessionConfig(frames_needed=5), on_prompt=prompts.append)
    fed = 0
    for frame in video_frames:
        if frame.index >= 180:
            break
        update = session.feed(frame.image_bgr, frame.timestamp_ms)
        fed += 1
        assert update.result is not None and "total" in update.result.timings_ms
        if update.done:
            break
    assert update.done and fed == 5, "the face frames 0-179 are all good"
    assert prompts == [PROMPT_ANALYSING, PROMPT_DONE]  # announced once each, on change
    final = session.final_result()
    assert final.complete and final.frames_used == 5 and final.frames_seen == 5
    assert final.result is not None and final.result.segmented
    assert final.result.sharpness == max(final.sharpness)
    assert set(final.scores) == set(final.result.scores)
    for name, score in final.scores.items():
        ratios = [r for r in session._good]  # noqa: SLF001 - compare with the raw frames
        expected = float(np.median([r.scores[name].wrinkle_ratio for r in ratios]))
        assert score.wrinkle_ratio == pytest.approx(expected)
    assert final.to_dict()["frames_used"] == 5
    after = session.feed(video_frames[0].image_bgr)
    assert after.done and after.prompt == PROMPT_DONE and after.result is None


def test_blurred_and_empty_frames_are_gated(video_analyzer, video_frames) -> None:  # noqa: ANN001
    prompts: list[str] = []
    session = KioskSession(
        video_analyzer, frames_needed=5, max_frames=1000, on_prompt=prompts.append
    )
    statuses: dict[int, FrameStatus] = {}
    for frame in video_frames:
        if frame.index < 180:
            continue
        update = session.feed(frame.image_bgr, frame.timestamp_ms)
        statuses[frame.index] = update.status
        assert not update.done and update.good_frames == 0
        assert update.result is not None and update.result.segmented is False
        assert {"landmarks", "quality", "total"} <= set(update.result.timings_ms)
    blurred = {s for i, s in statuses.items() if 180 <= i <= 209}
    empty = {s for i, s in statuses.items() if 210 <= i <= 239}
    assert blurred == {FrameStatus.TOO_BLURRY}
    assert empty == {FrameStatus.NO_FACE}
    assert prompts == [FrameStatus.TOO_BLURRY.prompt, FrameStatus.NO_FACE.prompt]
    final = session.final_result()
    assert not final.complete and final.frames_used == 0 and final.scores == {}
    assert final.status is FrameStatus.NO_FACE


def test_gives_up_after_max_frames_and_resets(video_analyzer, video_frames) -> None:  # noqa: ANN001
    session = KioskSession(video_analyzer, frames_needed=3, max_frames=4)
    empty = [f for f in video_frames if f.index >= 210][:4]
    updates = [session.feed(f.image_bgr, f.timestamp_ms) for f in empty]
    assert [u.done for u in updates] == [False, False, False, True]
    assert updates[-1].prompt == PROMPT_DONE and not session.final_result().complete
    session.reset()
    assert not session.done and session.good_frames == 0 and session.prompt is None


def test_bad_frames_in_a_row_drop_collected_frames(video_analyzer, video_frames) -> None:  # noqa: ANN001
    session = KioskSession(video_analyzer, frames_needed=5, reset_after_bad_frames=2)
    session.feed(video_frames[0].image_bgr, video_frames[0].timestamp_ms)
    assert session.good_frames == 1
    for frame in [f for f in video_frames if f.index >= 210][:2]:
        session.feed(frame.image_bgr, frame.timestamp_ms)
    assert session.good_frames == 0


def test_smooth_scores_median_and_mean() -> None:
    def score(ratio: float, count: int) -> dict[str, RegionScore]:
        return {"overall": RegionScore(100, int(ratio * 100), ratio, count, 10.0 * count, None)}

    frames = [score(0.1, 1), score(0.2, 2), score(0.9, 9)]
    median = smooth_scores(frames, "median")["overall"]
    assert median.wrinkle_ratio == pytest.approx(0.2) and median.wrinkle_count == 2
    assert median.total_length_mm is None
    mean = smooth_scores(frames, "mean")["overall"]
    assert mean.wrinkle_ratio == pytest.approx(0.4) and mean.wrinkle_count == 4
    assert smooth_scores([]) == {}
    with pytest.raises(InvalidInputError, match="median"):
        smooth_scores(frames, "ema")
    with pytest.raises(InvalidInputError, match="invalid session settings"):
        KioskSession(None, frames_needed=0)  # type: ignore[arg-type]
