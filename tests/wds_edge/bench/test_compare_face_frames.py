"""bench compare's frame figures (e2e_*: frame ms, FPS, speedup_e2e) are timed on the frames
with a usable face only: a frame without one stops after the landmarks, so cycling through
it made the frame path faster than the model alone (e2e min 18.5 ms, model 430 ms)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from wds_edge.bench.compare import bench_compare
from wds_edge.model.bundled import default_model_path


def test_frames_without_a_face_are_left_out_of_the_frame_timing(
    tmp_path: Path, faces_dir: Path, landmarker_path: Path
) -> None:
    source = tmp_path / "frames"
    source.mkdir()
    (source / "a_face.jpg").symlink_to(faces_dir / "biden2.jpg")
    cv2.imwrite(str(source / "b_empty.png"), np.full((480, 640, 3), 90, np.uint8))  # no face
    # the bundled model (hundreds of ms here): a frame that skips it takes the landmarks only
    result = bench_compare(
        source, models=[default_model_path()], widths=(), landmarker_path=landmarker_path,
        max_frames=2, runs=2, warmup=0, e2e=True, torch_baseline=False, num_threads=1,
    )  # fmt: skip
    assert (result.frames, result.crops, result.e2e_frames) == (2, 1, 1)
    assert result.to_dict()["e2e_frames"] == 1
    assert any("on the 1 of 2 frames with a usable face" in n for n in result.notes)
    (row,) = result.rows
    assert row.e2e_ms is not None and row.e2e_ms.count == 2
    # every timed frame ran the model: the frame path is not faster than half of it
    assert row.e2e_ms.min_ms >= 0.5 * row.model_ms.min_ms, (row.e2e_ms, row.model_ms)
