"""The public API: a small ``wds_edge.__all__``, every sub-package with its own ``__all__``,
and ``import wds_edge`` cheap (no ONNX Runtime, MediaPipe, TensorRT or torch until used)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import wds_edge

SUBPACKAGES = ("capture", "model", "perception", "runtime", "analysis", "demo", "bench")


def test_top_level_all_is_the_integrator_api() -> None:
    names = set(wds_edge.__all__)
    assert 20 <= len(names) <= 30, sorted(names)
    assert {"WrinkleAnalyzer", "KioskSession", "FrameResult", "open_source", "draw_overlay",
            "ModelMetadata", "load_backend", "WdsEdgeError"} <= names  # fmt: skip
    assert "compare_results" in names  # the before / after call of the SDK
    from wds_edge.analysis import __all__ as analysis_names

    assert "compare_results" in analysis_names
    # Internals live in their sub-package only.
    assert not names & {"texture_map", "crop_box", "make_crop_transform", "model_input"}
    for name in wds_edge.__all__:
        assert hasattr(wds_edge, name), name


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_every_subpackage_exports_an_all(name: str) -> None:
    module = importlib.import_module(f"wds_edge.{name}")
    public = getattr(module, "__all__", None)
    assert public, f"wds_edge.{name} has no __all__"
    assert len(set(public)) == len(public), f"duplicates in wds_edge.{name}.__all__"
    for attr in public:
        assert hasattr(module, attr), f"wds_edge.{name}.__all__ names {attr!r}, which is missing"


def test_removed_top_level_names_are_reachable_from_their_subpackage() -> None:
    from wds_edge.model import model_input, texture_map
    from wds_edge.perception import CropTransform, crop_box, kiosk_crop

    assert callable(texture_map) and callable(model_input) and callable(kiosk_crop)
    assert callable(crop_box) and CropTransform.__name__ == "CropTransform"


def test_import_wds_edge_loads_no_heavy_runtime() -> None:
    code = (
        "import json, sys, wds_edge, wds_edge.analysis, wds_edge.perception, wds_edge.capture;"
        "print(json.dumps(sorted(m for m in ('onnxruntime', 'mediapipe', 'tensorrt', 'torch',"
        " 'openvino') if m in sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
