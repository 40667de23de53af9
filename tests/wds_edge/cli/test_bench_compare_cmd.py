"""`wds-edge bench compare` end to end on a few clip frames: what its options do to the timed
configurations (the refusals before timing are in test_bench_cmds.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from wds_edge.cli import app, bench_cmds


def _recording_baseline(seen: list[int]) -> Any:
    """The real PyTorch-eager baseline, its model noting torch's thread count at each call."""
    torch = pytest.importorskip("torch")
    from wds_edge_export import eager_baseline

    class Recording(eager_baseline.EagerModel):
        def segment_crop(self, crop_rgb: Any) -> Any:
            seen.append(torch.get_num_threads())
            return super().segment_crop(crop_rgb)

    return SimpleNamespace(
        torch_baseline_available=eager_baseline.torch_baseline_available,
        export_width_model=eager_baseline.export_width_model,
        EagerModel=Recording,
    )


def _small_compare(video: Path, landmarker: Path, out: Path, *extra: str) -> list[str]:
    return ["bench", "compare", "--source", str(video), "--landmarker", str(landmarker),
            "--widths", "8", "--size", "256", "--max-frames", "4", "--runs", "2",
            "--warmup", "0", "--out", str(out), *extra]  # fmt: skip


def test_the_eager_baseline_runs_on_the_threads_given(
    monkeypatch: pytest.MonkeyPatch, video_path: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    """--threads 1 gave ONNX Runtime one thread and torch every core, so "x eager" compared
    unequal thread counts; the eager model now runs on --threads too."""
    torch = pytest.importorskip("torch")
    seen: list[int] = []
    monkeypatch.setattr(bench_cmds, "_eager_baseline", lambda: _recording_baseline(seen))
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # not --threads, whatever this machine's cores
    try:
        args = _small_compare(video_path, landmarker_path, tmp_path / "c", "--no-e2e",
                              "--threads", "1")  # fmt: skip
        result = CliRunner().invoke(app, args)
    finally:
        torch.set_num_threads(before)
    assert result.exit_code == 0, result.output
    assert seen and set(seen) == {1}
