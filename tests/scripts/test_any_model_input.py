"""benchmarks/ort_spin_wait.py, scripts/models_speed_ab.py and scripts/profile_openvino.py
time any model their --model accepts: the input comes from the model's metadata (size,
channels, range). They built a fixed one (texture in the graph / 3 channels / 640 px) and
died on a 128 px model or one that takes [R, G, B, T] (texture outside the graph)."""

from __future__ import annotations

from pathlib import Path

import pytest
from repo_scripts import REPO, load_script

IN_GRAPH_128 = REPO / "tests" / "fixtures" / "wds_b4_128_dyn.onnx"


@pytest.fixture(scope="module")
def outside_128(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A base-4, 128 px model whose input is [R, G, B, T] / 255 (texture outside)."""
    pytest.importorskip("torch")
    from wds_edge_export.onnx_export import export_model
    from wds_edge_train.model import WrinkleUNet

    path = tmp_path_factory.mktemp("outside") / "b4_128_outside.onnx"
    model = WrinkleUNet(in_channels=4, base_channels=4).eval()
    meta = export_model(model, path, input_size_px=128, texture_in_graph=False, simplify=False)
    assert meta.input_shape[1:] == [4, 128, 128]
    return path


@pytest.fixture(params=["in_graph", "outside"])
def model(request: pytest.FixtureRequest) -> Path:
    if request.param == "in_graph":
        return IN_GRAPH_128
    return request.getfixturevalue("outside_128")


@pytest.fixture
def scripts_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO / "scripts"))  # as `python scripts/x.py` has it


def test_ort_spin_wait(model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script("benchmarks/ort_spin_wait.py")
    assert script.main(["--model", str(model), "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "| ONNX Runtime FP32 | True |" in out and "| OpenVINO FP32 (after ORT) | False |" in out


def test_models_speed_ab(
    model: Path, scripts_on_path: None, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script("scripts/models_speed_ab.py")
    script.main(["--model", f"a={model}", "--model", f"b={model}", "--precision", "fp32",
                 "--rounds", "1"])  # fmt: skip
    out = capsys.readouterr().out
    assert "| a (" in out and "| b (" in out


def test_a_texture_outside_model_beside_a_texture_in_graph_one(
    outside_128: Path, scripts_on_path: None, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script("scripts/models_speed_ab.py")
    script.main(["--model", f"rgbt={outside_128}", "--model", f"rgb={IN_GRAPH_128}",
                 "--precision", "fp32", "--rounds", "1"])  # fmt: skip
    out = capsys.readouterr().out
    assert "| rgbt (" in out and "| rgb (" in out


def test_profile_openvino(
    model: Path, scripts_on_path: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script("scripts/profile_openvino.py")
    script.main(["--model", str(model), "--runs", "1", "--rounds", "1", "--top", "1",
                 "--precisions", "fp32"])  # fmt: skip
    out = capsys.readouterr().out
    assert "output copy (1x1x128x128 float32)" in out
    assert "| ONNX Runtime FP32 (no spin-wait) |" in out
