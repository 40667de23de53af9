"""The analyzer's crop is always roll-aligned: AnalyzerConfig.align_roll=False gave crops
nothing else makes (labeling, calibration, export parity and training all align), results did
not record it, and compare_results called two such results "within noise" (biden.jpg overall
0.68 -> 0.85 %). The setting is refused with a message that says why and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from wds_edge.analysis.analyzer import AnalyzerConfig, WrinkleAnalyzer
from wds_edge.errors import InvalidInputError


@pytest.mark.parametrize("value", [False, True])
def test_align_roll_is_refused_saying_the_crop_is_always_aligned(
    value: bool, onnx_model_path: Path, landmarker_path: Path
) -> None:
    with pytest.raises(InvalidInputError, match="align_roll") as info:
        WrinkleAnalyzer(
            model_path=onnx_model_path,
            landmarker_path=landmarker_path,
            backend="onnxruntime",
            warmup=False,
            align_roll=value,
        )
    message = str(info.value)
    assert message.startswith("invalid analyzer settings: align_roll = ")
    assert "always roll-aligned" in message and "drop the setting" in message
    with pytest.raises(InvalidInputError, match="always roll-aligned"):
        AnalyzerConfig(align_roll=value)  # type: ignore[call-arg]
    assert "align_roll" not in AnalyzerConfig.model_fields
