"""WrinkleAnalyzer end to end on real photos: MediaPipe + Table 1 crop + ONNX Runtime on CPU."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from wds_edge.analysis.analyzer import AnalyzerConfig, WrinkleAnalyzer
from wds_edge.analysis.result import FrameResult
from wds_edge.errors import InvalidInputError, ModelError
from wds_edge.perception.exclusion import exclusion_zones
from wds_edge.perception.quality import FrameStatus, QualityConfig
from wds_edge.perception.regions import REGION_NAMES, region_masks
from wds_edge.perception.skin_regions import SCORING_ZONES

SEGMENT_STAGES = {"landmarks", "quality", "crop_preprocess", "inference", "postprocess", "total"}


def test_full_analysis_of_a_real_face(biden_result: FrameResult, analyzer: WrinkleAnalyzer) -> None:
    r = biden_result
    size = analyzer.input_size_px
    assert r.status is FrameStatus.OK and r.segmented and r.ok
    assert r.landmarks_px is not None and r.landmarks_px.shape == (478, 2)
    assert r.frame_shape == (1200, 1200)
    x1, y1, x2, y2 = r.face_box_px
    assert 0 <= x1 < x2 <= 1200 and 0 <= y1 < y2 <= 1200
    assert r.crop_transform is not None and r.crop_transform.size_px == size
    assert r.wrinkle_prob.shape == (size, size) and r.wrinkle_prob.dtype == np.float32
    assert r.wrinkle_prob.min() >= 0.0 and r.wrinkle_prob.max() <= 1.0
    np.testing.assert_array_equal(r.wrinkle_mask, r.wrinkle_prob > analyzer.threshold)
    assert list(r.scores) == ["overall", *REGION_NAMES]
    assert all(r.scores[name].area_px > 0 for name in REGION_NAMES)
    assert set(r.timings_ms) >= SEGMENT_STAGES
    parts = sum(r.timings_ms[k] for k in SEGMENT_STAGES - {"total"})
    assert r.timings_ms["total"] >= parts * 0.99
    assert r.model["backend"] == "onnxruntime" and r.model["device"] == "CPU"
    assert r.model == analyzer.model_description.to_dict() == analyzer.model_info
    assert set(r.model) == {"name", "version", "backend", "precision", "device", "threshold",
                            "input_size_px", "path", "sha256"}  # fmt: skip


def test_scores_agree_with_an_independent_count(biden_result: FrameResult) -> None:
    """Eq. 12 recomputed here from the returned mask, freshly built region masks and the
    exclusion zones; "overall" is the union of the counted regions, not the crop."""
    r = biden_result
    t = r.crop_transform
    landmarks = t.points_to_crop(r.landmarks_px)
    crop_rgb = r.face_crop.crop_rgb
    zones = exclusion_zones(crop_rgb, landmarks, r.mm_per_px, names=SCORING_ZONES)
    excluded = np.any(np.stack(list(zones.values())), axis=0)
    counted = np.zeros_like(excluded)
    for name, polygon in region_masks(landmarks, t.size_px).items():
        region = polygon & ~excluded  # the biden2 crop lies inside the frame
        counted |= region
        assert r.scores[name].area_px == np.count_nonzero(region)
        assert r.scores[name].removed_px == np.count_nonzero(polygon & excluded) > 0
        expected = np.count_nonzero(r.wrinkle_mask & region) / np.count_nonzero(region)
        assert r.scores[name].wrinkle_ratio == pytest.approx(expected)
    assert r.scores["overall"].area_px == np.count_nonzero(counted) < t.size_px**2 // 2
    expected = np.count_nonzero(r.wrinkle_mask & counted) / np.count_nonzero(counted)
    assert r.scores["overall"].wrinkle_ratio == pytest.approx(expected)


def test_millimetre_ruler_is_anatomically_plausible(biden_result: FrameResult) -> None:
    # The crop spans the face from its leftmost to its rightmost landmark: an adult face
    # is about 13-16 cm wide there, so the crop side in mm must be in that neighbourhood.
    crop_mm = biden_result.mm_per_px * biden_result.crop_transform.size_px
    assert 110.0 < crop_mm < 200.0
    overall = biden_result.scores["overall"]
    assert overall.total_length_mm == pytest.approx(
        overall.total_length_px * biden_result.mm_per_px
    )


def test_json_round_trip(biden_result: FrameResult) -> None:
    data = biden_result.to_dict()
    text = json.dumps(data)
    back = json.loads(text)
    assert back == data
    for key in (
        "status",
        "prompt",
        "scores",
        "timings_ms",
        "face_box_px",
        "crop_transform",
        "quality",
        "model",
    ):
        assert key in back
    assert set(back["scores"]) == {"overall", *REGION_NAMES}
    assert all("wrinkle_ratio" in s for s in back["scores"].values())
    rebuilt = FrameResult.from_dict(json.loads(json.dumps(biden_result.to_dict(True))))
    assert rebuilt.status is FrameStatus.OK
    np.testing.assert_array_equal(rebuilt.wrinkle_mask, biden_result.wrinkle_mask)
    np.testing.assert_allclose(rebuilt.landmarks_px, biden_result.landmarks_px, atol=0.01)
    assert rebuilt.scores["forehead"].wrinkle_px == biden_result.scores["forehead"].wrinkle_px


def test_a_result_rebuilt_from_json_segments_with_its_frame(
    analyzer: WrinkleAnalyzer, biden_bgr: np.ndarray, biden_result: FrameResult
) -> None:
    """A result read back from JSON has landmarks but no crop: given the frame, segment()
    crops it again and gets the same map."""
    rebuilt = FrameResult.from_dict(json.loads(json.dumps(biden_result.to_dict(True))))
    assert rebuilt.face_crop is None and rebuilt.landmarks_px is not None
    again = analyzer.segment(biden_bgr, rebuilt)
    np.testing.assert_allclose(again.wrinkle_prob, biden_result.wrinkle_prob, atol=1e-3)
    assert again.scores["overall"].wrinkle_px == pytest.approx(
        biden_result.scores["overall"].wrinkle_px, rel=0.01
    )
    with pytest.raises(InvalidInputError, match="pass the frame"):
        analyzer.segment(None, rebuilt)


def test_locate_then_segment_equals_analyze(
    analyzer: WrinkleAnalyzer, biden_bgr: np.ndarray, biden_result: FrameResult
) -> None:
    located = analyzer.locate(biden_bgr)
    assert not located.segmented and located.wrinkle_prob is None and not located.scores
    assert {"landmarks", "quality", "total"} <= set(located.timings_ms)
    assert "inference" not in located.timings_ms
    segmented = analyzer.segment(biden_bgr, located)
    assert segmented.segmented
    np.testing.assert_allclose(segmented.wrinkle_prob, biden_result.wrinkle_prob, atol=1e-5)
    with pytest.raises(InvalidInputError, match="same frame"):
        analyzer.segment(biden_bgr[:600], located)


def test_unscored_segment_keeps_the_map_mask_and_counted_regions(
    analyzer: WrinkleAnalyzer, biden_bgr: np.ndarray, biden_result: FrameResult
) -> None:
    """``score=False`` (the live screen, which scores the fused map) drops only the scores."""
    located = analyzer.locate(biden_bgr)
    bare = analyzer.segment(biden_bgr, located, score=False)
    assert bare.segmented and bare.scores == {}
    np.testing.assert_array_equal(bare.wrinkle_mask, bare.wrinkle_prob > analyzer.threshold)
    np.testing.assert_allclose(bare.wrinkle_prob, biden_result.wrinkle_prob, atol=1e-5)
    assert bare.counted_regions is not None
    for name in REGION_NAMES:
        counted = bare.counted_regions.masks[name]
        np.testing.assert_array_equal(counted, biden_result.counted_regions.masks[name])
        assert counted.any(), name
    # Scored afterwards on those regions: the scores the scored path gives.
    _, scores, _ = analyzer.score_probability(
        bare.wrinkle_prob, bare.face_crop, bare.mm_per_px, bare.counted_regions
    )
    assert scores == biden_result.scores


def test_segment_needs_a_located_face(analyzer: WrinkleAnalyzer) -> None:
    blank = np.full((480, 640, 3), 128, np.uint8)
    located = analyzer.locate(blank)
    assert located.status is FrameStatus.NO_FACE and located.crop_transform is None
    assert analyzer.analyze(blank).segmented is False
    with pytest.raises(InvalidInputError, match="without a located face \\(status 'no_face'\\)"):
        analyzer.segment(blank, located)


def test_a_numpy_timestamp_becomes_a_python_number(
    analyzer: WrinkleAnalyzer, biden_bgr: np.ndarray
) -> None:
    """Timestamps kept in a numpy array (np.int64) used to stay numpy in the result, and the
    kiosk's json.dumps of the final result failed at the end of a capture."""
    stamps = np.arange(0, 1000, 33)
    result = analyzer.analyze(biden_bgr, stamps[2])
    assert type(result.timestamp_ms) is int and result.timestamp_ms == 66
    assert json.loads(json.dumps(result.to_dict()))["timestamp_ms"] == 66
    located = analyzer.locate(biden_bgr, np.float32(12.5))
    assert type(located.timestamp_ms) is float and located.timestamp_ms == 12.5


