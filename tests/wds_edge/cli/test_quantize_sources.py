"""What `wds-edge quantize` takes as --onnx, --calib and --held-out, refused before any work:
an INT8 model as the "FP32" source, a model too old an opset for Q/DQ, and crop folders
that are not calibration folders (a usage error, exit 2, as build-engine says it)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fault_helpers import run_cli

onnx = pytest.importorskip("onnx")

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "wds_b4_128_dyn.onnx"


def _crop_set(path: Path, seed: int, people: list[str], size: int = 128) -> Path:
    from wds_edge.runtime.probe_inputs import synthetic_skin_crops
    from wds_edge_calibration.dataset import write_calibration_set

    return write_calibration_set(
        synthetic_skin_crops(size, 3, seed=seed), path, source="synthetic", size_px=size,
        preprocessing_path="synthetic", people=people,
    ).path  # fmt: skip


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Crop sets and INT8 models made from the committed FP32 fixture by the real tools."""
    from wds_edge_calibration.qdq import quantize_qdq

    root = tmp_path_factory.mktemp("quantize_sources")
    calib = _crop_set(root / "calib", 1, ["a"])
    qdq = quantize_qdq(FIXTURE, calib, root / "fp.qdq.onnx")  # metadata names its source
    bare = onnx.load(str(qdq))  # another tool's Q/DQ model: the graph alone says INT8
    kept = [p for p in bare.metadata_props if p.key != "quantization"]
    del bare.metadata_props[:]
    bare.metadata_props.extend(kept)
    onnx.save(bare, str(root / "bare.qdq.onnx"))
    # a dynamically quantized model: ConvInteger in place of a Conv, metadata kept
    dynamic = onnx.load(str(FIXTURE))
    conv = next(n for n in dynamic.graph.node if n.op_type == "Conv")
    conv.op_type = "ConvInteger"
    onnx.save(dynamic, str(root / "dynamic.onnx"))
    return {
        "calib": calib,
        "held": _crop_set(root / "held", 2, ["b"]),
        "qdq": qdq,
        "bare": root / "bare.qdq.onnx",
        "dynamic": root / "dynamic.onnx",
    }


@pytest.mark.parametrize("fmt", ["qdq", "openvino"])
@pytest.mark.parametrize("model", ["qdq", "bare", "dynamic"])
def test_an_int8_onnx_is_refused_at_once(
    fmt: str, model: str, sets: dict[str, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Defect: an INT8 model given as --onnx was quantized again, and the gate compared the
    result with that INT8 model: --format openvino wrote an IR recorded as "passed vs FP32"
    (0.9854) that fails against the real FP32 model; --format qdq quantized for the whole
    calibration, then failed naming a temporary file with a wrong cause."""
    if fmt == "openvino":
        pytest.importorskip("nncf", reason="OpenVINO INT8 needs nncf")
    out = tmp_path / ("qq.onnx" if fmt == "qdq" else "qq.xml")
    started = time.monotonic()
    code, _, err = run_cli(capsys, "quantize", "--format", fmt, "--onnx", sets[model],
                           "--calib", sets["calib"], "--held-out", sets["held"],
                           "--out", out)  # fmt: skip
    assert code == 2, err
    assert "is an INT8 model" in err and "pass its FP32 source" in err, err
    if model == "qdq":  # its metadata records the FP32 model it was made from
        assert f"({FIXTURE.name}, as its quantization metadata records)" in err, err
    assert time.monotonic() - started < 10  # refused before quantizing
    assert not list(tmp_path.iterdir())


def test_the_library_refuses_an_int8_source_too(sets: dict[str, Path], tmp_path: Path) -> None:
    from wds_edge.errors import ModelError
    from wds_edge_calibration.dataset import load_calibration_set
    from wds_edge_calibration.qdq import quantize_qdq, quantize_qdq_gated

    calib = load_calibration_set(sets["calib"])
    with pytest.raises(ModelError, match="is an INT8 model"):
        quantize_qdq_gated(sets["qdq"], calib, tmp_path / "qq.onnx")
    with pytest.raises(ModelError, match="is an INT8 model"):
        quantize_qdq(sets["bare"], calib, tmp_path / "qq.onnx")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("opset", [11, 12])
def test_qdq_refuses_an_opset_below_13_before_calibrating(
    opset: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: `export --opset 11|12` models went through the whole calibration of
    `quantize --format qdq`, then failed (per-channel weights need DequantizeLinear's axis,
    opset 13) naming a temporary file."""
    from onnx_graphs import export_tiny_variants

    from wds_edge.errors import ModelError
    from wds_edge_calibration.dataset import load_calibration_set
    from wds_edge_calibration.qdq import quantize_qdq_gated

    model = export_tiny_variants(tmp_path, {"old": ({}, {"opset": opset})})["old"]
    calib = _crop_set(tmp_path / "calib", 1, ["a"], size=64)
    out = tmp_path / "q.onnx"
    code, _, err = run_cli(capsys, "quantize", "--onnx", model, "--calib", calib, "--out", out)
    assert code == 2, err
    assert f"declares ONNX opset {opset}" in err and "needs opset >= 13" in err, err
    assert "re-export it with `wds-edge export --opset 13`" in err
    with pytest.raises(ModelError, match="needs opset >= 13"):
        quantize_qdq_gated(model, load_calibration_set(calib), out)
    assert not out.exists()


@pytest.mark.parametrize("which", ["--calib", "--held-out"])
@pytest.mark.parametrize("fmt", ["qdq", "openvino"])
def test_a_folder_that_is_not_a_calibration_set_is_a_usage_error(
    which: str, fmt: str, sets: dict[str, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Defect: a missing / invalid --calib or --held-out exited 1 (a failed input) in
    quantize, 2 (usage) in build-engine."""
    if fmt == "openvino":
        pytest.importorskip("nncf", reason="OpenVINO INT8 needs nncf")
    folders = {"--calib": sets["calib"], "--held-out": sets["held"]}
    empty = tmp_path / "empty"
    empty.mkdir()
    for bad in (tmp_path / "missing", empty):
        folders[which] = bad
        out = tmp_path / ("q.onnx" if fmt == "qdq" else "q.xml")
        code, _, err = run_cli(capsys, "quantize", "--format", fmt, "--onnx", FIXTURE,
                               "--calib", folders["--calib"], "--held-out", folders["--held-out"],
                               "--out", out)  # fmt: skip
        assert code == 2, err
        assert err.startswith(f"error: {which}: ") or f" {which}: " in err, err
        assert not out.exists()
