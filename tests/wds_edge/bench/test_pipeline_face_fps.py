"""bench pipeline's face FPS counts every segmented frame, with its own share of the wall
time: it counted only the chunks in which every frame was segmented, so it moved with --chunk
(30: 180 frames counted, 31: 155) and was "-" on a clip with one blurred frame per chunk."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.bench.pipeline_bench import bench_pipeline


@pytest.fixture
def face_and_empty_frames(tmp_path: Path, faces_dir: Path) -> Path:
    """face, face, no face, face, face, no face (the empty frames land in every chunk of 3
    and in every other chunk of 2)."""
    source = tmp_path / "frames"
    source.mkdir()
    for i in range(6):
        name = source / f"{i:02d}.png"
        if i % 3 == 2:
            cv2.imwrite(str(name), np.full((480, 640, 3), 90, np.uint8))
        else:
            name.symlink_to(faces_dir / "biden2.jpg")
    return source


def test_face_fps_counts_every_segmented_frame_whatever_the_chunk(
    face_and_empty_frames: Path, onnx_model_path: Path, landmarker_path: Path
) -> None:
    runs = {
        chunk: bench_pipeline(
            face_and_empty_frames,
            model_path=onnx_model_path,
            backend="onnxruntime",
            landmarker_path=landmarker_path,
            num_threads=1,
            modes=["serial", "two-stage"],
            chunk_frames=chunk,
        )  # fmt: skip
        for chunk in (2, 3)
    }
    for chunk, result in runs.items():
        for mode in result.modes:
            assert mode.segmented == 4, (chunk, mode.label, result.status_counts)
            # every segmented frame counts, none of the empty ones
            assert mode.face_frames == mode.segmented, (chunk, mode.label)
            assert mode.face_fps is not None and mode.face_fps > 0
            assert 0 < mode.face_wall_s < mode.wall_s
            assert mode.summary_row()["face FPS"] is not None
