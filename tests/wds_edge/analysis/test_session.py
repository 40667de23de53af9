"""KioskSession on real frames: the kiosk clip played as a camera (VIDEO mode, real decoding)
and real photos; one fused result per capture (issue 21)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from video_clips import read_frames, write_clip

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.result import RegionScore
from wds_edge.analysis.session import (
    PROMPT_ANALYSING,
    PROMPT_DONE,
    FinalResult,
    KioskSession,
    SessionConfig,
    smooth_scores,
)
from wds_edge.capture.sources import open_source
from wds_edge.errors import InvalidInputError
from wds_edge.io import read_image
from wds_edge.perception.expression import (
    BROWS_NOT_RAISED,
    PROMPT_NO_SMILE,
    PROMPT_RAISE_BROWS,
    PROMPT_RELAX,
    expression_level,
)
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


def test_a_smiling_face_is_asked_to_relax_then_its_calmest_frames_are_fused(
    video_analyzer, video_frames
) -> None:  # noqa: ANN001
    """The clip's face smiles in every frame: no neutral frame comes within the budget, so
    the session fuses the least expressive frames, still 'ok' but saying 'not_neutral'."""
    prompts: list[str] = []
    config = SessionConfig(frames_needed=5, frames_fused=3, max_frames=12)
    session = KioskSession(video_analyzer, config, on_prompt=prompts.append)
    updates = [session.feed(f.image_bgr, f.timestamp_ms) for f in video_frames[:12]]
    assert [u.done for u in updates] == [False] * 11 + [True]
    assert all(u.good_frames == 0 for u in updates)  # good, but none neutral
    assert prompts == [PROMPT_NO_SMILE, PROMPT_DONE]  # announced once each, on change
    final = session.final_result()
    assert final.status == "ok" and final.ok and final.complete
    assert final.warnings == ["not_neutral"] and final.expression["smile"] > 0.4
    assert final.frames_used == 3 and final.frames_seen == 12 and final.refused == {}
    assert final.dropped == {"landmarks": 0, "expression": 0, "not_chosen": 9}
    _counts_add_up(final)

    # The least expressive first; levels within a quarter of the neutral limit are equal
    # and the sharper frame goes first (here all smile alike: the three sharpest).
    def key(level: float, sharpness: float) -> tuple[int, float]:
        return int(np.floor(level / 0.25)), -sharpness

    ranked = sorted(
        (key(expression_level(u.result.expression), u.result.sharpness), i)
        for i, u in enumerate(updates)
    )
    assert sorted(u.index for u in final.used) == sorted(i for _, i in ranked[:3])
    r = final.result
    assert r is not None and r.segmented and r.warnings == ["not_neutral"]
    np.testing.assert_array_equal(r.wrinkle_mask, r.wrinkle_prob > video_analyzer.threshold)
    assert final.scores is r.scores and set(final.spread) == set(r.scores)
    data = final.to_dict()
    assert data["frames_used"] == 3 and data["frame"]["status"] == "ok"
    assert len(data["used_frames"]) == 3 and data["fused"] is True
    assert FinalResult.from_dict(data).dropped == final.dropped
    older = {**data, "frames_dropped": {"landmarks": 0}}  # written before "not_chosen"
    assert FinalResult.from_dict(older).dropped == {"landmarks": 0}
    assert session.final_result() is final  # computed once
    after = session.feed(video_frames[0].image_bgr)
    assert after.done and after.prompt == PROMPT_DONE and after.result is None


def test_blurred_and_empty_frames_are_refused_and_counted(video_analyzer, video_frames) -> None:  # noqa: ANN001
    prompts: list[str] = []
    session = KioskSession(
        video_analyzer, frames_needed=5, frames_fused=5, max_frames=1000, on_prompt=prompts.append
    )
    statuses: dict[int, FrameStatus] = {}
    for frame in video_frames:
        if frame.index < 180:
            continue
        update = session.feed(frame.image_bgr, frame.timestamp_ms)
        statuses[frame.index] = update.status
        assert not update.done and update.good_frames == 0
        assert update.result is not None and update.result.segmented is False
    blurred = {s for i, s in statuses.items() if 180 <= i <= 209}
    empty = {s for i, s in statuses.items() if 210 <= i <= 239}
    assert blurred == {FrameStatus.TOO_BLURRY}
    assert empty == {FrameStatus.NO_FACE}
    assert prompts == [FrameStatus.TOO_BLURRY.prompt, FrameStatus.NO_FACE.prompt]
    final = session.final_result()
    assert not final.complete and final.frames_used == 0 and final.scores == {}
    assert final.refused == {"too_blurry": 10, "no_face": 10}
    assert final.status in ("too_blurry", "no_face")  # the commonest refusal (a tie here)
    _counts_add_up(final)


def test_only_blurred_frames_give_the_status_too_blurry(video_analyzer, video_frames) -> None:  # noqa: ANN001
    session = KioskSession(video_analyzer, frames_fused=5, max_frames=5)
    for frame in [f for f in video_frames if 180 <= f.index <= 209][:5]:
        session.feed(frame.image_bgr, frame.timestamp_ms)
    final = session.final_result()
    assert final.status == "too_blurry" and not final.ok and final.refused == {"too_blurry": 5}
    assert final.to_dict()["status"] == "too_blurry"


def test_gives_up_after_max_frames_and_resets(video_analyzer, video_frames) -> None:  # noqa: ANN001
    session = KioskSession(video_analyzer, frames_needed=3, frames_fused=3, max_frames=4)
    empty = [f for f in video_frames if f.index >= 210][:4]
    updates = [session.feed(f.image_bgr, f.timestamp_ms) for f in empty]
    assert [u.done for u in updates] == [False, False, False, True]
    assert updates[-1].prompt == PROMPT_DONE
    final = session.final_result()
    assert not final.complete and final.status == "no_face"
    session.reset()
    assert not session.done and session.good_frames == 0 and session.prompt is None
    assert session.final_result().status == "no_frames"


def test_bad_frames_in_a_row_drop_collected_frames(video_analyzer, video_frames) -> None:  # noqa: ANN001
    """The person walked away (2 refused frames in a row here) and someone's good frames came
    after: only those are fused, and the result counts the frames the reset dropped."""
    session = KioskSession(
        video_analyzer, frames_needed=5, frames_fused=3, reset_after_bad_frames=2
    )
    for frame in video_frames[:3]:
        session.feed(frame.image_bgr, frame.timestamp_ms)
    assert len(session._candidates) == 3  # noqa: SLF001 - good (smiling) frames
    for frame in [f for f in video_frames if f.index >= 210][:2]:
        session.feed(frame.image_bgr, frame.timestamp_ms)
    assert session._candidates == [] and session.frames_reset == 3  # noqa: SLF001
    for frame in video_frames[3:5]:  # a face again: frames 5 and 6 of the session
        session.feed(frame.image_bgr, frame.timestamp_ms)
    final = session.final_result()
    assert final.status == "ok" and sorted(u.index for u in final.used) == [5, 6]
    assert final.frames_reset == 3 and final.to_dict()["frames_reset"] == 3
    _counts_add_up(final)


def test_the_persons_frames_are_fused_when_nothing_usable_came_after_a_reset(
    video_analyzer, video_frames
) -> None:  # noqa: ANN001
    """Defect: the person walked away at the end of the capture (the kiosk clip's last 60
    frames are blurred, then empty): the reset dropped every good frame and the capture
    returned a refusal. With nothing usable after the reset, the dropped group is fused."""
    session = KioskSession(
        video_analyzer, frames_needed=5, frames_fused=3, max_frames=12, reset_after_bad_frames=4
    )
    blurred = [f for f in video_frames if 180 <= f.index <= 209]
    empty = [f for f in video_frames if f.index >= 210]
    for frame in video_frames[:4] + blurred[:4] + empty[:4]:  # smiling, blurred, no face
        update = session.feed(frame.image_bgr, frame.timestamp_ms)
    assert update.done and session.good_frames == 0 and session.frames_reset == 4
    final = session.final_result()
    assert final.status == "ok" and final.frames_used == 3 and final.complete
    assert final.warnings == ["not_neutral"] and final.frames_reset == 0
    assert all(u.index < 4 for u in final.used) and final.dropped["landmarks"] == 0
    assert final.refused == {"too_blurry": 4, "no_face": 4}
    # a capture that never saw a face still says why
    nobody = KioskSession(video_analyzer, frames_fused=3, max_frames=4, reset_after_bad_frames=2)
    for frame in empty[-4:]:
        nobody.feed(frame.image_bgr, frame.timestamp_ms)
    assert nobody.final_result().status == "no_face" and nobody.final_result().frames_reset == 0


@pytest.fixture(scope="module")
def clip_by_index(video_path: Path) -> dict[int, np.ndarray]:
    """Frames of the kiosk clip by index: the smiling face (0-23), blurred (180-194) and
    empty (210-224)."""
    return read_frames(video_path, [*range(24), *range(180, 195), *range(210, 225)])


def test_a_clip_whose_person_walks_away_at_the_end_is_fused(
    video_analyzer, clip_by_index, tmp_path: Path
) -> None:  # noqa: ANN001
    """The kiosk clip shortened: 12 frames of the face, then 15 blurred and 15 empty (the
    default reset_after_bad_frames of 30). analyze_video read it to its end and returned
    too_blurry with no frame fused; the face's frames are fused. When another face comes
    after the reset, only its frames are fused and the result says how many were dropped."""
    from wds_edge.analysis.video import analyze_video

    face = [clip_by_index[i] for i in range(12)]
    gone = [clip_by_index[i] for i in range(180, 195)] + [clip_by_index[i] for i in range(210, 225)]
    final = analyze_video(video_analyzer, write_clip(tmp_path / "left.avi", face + gone))
    assert final.status == "ok" and final.frames_used == 10 and final.frames_seen == 42
    assert final.frames_reset == 0 and final.warnings == ["not_neutral"]
    assert final.refused == {"too_blurry": 15, "no_face": 15}
    again = [clip_by_index[i] for i in range(12, 24)]
    clip = write_clip(tmp_path / "next.avi", face + gone + again)
    final = analyze_video(video_analyzer, clip)
    assert final.status == "ok" and final.frames_reset == 12 and final.frames_seen == 54
    assert min(u.index for u in final.used) >= 42


@pytest.mark.slow
def test_the_kiosk_clip_is_fused_with_the_bundled_model(
    video_path: Path, landmarker_path: Path
) -> None:
    """The project's own kiosk clip (a smiling face, frames 180-209 blurred, 210-239 empty)
    read whole with the bundled model: it said too_blurry with 0 frames fused."""
    from wds_edge.analysis.video import analyze_video

    with WrinkleAnalyzer(
        landmarker_path=str(landmarker_path), backend="onnxruntime", video_mode=True
    ) as bundled:
        final = analyze_video(bundled, video_path)
    assert final.status == "ok" and final.frames_used == 10 and final.frames_seen == 240
    assert final.warnings == ["not_neutral"] and final.frames_reset == 0
    assert final.refused == {"too_blurry": 30, "no_face": 30}


def _counts_add_up(final) -> None:  # noqa: ANN001
    """Every frame fed is counted once, and every reason to drop is reported."""
    assert set(final.dropped) == {"landmarks", "expression", "not_chosen"}, final.dropped
    total = final.frames_used + sum(final.refused.values()) + sum(final.dropped.values())
    assert total + final.frames_reset == final.frames_seen, final.to_dict()


def _shifted(bgr: np.ndarray, dx: int) -> np.ndarray:
    """The photo moved ``dx`` pixels sideways (a still face, another camera frame)."""
    return cv2.warpAffine(bgr, np.float32([[1, 0, dx], [0, 1, 0]]), bgr.shape[1::-1])


def test_a_neutral_face_is_fused_without_warning_and_another_face_before_it_is_set_aside(
    analyzer, faces_dir: Path, shared_dir: Path
) -> None:  # noqa: ANN001
    """ffhq_00016 (no smile, smile score 0.00) shifted a little per frame is one still face;
    a frame of another neutral person (D000096) before it misfits its landmarks: it is set
    aside as another face (frames_reset), not fused."""
    neutral = read_image(faces_dir / "ffhq_00016.png")
    other = read_image(shared_dir / "data" / "faces_pd" / "D000096.jpg")
    prompts: list[str] = []
    session = KioskSession(analyzer, frames_needed=5, frames_fused=5, on_prompt=prompts.append)
    session.feed(other)
    for dx in range(5):
        update = session.feed(_shifted(neutral, 3 * dx))
    assert update.done and update.good_frames == 5
    assert prompts == [PROMPT_ANALYSING, PROMPT_DONE]
    final = session.final_result()
    assert final.status == "ok" and final.warnings == [] and final.expression["smile"] < 0.4
    assert final.frames_reset == 1 and final.dropped["landmarks"] == 0
    assert final.frames_used == 5 and final.complete
    assert 0 not in [u.index for u in final.used]  # the other person's frame
    assert max(u.misfit_mm for u in final.used) < 1.5


def test_another_face_sets_the_frames_before_it_aside(analyzer, faces_dir: Path) -> None:  # noqa: ANN001
    """8 frames of one neutral face, then 6 sharper frames of another (no refused frame
    between): the change of face sets the first person's frames aside, so only the second
    person's frames are fused (before: the session kept the crops that fit the median
    landmarks and fused frames of one person after a group of both)."""
    person = read_image(faces_dir / "obama3.jpg")
    stranger = read_image(faces_dir / "biden.jpg")
    session = KioskSession(analyzer, frames_needed=14, frames_fused=2)
    for k in range(14):
        session.feed(_shifted(person, k) if k < 8 else _shifted(stranger, k - 8))
    assert session.frames_reset == 8 and session.good_frames == 6
    final = session.final_result()
    assert final.status == "ok" and final.frames_used == 2 and final.complete
    assert all(u.index >= 8 for u in final.used), [u.index for u in final.used]
    assert final.frames_reset == 8 and final.dropped["not_chosen"] == 4
    _counts_add_up(final)


def test_two_people_with_a_short_gap_are_never_fused_together(
    analyzer, faces_dir: Path, shared_dir: Path
) -> None:  # noqa: ANN001
    """Person A (ffhq_00016) for 6 frames, 5 empty frames (fewer than
    reset_after_bad_frames: no walk-away), person B (D000096) for 6: the median of the
    mixed group lay halfway between them, each misfit it by ~1.2 mm < 1.5 mm and frames
    of both were fused, status ok, no warning. The change of face sets A's frames aside."""
    a = read_image(faces_dir / "ffhq_00016.png")
    b = read_image(shared_dir / "data" / "faces_pd" / "D000096.jpg")
    blank = np.full((480, 640, 3), 90, np.uint8)
    session = KioskSession(analyzer, frames_needed=12, frames_fused=10, max_frames=17)
    frames = [_shifted(a, k % 4) for k in range(6)] + [blank] * 5
    frames += [_shifted(b, k % 4) for k in range(6)]
    for frame in frames:
        update = session.feed(frame)
    assert update.done
    final = session.final_result()
    assert final.status == "ok" and final.frames_reset == 6
    assert sorted(u.index for u in final.used) == list(range(11, 17))
    assert final.refused == {"no_face": 5} and not final.complete
    _counts_add_up(final)


