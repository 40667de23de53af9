"""RegionScore / FrameResult values and their JSON form."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from wds_edge.analysis.final import FinalResult, UsedFrame
from wds_edge.analysis.result import FrameResult, RegionScore, decode_mask_png, encode_mask_png
from wds_edge.errors import InvalidInputError
from wds_edge.perception.quality import FrameStatus


def test_region_score_round_trip() -> None:
    score = RegionScore(200, 7, 7 / 200, 2, 12.5, 1.25, removed_px=31)
    data = score.to_dict()
    assert data == {
        "area_px": 200,
        "wrinkle_px": 7,
        "wrinkle_ratio": 0.035,
        "wrinkle_count": 2,
        "total_length_px": 12.5,
        "total_length_mm": 1.25,
        "removed_px": 31,
    }
    assert RegionScore.from_dict(json.loads(json.dumps(data))) == score
    assert RegionScore(1, 0, 0.0, 0, 0.0).to_dict()["total_length_mm"] is None


def test_no_face_result_is_json_ready() -> None:
    r = FrameResult(
        status=FrameStatus.NO_FACE,
        prompt=FrameStatus.NO_FACE.prompt,
        frame_shape=(480, 640),
        quality={"n_faces": np.float64(0.0), "odd": float("nan")},
        timings_ms={"landmarks": np.float32(3.5), "total": 4.0},
    )
    data = json.loads(json.dumps(r.to_dict(include_arrays=True)))
    assert data["status"] == "no_face" and data["prompt"] == FrameStatus.NO_FACE.prompt
    assert data["scores"] == {} and data["face_box_px"] is None and data["crop_transform"] is None
    assert data["quality"] == {"n_faces": 0.0, "odd": None}
    assert data["timings_ms"] == {"landmarks": 3.5, "total": 4.0}
    assert data["landmarks_px"] is None and data["wrinkle_mask_png"] is None
    assert not r.ok and r.sharpness == 0.0
    back = FrameResult.from_dict(data)
    assert back.status is FrameStatus.NO_FACE and back.frame_shape == (480, 640)


def test_mask_png_encoding_is_lossless() -> None:
    mask = np.zeros((17, 23), bool)
    mask[3:9, 4] = True
    mask[12, 1:20] = True
    np.testing.assert_array_equal(decode_mask_png(encode_mask_png(mask)) > 127, mask)
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(decode_mask_png(encode_mask_png(values)), values)


def test_numpy_timestamps_are_json_ready() -> None:
    """A result made with a numpy timestamp (by hand, or fed to a session) still dumps."""
    frame = FrameResult(FrameStatus.OK, "", (480, 640), timestamp_ms=np.int64(66))
    assert json.loads(json.dumps(frame.to_dict()))["timestamp_ms"] == 66
    used = UsedFrame(index=2, timestamp_ms=np.int64(66), sharpness=1.0, misfit_mm=0.1)  # type: ignore[arg-type]
    final = FinalResult("ok", frame, {}, 1, 1, True, used=[used])
    data = json.loads(json.dumps(final.to_dict()))
    assert data["used_frames"][0]["timestamp_ms"] == 66 and data["frame"]["timestamp_ms"] == 66


def _ok_result() -> FrameResult:
    overall = RegionScore(200, 7, 7 / 200, 2, 12.5, 1.25, removed_px=31)
    return FrameResult(
        FrameStatus.OK, "hold still", (720, 1280), face_box_px=(1.0, 2.0, 30.0, 40.0),
        scores={"overall": overall}, quality={"sharpness": 80.0}, segmented=True,
        warnings=["not_neutral"],
    )  # fmt: skip


def _capture(**changes: object) -> FinalResult:
    frame = _ok_result()
    used = [
        UsedFrame(4, 133, 81.5, 0.12, {"smile": 0.1, "brow_raise": 0.5, "frown": 0.0}),
        UsedFrame(9, None, 79.25, 0.3),
    ]
    fields = {
        "status": "ok", "result": frame, "scores": frame.scores, "frames_used": 2,
        "frames_seen": 10, "complete": False, "used": used, "refused": {"no_face": 3},
        "dropped": {"landmarks": 1, "expression": 4}, "frames_reset": 6,
        "spread": {"overall": {"mean": 0.035, "sd": 0.002, "cv": 0.057, "min": 0.033,
                               "max": 0.037}},
        "expression": {"smile": 0.1, "brow_raise": 0.5, "frown": 0.0},
        "warnings": ["brows_not_raised"], "timings_ms": {"segment": 280.0, "fuse": 3.5},
        "capture": "raise_brows",
    }  # fmt: skip
    return FinalResult(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_capture_round_trips_through_final_result_from_dict() -> None:
    """Defect: a capture's JSON could only be rebuilt with FrameResult.from_dict, as its
    reference frame: the capture kind, frames used and spread were lost, and compare
    judged it as a single photo."""
    final = _capture()
    data = json.loads(json.dumps({"input": "clip.mp4", **final.to_dict(include_arrays=True)}))
    back = FinalResult.from_dict(data)
    assert back.to_dict(include_arrays=True) == final.to_dict(include_arrays=True)
    assert back.capture == "raise_brows" and back.used == final.used
    assert back.frames_reset == 6 and data["frames_reset"] == 6
    assert back.result is not None and back.result.scores == final.scores
    empty = FinalResult("no_frames", None, {}, 0, 0, False).to_dict()
    assert FinalResult.from_dict(empty).to_dict() == empty
    # a capture's JSON from before frames_reset was reported: nothing was dropped so
    assert (
        FinalResult.from_dict({k: v for k, v in data.items() if k != "frames_reset"}).frames_reset
        == 0
    )
    # an earlier capture's JSON without "capture" was a neutral one (compare reads it so)
    assert FinalResult.from_dict({k: v for k, v in empty.items() if k != "capture"}).capture == (
        "neutral"
    )


def test_frame_result_from_dict_points_a_capture_to_final_result_from_dict() -> None:
    data = json.loads(json.dumps(_capture().to_dict()))
    with pytest.raises(InvalidInputError, match=r"fused capture's result .*FinalResult.from_dict"):
        FrameResult.from_dict(data)
    with pytest.raises(InvalidInputError, match=r"not a fused capture's .*FrameResult.from_dict"):
        FinalResult.from_dict(_ok_result().to_dict())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"capture": "frown"}, "'capture' must be 'neutral' or 'raise_brows', got 'frown'"),
        ({"status": "timed_out"}, "'status' must be 'ok', a frame status or 'no_frames'"),
        ({"frames_used": -1}, "'frames_used' must be a whole number >= 0"),
        ({"frames_reset": 2.5}, "'frames_reset' must be a whole number >= 0"),
        ({"frames_refused": {"no_face": 1.5}}, "'frames_refused' must be a table of frame"),
        ({"used_frames": [{"index": 1}]}, "'used_frames' must be a list of used frames"),
        ({"per_frame_spread": {"overall": {"sd": "x"}}}, "'per_frame_spread' must be a table"),
        ({"complete": 1}, "'complete' must be true or false"),
        ({"frame": [1]}, "'frame': a frame result is a dict, got list"),
        ({"frame": {"status": "ok"}}, "'frame': a frame result's 'frame_shape' must be"),
        ({"status": "error", "error": "boom"}, "error outcome of a batch"),
    ],
)
def test_final_result_from_dict_says_which_key_is_wrong(change: dict, message: str) -> None:
    data = {**json.loads(json.dumps(_capture().to_dict())), **change}
    with pytest.raises(InvalidInputError, match=message):
        FinalResult.from_dict(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "timed_out"}, "status 'timed_out' is not a frame status"),
        ({"status": None}, "status None is not a frame status"),
        ({"frame_shape": None}, "'frame_shape' must be \\[height, width\\], got None"),
        ({"frame_shape": [720]}, "'frame_shape' must be"),
        ({"quality": {"sharpness": "abc"}}, "'quality' must be a table of numbers"),
        ({"scores": [1, 2]}, "'scores' must be a table of region scores"),
        ({"scores": {"overall": {"area_px": 3}}}, "scores\\['overall'\\]: .* needs 'wrinkle_px'"),
        ({"warnings": "not_neutral"}, "'warnings' must be a list of names"),
        ({"segmented": "false"}, "'segmented' must be true or false"),
        ({"face_box_px": [1, 2]}, "'face_box_px' must be null or"),
        ({"wrinkle_mask_png": "not base64!"}, "'wrinkle_mask_png' must be null or base64 PNG"),
        ({"timestamp_ms": "33"}, "'timestamp_ms' must be null or a number"),
        # JSON from Python may hold NaN / Infinity; to_dict never writes them (null instead)
        ({"timestamp_ms": float("nan")}, "'timestamp_ms' must be null or a number"),
        ({"mm_per_px": float("inf")}, "'mm_per_px' must be null or a number"),
    ],
)
def test_from_dict_says_which_key_is_wrong(change: dict, message: str) -> None:
    data = {**_ok_result().to_dict(), **change}
    with pytest.raises(InvalidInputError, match=message):
        FrameResult.from_dict(data)


_TRANSFORM = {"box_px": [10.0, 20.0, 74.0, 84.0], "size_px": 64, "roll_deg": 0.0,
              "matrix": [[1.0, 0.0, -10.0], [0.0, 1.0, -20.0]]}  # fmt: skip


def test_from_dict_rebuilds_the_crop_transform() -> None:
    """It was left out: a result read back from JSON drew no mask, box or regions."""
    data = json.loads(json.dumps({**_ok_result().to_dict(), "crop_transform": _TRANSFORM}))
    back = FrameResult.from_dict(data)
    assert back.crop_transform is not None and back.crop_transform.size_px == 64
    np.testing.assert_allclose(back.crop_transform.points_to_frame(np.zeros((1, 2))), [[10, 20]])
    assert back.to_dict()["crop_transform"]["matrix"] == _TRANSFORM["matrix"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"matrix": [[1.0, 2.0, 0.0], [2.0, 4.0, 0.0]]}, r"'crop_transform': .* is singular"),
        ({"matrix": [[1.0, 0.0]]}, r"'crop_transform': .* must be a finite \(2, 3\) affine"),
        ({"size_px": 0}, "'crop_transform' must be null or a table with box_px"),
        ({"size_px": "64"}, "'crop_transform' must be null or a table with box_px"),
        ({"box_px": [1, 2]}, "'crop_transform' must be null or a table with box_px"),
        ({"matrix": None}, r"'crop_transform': .* must be a finite \(2, 3\) affine"),
    ],
)
def test_from_dict_refuses_a_crop_transform_of_the_wrong_form(change: dict, message: str) -> None:
    data = {**_ok_result().to_dict(), "crop_transform": {**_TRANSFORM, **change}}
    with pytest.raises(InvalidInputError, match=message):
        FrameResult.from_dict(data)
    del data["crop_transform"]["size_px"]
    with pytest.raises(InvalidInputError, match="'crop_transform' must be null or a table"):
        FrameResult.from_dict(data)


def test_from_dict_refuses_a_mask_of_another_size_than_the_crop() -> None:
    result = dataclasses.replace(_ok_result(), wrinkle_mask=np.zeros((32, 32), bool))
    data = {**result.to_dict(include_arrays=True), "crop_transform": _TRANSFORM}
    with pytest.raises(InvalidInputError, match="'wrinkle_mask_png' is 32x32, but its crop"):
        FrameResult.from_dict(data)


def test_from_dict_refuses_a_batch_error_outcome() -> None:
    with pytest.raises(InvalidInputError, match="error outcome of a batch \\(x.jpg: boom\\)"):
        FrameResult.from_dict({"input": "x.jpg", "status": "error", "error": "boom"})
    with pytest.raises(InvalidInputError, match="a frame result is a dict, got list"):
        FrameResult.from_dict([])  # type: ignore[arg-type]
    # null tables are empty tables
    data = {**_ok_result().to_dict(), "scores": None, "quality": None, "model": None}
    back = FrameResult.from_dict(data)
    assert back.scores == {} and back.quality == {} and back.model == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mm_per_px": 10**400}, "'mm_per_px' must be null or a number"),
        ({"landmarks_px": [[10**400, 1.0]]}, "'landmarks_px' must be null or"),
        ({"quality": {"sharpness": 10**400}}, "'quality' must be a table of numbers"),
        (
            {
                "scores": {
                    "overall": {
                        **_ok_result().scores["overall"].to_dict(),
                        "wrinkle_ratio": 10**400,
                    }
                }
            },
            "scores\\['overall'\\]: a region score holds numbers",
        ),
    ],
)
def test_from_dict_refuses_numbers_too_large_for_a_float(change: dict, message: str) -> None:
    """Defect: a hand-edited 10 ** 400 ended in OverflowError, not InvalidInputError."""
    data = {**_ok_result().to_dict(), **change}
    with pytest.raises(InvalidInputError, match=message):
        FrameResult.from_dict(data)
