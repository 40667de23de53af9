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


def _wds_edge_imports(path: Path) -> list[tuple[str, str]]:
    """``(module, name)`` of every ``from wds_edge... import name`` in a Python file."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "wds_edge":
            found += [(node.module or "", alias.name) for alias in node.names]
    return found


EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "sdk_examples").glob("*.py"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_the_sdk_examples_use_only_the_public_api(example: Path) -> None:
    """Defect: kiosk_loop.py imported require_local_source from wds_edge.capture.sources and
    check_can_open_window from wds_edge.demo.ui, batch_folder.py check_output_folder from
    wds_edge.analysis.batch: names no package's ``__all__`` offered. An example imports from
    ``wds_edge``, a sub-package or a base module (errors, io), names in its ``__all__``."""
    imports = _wds_edge_imports(example)
    for module_name, name in imports:
        assert module_name.count(".") <= 1, (
            f"{example.name} imports {name} from {module_name}: import it from its package "
            f"({'.'.join(module_name.split('.')[:2])})"
        )
        module = importlib.import_module(module_name)
        assert name in module.__all__, f"{example.name}: {name} is not in {module_name}.__all__"


def test_the_embedder_helpers_are_public() -> None:
    """What the examples need before any work: a missing source, an output folder that is
    the photos' own, a display for a window (pinned here so they stay public)."""
    from wds_edge.analysis import __all__ as analysis
    from wds_edge.capture import __all__ as capture
    from wds_edge.demo import __all__ as demo

    assert "require_local_source" in capture and "check_output_folder" in analysis
    assert "check_can_open_window" in demo


def test_bad_settings_raise_the_sdks_own_error() -> None:
    """Defect: SessionConfig (and AnalyzerConfig, QualityConfig) raised pydantic's
    ValidationError, so an embedder had to import pydantic to catch a bad setting; they
    raise InvalidInputError (a WdsEdgeError) in wds-edge's words, like KioskSession did."""
    import pydantic

    from wds_edge import AnalyzerConfig, QualityConfig, SessionConfig, WdsEdgeError
    from wds_edge.errors import InvalidInputError

    for make, message in (
        (lambda: SessionConfig(frames_needed=0), "invalid session settings: frames_needed = 0"),
        (lambda: SessionConfig(frames_needed=5, max_frames=2), "lower frames_fused or raise"),
        (lambda: AnalyzerConfig(threshold=2.0), "invalid analyzer settings: threshold = 2.0"),
        (lambda: QualityConfig(max_yawdeg=3), "invalid quality settings: 'max_yawdeg' is not"),
        (lambda: AnalyzerConfig(quality={"min_sharpness": -1}), "min_sharpness = -1: must be"),
    ):
        with pytest.raises(WdsEdgeError) as info:
            make()
        assert isinstance(info.value, InvalidInputError) and message in str(info.value)
        assert not isinstance(info.value, pydantic.ValidationError)
    assert SessionConfig(frames_needed=20).frames_needed == 20  # good values still build