def test_a_face_that_never_holds_still_fuses_one_frame_and_counts_the_others(
    analyzer, faces_dir: Path
) -> None:  # noqa: ANN001
    """No two frames within the (here absurdly small) tolerance: the best-fitting frame is
    fused alone and the other four are the dropped ones (not five of five)."""
    face = read_image(faces_dir / "ffhq_00016.png")
    session = KioskSession(analyzer, frames_needed=5, frames_fused=5, landmark_tolerance_mm=1e-6)
    for dx in range(5):
        session.feed(_shifted(face, 3 * dx))
    final = session.final_result()
    assert final.frames_used == 1 and final.dropped["landmarks"] == 4
    _counts_add_up(final)
    assert final.warnings is not final.result.warnings


def test_bad_settings_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="invalid session settings"):
        KioskSession(None, frames_needed=0)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="invalid session settings"):
        KioskSession(None, smoothing="median")  # type: ignore[arg-type]


def test_an_rgb_camera_says_so_with_colour_order(analyzer, faces_dir: Path) -> None:  # noqa: ANN001
    """An RGB kiosk (Pillow, picamera2) had no way to say so: its frames were read as BGR
    and refused as colour_cast. With colour_order="rgb" it gets the BGR camera's result."""
    bgr = read_image(faces_dir / "ffhq_00016.png")
    finals = {}
    for order in ("bgr", "rgb"):
        session = KioskSession(analyzer, frames_needed=2, frames_fused=2)
        for dx in range(2):
            frame = _shifted(bgr, 3 * dx)
            frame = np.ascontiguousarray(frame[:, :, ::-1]) if order == "rgb" else frame
            update = session.feed(frame, colour_order=order)
            assert update.status is FrameStatus.OK, (order, update.status)
        finals[order] = session.final_result()
    assert finals["rgb"].status == "ok" and finals["rgb"].frames_used == 2
    assert finals["rgb"].scores["overall"] == finals["bgr"].scores["overall"]
    with pytest.raises(InvalidInputError, match="colour_order must be one of bgr, rgb"):
        KioskSession(analyzer).feed(bgr, colour_order="grb")


