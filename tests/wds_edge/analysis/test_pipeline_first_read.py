"""The pipeline's frame accounting counts the frames a source passed over before its first
read, not only those between two reads: read + source_skipped covers the whole clip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wds_edge.analysis.pipeline import FramePipeline
from wds_edge.capture.sources import open_source


def test_frames_passed_over_before_the_first_read_are_counted(video_path: Path) -> None:
    source = open_source(str(video_path), threaded=False)  # the clip's 240 frames in order
    try:
        for _ in range(7):  # read elsewhere before the pipeline starts: never delivered
            assert source.read() is not None

        def locate(frame: Any, ts: int) -> int:
            return frame.index

        with FramePipeline(source, locate, lambda index: index, mode="serial") as pipeline:
            outputs = list(pipeline)
    finally:
        source.close()
    assert outputs[0].frame.index == 7
    counts = pipeline.counts
    assert (counts.read, counts.source_skipped) == (233, 7)
    assert counts.read + counts.source_skipped == 240