def test_face_cut_by_the_frame_edge_scores_only_in_frame_pixels(
    analyzer: WrinkleAnalyzer, biden_bgr: np.ndarray
) -> None:
    cut = np.ascontiguousarray(biden_bgr[200:])  # the crop box now starts above the frame
    r = analyzer.analyze(cut)
    assert r.crop_transform is not None
    if r.status is not FrameStatus.OK:
        r = analyzer.segment(cut, r)
    size = r.crop_transform.size_px
    assert 0 < r.scores["overall"].area_px < size * size
    assert r.scores["overall"].wrinkle_px <= np.count_nonzero(r.wrinkle_mask)


def test_multi_face_policy(faces_dir: Path, onnx_model_path: Path, landmarker_path: Path) -> None:
    from wds_edge.io import read_image

    image = read_image(faces_dir / "obama_and_biden.jpg")
    config = AnalyzerConfig(
        model_path=str(onnx_model_path),
        landmarker_path=str(landmarker_path),
        backend="onnxruntime",
        quality=QualityConfig(multi_face_policy="refuse"),
    )
    with WrinkleAnalyzer(config) as refusing:
        r = refusing.locate(image)
        assert r.status is FrameStatus.MULTIPLE_FACES and r.quality["n_faces"] == 2
    with WrinkleAnalyzer(config, quality=QualityConfig(multi_face_policy="largest")) as largest:
        r = largest.locate(image)
        assert r.status is not FrameStatus.MULTIPLE_FACES and r.face_box_px is not None