def test_settings_that_could_never_complete_are_refused() -> None:
    """A session stops collecting at frames_needed good frames or max_frames fed: asked to
    fuse more, it was never complete (kiosk_loop --frames-needed 3 always exited 1)."""
    with pytest.raises(InvalidInputError) as info:
        KioskSession(None, frames_needed=3)  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith("invalid session settings: frames_fused (10) must not be above "
                              "frames_needed (3)") and "value =" not in message  # fmt: skip
    with pytest.raises(InvalidInputError, match=r"frames_fused \(5\) .* above max_frames \(4\)"):
        KioskSession(None, frames_needed=60, frames_fused=5, max_frames=4)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="lower frames_fused or raise"):
        SessionConfig(frames_needed=5, max_frames=2)
    # a capture of fixed length (bench repeatability's parts): max_frames below frames_needed
    assert SessionConfig(frames_needed=60, frames_fused=10, max_frames=30).max_frames == 30
    assert SessionConfig(frames_needed=3, frames_fused=3, max_frames=3).frames_fused == 3


def test_a_few_neutral_frames_are_fused_sharpest_first(analyzer, faces_dir: Path) -> None:  # noqa: ANN001
    """Most frames refused, the few good ones all neutral (fewer than half of frames_fused):
    they are fused as the neutral group (sharpest first, nothing dropped for expression),
    not ranked as if no neutral frame had come."""
    face = read_image(faces_dir / "ffhq_00016.png")
    blank = np.full((480, 640, 3), 90, np.uint8)
    session = KioskSession(analyzer, frames_needed=8, frames_fused=8, max_frames=8)
    for dx in range(3):
        session.feed(cv2.GaussianBlur(_shifted(face, 3 * dx), (0, 0), 0.6 * dx) if dx else face)
    for _ in range(5):
        update = session.feed(blank)
    assert update.done and update.good_frames == 3
    final = session.final_result()
    assert final.status == "ok" and final.warnings == [] and final.frames_used == 3
    assert final.dropped == {"landmarks": 0, "expression": 0, "not_chosen": 0}
    _counts_add_up(final)
    sharpness = [u.sharpness for u in final.used]
    assert sharpness == sorted(sharpness, reverse=True)
    assert final.refused == {"no_face": 5} and not final.complete


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


