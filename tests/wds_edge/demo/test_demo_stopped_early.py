"""A demo run stopped (SIGTERM, Ctrl-C) before its first frame: it used to write no
``--record`` video without a word, and blamed the source for the missing screenshot ("the
source gave none"). Both are now warned about, naming the stop as the reason."""

from __future__ import annotations

import threading
from pathlib import Path

from wds_edge.analysis.analyzer import AnalyzerConfig
from wds_edge.demo.config import DemoConfig
from wds_edge.demo.loop import DemoLoop


def test_a_run_stopped_before_its_first_frame_says_so_for_each_output(
    tmp_path: Path, video_path: Path, landmarker_path: Path, onnx_model_fixed_batch: Path
) -> None:
    out = tmp_path / "out"
    config = DemoConfig(
        source=str(video_path),
        analyzer=AnalyzerConfig(
            model_path=str(onnx_model_fixed_batch),
            landmarker_path=str(landmarker_path),
            backend="onnxruntime",
        ),
        headless=True,
        record_path=out / "run.mp4",
        jsonl_path=out / "run.jsonl",
        screenshot_path=out / "shot.png",
        sync=True,
    )
    stop = threading.Event()
    loop = DemoLoop(config, stop=stop)
    stop.set()  # the signal came while the model loaded: no frame is ever shown
    summary = loop.run()
    assert summary.frames == 0
    assert "video" not in summary.outputs and not (out / "run.mp4").exists()
    stopped = "the run was stopped (a signal or Ctrl-C) before its first frame"
    assert summary.warnings == [
        f"--screenshot {out / 'shot.png'} was not saved: the run showed no frame ({stopped})",
        f"--record {out / 'run.mp4'} was not written: the run showed no frame ({stopped})",
    ], summary.warnings