def test_threshold_override_and_settings_errors(
    onnx_model_path: Path, landmarker_path: Path, biden_bgr: np.ndarray
) -> None:
    with WrinkleAnalyzer(
        model_path=str(onnx_model_path),
        landmarker_path=str(landmarker_path),
        backend="onnxruntime",
        threshold=0.99,
    ) as strict:
        r = strict.analyze(biden_bgr)
        assert strict.threshold == 0.99 and r.model["threshold"] == 0.99
        np.testing.assert_array_equal(r.wrinkle_mask, r.wrinkle_prob > 0.99)
    strict.close()  # idempotent
    with pytest.raises(InvalidInputError, match="closed"):
        strict.analyze(biden_bgr)
    with pytest.raises(InvalidInputError, match="invalid analyzer settings"):
        WrinkleAnalyzer(model_path=str(onnx_model_path), treshold=0.3)
    with pytest.raises(InvalidInputError, match="invalid analyzer settings"):
        WrinkleAnalyzer(model_path=str(onnx_model_path), threshold=1.5)
    with pytest.raises(InvalidInputError, match="auto, onnxruntime, openvino, tensorrt"):
        WrinkleAnalyzer(model_path=str(onnx_model_path), backend="cuda")
    with pytest.raises(ModelError, match="no such model file"):
        WrinkleAnalyzer(model_path="/nonexistent/model.onnx")


def test_model_and_landmarker_paths_may_be_path_objects(
    onnx_model_path: Path, landmarker_path: Path
) -> None:
    """pathlib.Path was refused ('must be a valid string'); it is kept as text, so the
    settings still dump to JSON."""
    config = AnalyzerConfig(model_path=onnx_model_path, landmarker_path=landmarker_path)
    assert config.model_path == str(onnx_model_path)
    assert json.loads(config.model_dump_json())["landmarker_path"] == str(landmarker_path)
    with WrinkleAnalyzer(
        model_path=Path(onnx_model_path), landmarker_path=Path(landmarker_path),
        backend="onnxruntime", num_threads=1, warmup=False,
    ) as analyzer:  # fmt: skip
        assert analyzer.model_path == Path(onnx_model_path)
    with pytest.raises(InvalidInputError, match="model_path = 3: must be a valid string"):
        WrinkleAnalyzer(model_path=3)  # not a path: still refused


_WARMUP_PROBE = """
import sys
from wds_edge.analysis.analyzer import WrinkleAnalyzer
analyzer = WrinkleAnalyzer(model_path=sys.argv[1], landmarker_path=sys.argv[2],
                           warmup=sys.argv[3] == "1")
print("skimage.morphology" in sys.modules)
analyzer.close()
"""


@pytest.mark.parametrize("warmup", [True, False])
def test_warmup_does_the_first_frame_work_at_construction(
    onnx_model_path: Path, landmarker_path: Path, warmup: bool
) -> None:
    import subprocess
    import sys

    args = [str(onnx_model_path), str(landmarker_path), "1" if warmup else "0"]
    done = subprocess.run(
        [sys.executable, "-c", _WARMUP_PROBE, *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == str(warmup)