def test_a_raise_brows_capture_fuses_raised_brows_and_says_when_it_got_none(
    analyzer, faces_dir: Path, shared_dir: Path
) -> None:  # noqa: ANN001
    """W000187 raises her brows (brow_raise 0.46): a raise_brows capture takes her frames as
    they are, where a neutral capture asks her to relax. ffhq_00016 does not raise them
    (0.03): the capture prompts, then fuses the most raised frames it has, warning."""
    raised = read_image(shared_dir / "data" / "faces_pd" / "W000187.jpg")
    prompts: list[str] = []
    session = KioskSession(
        analyzer, frames_needed=3, frames_fused=3, expression="raise_brows",
        on_prompt=prompts.append,
    )  # fmt: skip
    for dx in range(3):
        update = session.feed(_shifted(raised, 2 * dx))
    assert update.done and update.good_frames == 3
    assert prompts == [PROMPT_ANALYSING, PROMPT_DONE]
    final = session.final_result()
    assert final.status == "ok" and final.capture == "raise_brows" and final.warnings == []
    assert final.frames_used == 3 and final.expression["brow_raise"] > 0.3
    assert final.to_dict()["capture"] == "raise_brows" and "forehead" in final.scores
    neutral = KioskSession(analyzer, frames_needed=3, frames_fused=3, max_frames=3)
    assert neutral.feed(raised).prompt == PROMPT_RELAX  # the default capture: relax, please

    prompts.clear()
    session = KioskSession(
        analyzer, frames_needed=3, frames_fused=2, max_frames=4, expression="raise_brows",
        on_prompt=prompts.append,
    )  # fmt: skip
    still = read_image(faces_dir / "ffhq_00016.png")
    for dx in range(4):
        update = session.feed(_shifted(still, 2 * dx))
    assert update.done and update.good_frames == 0
    assert prompts == [PROMPT_RAISE_BROWS, PROMPT_DONE]
    final = session.final_result()
    assert final.status == "ok" and final.warnings == [BROWS_NOT_RAISED]
    assert final.frames_used == 2 and final.capture == "raise_brows"
    with pytest.raises(InvalidInputError, match="raise_brows"):
        KioskSession(analyzer, expression="frown")  # not offered: see perception/expression


