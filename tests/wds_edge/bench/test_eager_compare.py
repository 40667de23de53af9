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


def _one_face(faces_dir: Path, tmp_path: Path) -> Path:
    source = tmp_path / "faces"
    source.mkdir()
    (source / "biden2.jpg").symlink_to(faces_dir / "biden2.jpg")
    return source


def _networks_seen(seen: list[dict[str, object]]) -> Any:
    """The real baseline, its models noting the network each was built as."""
    from wds_edge_export import eager_baseline

    class Noting(eager_baseline.EagerModel):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            seen.append(self.network)

    return SimpleNamespace(
        torch_baseline_available=eager_baseline.torch_baseline_available,
        export_width_model=eager_baseline.export_width_model,
        EagerModel=Noting,
    )


def test_the_eager_row_is_the_files_own_network_with_its_own_gflops(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    """Defect: the eager row of a --models file was always the plain U-Net of its width (a
    space_to_depth stem model was timed against the 3x costlier full-resolution network, and
    shared the b4 export's eager row), with the file's GFLOPs copied onto it: 'x eager' was
    inflated. Now each network has its own eager row, rebuilt from the file's architecture."""
    pytest.importorskip("torch")
    from wds_edge.bench.compare import TORCH_EAGER, bench_compare
    from wds_edge_export.onnx_export import export_model
    from wds_edge_train.model import WrinkleUNet

    stem = tmp_path / "stem4.onnx"
    export_model(WrinkleUNet(base_channels=4, stem="space_to_depth", input_norm="centred",
                             activation="relu"), stem, input_size_px=128)  # fmt: skip
    seen: list[dict[str, object]] = []
    result = bench_compare(
        _one_face(faces_dir, tmp_path), models=[stem], widths=[4], size_px=128,
        model_dir=tmp_path / "m", landmarker_path=landmarker_path, max_frames=1, runs=2,
        warmup=0, e2e=False, baseline=_networks_seen(seen), num_threads=1,
    )  # fmt: skip
    eager = {r.label: r for r in result.rows if r.backend == TORCH_EAGER}
    assert set(eager) == {f"b4 {TORCH_EAGER} fp32", f"stem4 {TORCH_EAGER} fp32"}, list(eager)
    stem_network = {"stem": "space_to_depth", "input_norm": "centred", "activation": "relu"}
    assert any(stem_network.items() <= n.items() for n in seen), seen
    by_label = {r.label: r for r in result.rows}
    plain, stemmed = by_label["b4 onnxruntime fp32"], by_label["stem4 onnxruntime fp32"]
    plain_eager, stem_eager = eager[f"b4 {TORCH_EAGER} fp32"], eager[f"stem4 {TORCH_EAGER} fp32"]
    # its own GFLOPs: the stem network's (the file's less the texture conv), not copied
    assert stem_eager.gflops is not None and plain_eager.gflops is not None
    assert stem_eager.gflops < stemmed.gflops and stem_eager.gflops > 0.8 * stemmed.gflops
    assert plain_eager.gflops > 2 * stem_eager.gflops
    assert stemmed.speedup_model == pytest.approx(
        stem_eager.model_ms.p50_ms / stemmed.model_ms.p50_ms
    )
    assert plain.speedup_model == pytest.approx(plain_eager.model_ms.p50_ms / plain.model_ms.p50_ms)


def test_a_file_whose_architecture_cannot_be_rebuilt_gets_no_speedup_but_a_note(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    """A file with no recorded architecture (annotated), or one naming another network, has
    no eager row to divide: its speedup_model stays empty and a note says why (it was timed
    against a base-16 U-Net, the metadata's default)."""
    pytest.importorskip("torch")
    import json

    import onnx

    from wds_edge.bench.compare import TORCH_EAGER, bench_compare
    from wds_edge_export import eager_baseline

    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "wds_b4_128_dyn.onnx"
    unrecorded, other = tmp_path / "annotated.onnx", tmp_path / "other_net.onnx"
    proto = onnx.load(str(fixture))
    props = {p.key: p.value for p in proto.metadata_props}
    arch = json.loads(props["architecture"])
    del proto.metadata_props[:]
    proto.metadata_props.extend(
        onnx.StringStringEntryProto(key=k, value=v) for k, v in props.items() if k != "architecture"
    )
    onnx.save(proto, str(unrecorded))
    proto.metadata_props.append(
        onnx.StringStringEntryProto(
            key="architecture", value=json.dumps({**arch, "name": "resnet"})
        )
    )
    onnx.save(proto, str(other))
    result = bench_compare(
        _one_face(faces_dir, tmp_path), models=[unrecorded, other], widths=[], size_px=128,
        landmarker_path=landmarker_path, max_frames=1, runs=1, warmup=0, e2e=False,
        baseline=eager_baseline, num_threads=1,
    )  # fmt: skip
    assert [r.backend for r in result.rows] == ["onnxruntime", "onnxruntime"]  # no eager row
    assert all(r.speedup_model is None and r.row()["speedup_model"] is None for r in result.rows)
    assert not any(r.backend == TORCH_EAGER for r in result.rows)
    notes = " ".join(result.notes)
    assert "annotated: no PyTorch-eager row and no speed-up over it" in notes
    assert "its metadata records no architecture" in notes
    assert "other_net: no PyTorch-eager row" in notes and "'resnet'" in notes
