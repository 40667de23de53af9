"""OpenVINO versions: what the backend needs exists on the lowest declared one (2024.4).

``openvino.opset13`` exists only from 2025.0; 2024.x has ``openvino.runtime.opset13``
(which 2026 removed). These tests run with whatever OpenVINO is installed; where it is
a newer one, the 2024 layout is simulated by hiding the top-level module. Issue 22,
item 1: run them in a venv with ``openvino==2024.4.0`` as well (see benchmarks/RESULTS.md).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

ov = pytest.importorskip("openvino", reason="these tests are about the OpenVINO backend")

from wds_edge.errors import MissingDependencyError  # noqa: E402
from wds_edge.model.preprocessing import model_input  # noqa: E402
from wds_edge.runtime import openvino as ov_backend  # noqa: E402
from wds_edge.runtime import openvino_graph  # noqa: E402
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend  # noqa: E402


def _hide(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Make ``import NAME`` (and ``from openvino import opset13``) fail as on an older OpenVINO."""
    for name in names:
        parent, _, attr = name.rpartition(".")
        if parent in sys.modules and hasattr(sys.modules[parent], attr):
            monkeypatch.delattr(sys.modules[parent], attr)
        monkeypatch.setitem(sys.modules, name, None)


def _opset13_module() -> object:
    for name in ("openvino.opset13", "openvino.runtime.opset13"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise AssertionError("this OpenVINO has no opset 13 module at all")


def _chained(small_onnx: Path, x: np.ndarray) -> np.ndarray:
    core = ov.Core()

    def load() -> object:
        model = core.read_model(str(small_onnx))
        model.reshape([1, 3, 128, 128])
        return model

    texture, network = openvino_graph.split_at_texture(core, load)
    hint = {"INFERENCE_PRECISION_HINT": "f32"}
    rgbt = core.compile_model(texture, "CPU", hint)(x)[0]
    return core.compile_model(network, "CPU", hint)(rgbt)[0]


def test_split_runs_with_the_2024_module_layout(
    small_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2024.x: no top-level opset13, only openvino.runtime.opset13; the split still works."""
    opset = _opset13_module()
    _hide(monkeypatch, "openvino.opset13")
    monkeypatch.setitem(sys.modules, "openvino.runtime.opset13", opset)
    x = model_input(
        np.random.default_rng(0).integers(0, 256, (128, 128, 3), np.uint8), "texture_in_graph"
    )
    with OnnxRuntimeBackend(small_onnx, providers=["CPUExecutionProvider"]) as ref:
        expected = ref.infer(x)
    np.testing.assert_allclose(_chained(small_onnx, x), expected, atol=1e-4)


def test_no_opset13_at_all_is_a_missing_dependency(
    small_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hide(monkeypatch, "openvino.opset13", "openvino.runtime.opset13")
    with pytest.raises(MissingDependencyError, match=r"opset13.*--precision fp32"):
        _chained(small_onnx, np.zeros((1, 3, 128, 128), np.float32))


def test_auto_probe_skips_a_candidate_that_cannot_import(
    small_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe of an OpenVINO without opset13 skips the split candidates, not crashes."""
    from wds_edge.runtime.auto import decide_cpu_backend

    _hide(monkeypatch, "openvino.opset13", "openvino.runtime.opset13")
    # a BF16 CPU, so the probe has a candidate that needs the split
    monkeypatch.setattr(ov_backend, "native_precisions", lambda *a, **k: ["fp32", "bf16"])
    decision = decide_cpu_backend(small_onnx, num_threads=1, cache_dir=tmp_path)
    rows = {f"{r.backend}:{r.precision}": r for r in decision.rows}
    assert set(rows) == {"onnxruntime:fp32", "openvino:fp32", "openvino:bf16"}
    assert not rows["openvino:bf16"].passed
    assert "not loadable" in rows["openvino:bf16"].reason
    assert "opset13" in rows["openvino:bf16"].reason
    assert decision.precision == "fp32"