def _on_canvas(bgr: np.ndarray, scale: float) -> np.ndarray:
    """The photo scaled by ``scale`` (area interpolation) in the corner of a 1280 x 720 frame:
    the same face nearer to or farther from the camera."""
    small = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.zeros((720, 1280, 3), np.uint8)
    canvas[: small.shape[0], : small.shape[1]] = small
    return canvas


@pytest.fixture(scope="module")
def bundled_analyzer(landmarker_path: Path):  # noqa: ANN201
    """The bundled model (640 px crops, the kiosk's): the crop enlarges a face box narrower
    than that, which the gate's sharpness undoes by measuring at the box's size."""
    with WrinkleAnalyzer(
        landmarker_path=str(landmarker_path), backend="onnxruntime", num_threads=1
    ) as analyzer:
        yield analyzer


def test_the_nearer_of_equally_sharp_faces_is_fused(bundled_analyzer, faces_dir: Path) -> None:  # noqa: ANN001
    """biden2.jpg at 0.6 x (face box ~270 px) and 0.4 x (~180 px) in turn. The gate measures a
    box narrower than 256 px at its own size (so a sharp small face is not called blurred),
    which reads sharper the smaller the face; ranked by it the session fused the four far
    frames and registered onto one. Ranked by sharpness_ranked (the crop at 256 px whatever
    the face's size) the four near frames, with more face pixels, are fused."""
    photo = read_image(faces_dir / "biden2.jpg")
    near, far = _on_canvas(photo, 0.6), _on_canvas(photo, 0.4)
    config = SessionConfig(frames_needed=8, frames_fused=4, max_frames=8)
    session = KioskSession(bundled_analyzer, config)
    results = [session.feed(near if k % 2 == 0 else far).result for k in range(8)]
    assert all(r.status is FrameStatus.OK for r in results), [r.status for r in results]
    width = [r.face_box_px[2] - r.face_box_px[0] for r in results]
    assert min(width[0::2]) > 256 > max(width[1::2])
    gate = [r.quality["sharpness"] for r in results]
    ranked = [r.quality["sharpness_ranked"] for r in results]
    assert min(gate[1::2]) > max(gate[0::2])  # the gate's value favours the far face
    assert min(ranked[0::2]) > max(ranked[1::2])
    assert gate[0::2] == ranked[0::2]  # a box of 256 px or more: the same measurement
    final = session.final_result()
    assert final.status == "ok" and final.frames_used == 4
    assert sorted(u.index for u in final.used) == [0, 2, 4, 6]
    box = final.result.face_box_px
    assert box[2] - box[0] > 256  # registered onto a near frame


