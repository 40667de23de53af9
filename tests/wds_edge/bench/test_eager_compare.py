"""bench compare's PyTorch-eager baseline end to end: the same scoring as the SDK path, and
no frame speed-up for a model whose weights the eager model does not have."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest


class EagerProb(np.ndarray):
    """A probability map that came out of the eager model (to tell who scored what)."""


def test_eager_frames_are_scored_like_the_sdk_and_a_models_file_gets_no_frame_speedup(
    monkeypatch: pytest.MonkeyPatch,
    video_path: Path,
    landmarker_path: Path,
    onnx_model_path: Path,
    tmp_path: Path,
) -> None:
    """The eager path scored its mask with score_regions on the bare region polygons while the
    SDK rows score skin regions (another cost), and a --models row's speedup_e2e divided the
    eager frame time of SEEDED weights (their masks, their scoring cost) by the file's."""
    pytest.importorskip("torch")
    from wds_edge.analysis.analyzer import WrinkleAnalyzer
    from wds_edge.bench.compare import TORCH_EAGER, bench_compare
    from wds_edge_export import eager_baseline

    eager_calls: list[int] = []

    class Marking(eager_baseline.EagerModel):
        def segment_crop(self, crop_rgb: Any) -> Any:
            eager_calls.append(1)
            return super().segment_crop(crop_rgb).view(EagerProb)

    scored = {"eager": 0, "sdk": 0}
    original = WrinkleAnalyzer.score_probability

    def counting(self: WrinkleAnalyzer, prob: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        scored["eager" if isinstance(prob, EagerProb) else "sdk"] += 1
        return original(self, prob, *args, **kwargs)

    monkeypatch.setattr(WrinkleAnalyzer, "score_probability", counting)
    baseline = SimpleNamespace(
        torch_baseline_available=eager_baseline.torch_baseline_available,
        export_width_model=eager_baseline.export_width_model,
        EagerModel=Marking,
    )
    runs, warmup = 3, 1
    result = bench_compare(
        video_path, models=[onnx_model_path], widths=[8], size_px=256, model_dir=tmp_path,
        landmarker_path=landmarker_path, max_frames=4, runs=runs, warmup=warmup,
        baseline=baseline, num_threads=1,
    )  # fmt: skip
    eager_frames = len(eager_calls) - (runs + warmup)  # less the model-only timing calls
    assert eager_frames > 0 and scored["eager"] == eager_frames and scored["sdk"] > 0

    by_model = {(r.backend, Path(r.model).name): r for r in result.rows}
    seeded = by_model[("onnxruntime", "wds_unet_b8_256_seed0.onnx")]
    given = by_model[("onnxruntime", onnx_model_path.name)]
    eager = next(r for r in result.rows if r.backend == TORCH_EAGER)
    assert seeded.speedup_e2e is not None and eager.speedup_e2e == 1.0
    assert given.speedup_e2e is None and given.speedup_model is not None
    assert given.row()["speedup_e2e"] is None
    note = next(n for n in result.notes if onnx_model_path.name in n)
    assert "no frame speed-up (speedup_e2e)" in note and "seeded weights" in note
