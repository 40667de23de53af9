"""bench compare --widths looks for a usable face before it exports the width models: a
source without one was refused only after seconds to minutes of exports, which stayed in
--out/models (the CLI promises "the inputs first (exit 2, nothing made)")."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.errors import InvalidInputError


def test_a_source_without_a_face_is_refused_before_any_export(
    tmp_path: Path, landmarker_path: Path
) -> None:
    pytest.importorskip("torch", reason="the --widths exports need torch")
    source = tmp_path / "frames"
    source.mkdir()
    cv2.imwrite(str(source / "grey.png"), np.full((480, 640, 3), 90, np.uint8))
    out = tmp_path / "cmp"
    result = CliRunner().invoke(app, [
        "bench", "compare", "--source", str(source), "--widths", "8", "--size", "128",
        "--backends", "onnxruntime", "--landmarker", str(landmarker_path), "--no-e2e",
        "--max-frames", "1", "--runs", "1", "--warmup", "0", "--out", str(out),
    ])  # fmt: skip
    assert isinstance(result.exception, InvalidInputError), result.output
    assert "no usable face" in str(result.exception)
    assert not list(out.rglob("*.onnx"))  # nothing exported


def test_widths_are_still_timed_on_the_faces_found_first(
    tmp_path: Path, faces_dir: Path, landmarker_path: Path
) -> None:
    pytest.importorskip("torch", reason="the --widths exports need torch")
    from wds_edge.bench.compare import bench_compare
    from wds_edge_export import eager_baseline

    source = tmp_path / "frames"
    source.mkdir()
    (source / "a_face.jpg").symlink_to(faces_dir / "biden2.jpg")
    result = bench_compare(
        source, models=(), widths=(8,), size_px=128, model_dir=tmp_path / "models",
        landmarker_path=landmarker_path, max_frames=1, runs=1, warmup=0, e2e=False,
        torch_baseline=False, baseline=eager_baseline, num_threads=1,
    )  # fmt: skip
    assert result.crops == 1 and [r.label for r in result.rows] == ["b8 onnxruntime fp32"]