def _mixed_session(analyzer, clip_by_index, face, neutral: int, blur: float = 1.0, **overrides):  # noqa: ANN001, ANN202
    """Three smiling frames of the kiosk clip, then ``neutral`` blurred neutral frames of
    ffhq_00016 (two faces: the face-change and landmark checks are lifted so that the
    group choice alone decides)."""
    session = KioskSession(
        analyzer, frames_needed=10, frames_fused=4, max_frames=3 + neutral,
        face_change_mm=1e3, landmark_tolerance_mm=1e3, **overrides,
    )  # fmt: skip
    frames = [clip_by_index[i] for i in (0, 3, 6)]
    frames += [cv2.GaussianBlur(_shifted(face, dx), (0, 0), blur) for dx in range(neutral)]
    updates = [session.feed(frame) for frame in frames]
    assert [u.result.status for u in updates] == [FrameStatus.OK] * len(frames)
    assert [u.good_frames for u in updates][-1] == neutral  # the smiling ones are not
    return session, updates


def test_half_of_frames_fused_neutral_frames_are_fused_as_the_neutral_group(
    analyzer, clip_by_index, faces_dir: Path
) -> None:  # noqa: ANN001
    """frames_fused 4: two neutral frames (half) make the neutral group, fused without
    warning; one is not enough and the least expressive frames are fused, not_neutral."""
    face = read_image(faces_dir / "ffhq_00016.png")
    session, _ = _mixed_session(analyzer, clip_by_index, face, 2)
    final = session.final_result()
    assert final.warnings == [] and sorted(u.index for u in final.used) == [3, 4]
    assert final.dropped["expression"] == 3
    session, _ = _mixed_session(analyzer, clip_by_index, face, 1)
    final = session.final_result()
    assert final.warnings == ["not_neutral"] and final.frames_used == 4


def test_the_fused_map_is_registered_onto_the_sharpest_fused_frame(
    analyzer, clip_by_index, faces_dir: Path
) -> None:  # noqa: ANN001
    """In the not_neutral fallback the frames are fused least expressive first: the blurred
    neutral frame comes first, but the reference (whose crop the result is in) is the
    sharpest fused frame."""
    face = read_image(faces_dir / "ffhq_00016.png")
    session, updates = _mixed_session(analyzer, clip_by_index, face, 1, blur=2.0)
    final = session.final_result()
    used = [u.index for u in final.used]
    assert final.warnings == ["not_neutral"] and used[0] == 3  # the neutral one first

    def ranked(i: int) -> float:
        return updates[i].result.quality["sharpness_ranked"]

    sharpest = max(used, key=ranked)
    assert sharpest != used[0]
    reference = updates[sharpest].result
    assert final.result.expression == reference.expression
    np.testing.assert_array_equal(
        final.result.face_crop.landmarks_crop_px, reference.face_crop.landmarks_crop_px
    )
