"""`wds-edge quantize` tells what it is doing (issue 23 item 8): each phase announced with
its size, a progress bar over the gate, the verdict as one line (JSON only with --json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fault_helpers import run_cli


def test_quantize_announces_its_steps_and_prints_a_verdict(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    proxy_model,
    kiosk_crops_128,  # noqa: ANN001
) -> None:
    pytest.importorskip("onnx")
    from wds_edge_calibration.dataset import write_calibration_set
    from wds_edge_export.onnx_export import export_model

    fp32 = tmp_path / "m.onnx"
    export_model(proxy_model, fp32, input_size_px=128)
    crops = [c for _, c in kiosk_crops_128[:3]]
    calib = write_calibration_set(crops, tmp_path / "calib", source="faces", size_px=128,
                                  preprocessing_path="kiosk")  # fmt: skip
    args = ["quantize", "--onnx", fp32, "--calib", calib.path, "--out", tmp_path / "q.onnx",
            "--allow-accuracy-loss"]  # fmt: skip
    code, out, err = run_cli(capsys, *args)
    assert code == 0
    assert "step 1/2: calibrating and quantizing on 3 crops (minmax)" in err
    assert "step 1/2 done in" in err and "wrote" in err
    assert "INT8 accuracy gate" in out and "over 3 images" in out  # the verdict: stdout
    assert "{" not in out  # no raw JSON by default
    code, out, err = run_cli(capsys, *args, "--json")
    assert code == 0
    gate = json.loads(out)  # stdout is the JSON alone: the status lines went to stderr
    assert gate["images"] == 3 and 0.0 <= gate["mean_iou"] <= 1.0
    assert "step 1/2" in err and "step 1/2" not in out


FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "wds_b4_128_dyn.onnx"


def _crop_set(path: Path, seed: int, people: list[str] | None, count: int = 3) -> Path:
    from wds_edge.runtime.probe_inputs import synthetic_skin_crops
    from wds_edge_calibration.dataset import write_calibration_set

    return write_calibration_set(
        synthetic_skin_crops(128, count, seed=seed), path, source="synthetic", size_px=128,
        preprocessing_path="synthetic", people=people,
    ).path  # fmt: skip


@pytest.fixture(scope="module")
def crop_sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("quantize_sets")
    return {
        "calib": _crop_set(root / "calib", 1, ["a"], count=4),
        "held": _crop_set(root / "held", 2, ["b"]),
        "same_person": _crop_set(root / "same_person", 3, ["a"]),
    }


@pytest.mark.parametrize("held", ["calib", "same_person"])
def test_qdq_refuses_held_out_crops_that_are_not_held_out(
    held: str, crop_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: --format qdq --held-out checked neither crop overlap nor the people split
    (the OpenVINO route and build-engine refuse both), yet recorded held_out: true."""
    out = tmp_path / "q.onnx"
    code, _, err = run_cli(capsys, "quantize", "--onnx", FIXTURE, "--calib", crop_sets["calib"],
                           "--held-out", crop_sets[held], "--out", out)  # fmt: skip
    assert code == 2, err
    assert "also calibration crops" in err or "people the model was calibrated on" in err
    assert not out.exists()


@pytest.mark.parametrize("fmt", ["qdq", "openvino"])
def test_a_missing_or_corrupt_model_is_one_line_exit_2(
    fmt: str, crop_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: FileNotFoundError / protobuf DecodeError / OpenVINO RuntimeError tracebacks
    instead of the ModelError the analyze loader gives."""
    if fmt == "openvino":
        pytest.importorskip("nncf", reason="OpenVINO INT8 needs nncf")
    text = tmp_path / "text.onnx"
    text.write_text("not a model")
    out = tmp_path / ("q.onnx" if fmt == "qdq" else "q.int8.xml")
    for model, message in ((tmp_path / "missing.onnx", "no such model file"),
                           (text, "cannot read it as an ONNX model")):  # fmt: skip
        code, _, err = run_cli(capsys, "quantize", "--format", fmt, "--onnx", model,
                               "--calib", crop_sets["calib"], "--held-out", crop_sets["held"],
                               "--out", out)  # fmt: skip
        assert code == 2 and message in err, err
        assert not out.exists()


def test_out_may_not_be_the_fp32_model(
    crop_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: --out equal to --onnx overwrote the FP32 source the gate compares with."""
    fp32 = tmp_path / "m.onnx"
    fp32.write_bytes(FIXTURE.read_bytes())
    code, _, err = run_cli(capsys, "quantize", "--onnx", fp32, "--calib", crop_sets["calib"],
                           "--out", fp32)  # fmt: skip
    assert code == 2 and "is the FP32 model --onnx" in err, err
    assert fp32.read_bytes() == FIXTURE.read_bytes()


def test_openvino_refuses_no_gate_and_an_unwritable_out_before_quantizing(
    crop_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defects: --no-gate was silently ignored with --format openvino; an --out that cannot
    be written was found only after minutes of NNCF and the gate (a FileExistsError
    traceback), where the qdq route checks it first."""
    pytest.importorskip("nncf", reason="OpenVINO INT8 needs nncf")
    args = ["quantize", "--format", "openvino", "--onnx", FIXTURE, "--calib", crop_sets["calib"],
            "--held-out", crop_sets["held"]]  # fmt: skip
    code, _, err = run_cli(capsys, *args, "--no-gate", "--out", tmp_path / "q.int8.xml")
    assert code == 2 and "--no-gate is for --format qdq" in err, err
    blocker = tmp_path / "afile"
    blocker.write_text("a file, not a folder")
    code, _, err = run_cli(capsys, *args, "--out", blocker / "q.int8.xml")
    assert code == 2 and "cannot write the INT8 model" in err, err
    folder = tmp_path / "q.int8.xml"
    folder.mkdir()
    code, _, err = run_cli(capsys, *args, "--out", folder)
    assert code == 2 and "it is a folder" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "q.int8.xml"]


def test_an_option_of_the_other_format_is_refused(
    crop_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: --method (qdq's calibration method) was silently ignored with --format
    openvino, and --target-device (the OpenVINO IR's device) with --format qdq."""
    base = ["quantize", "--onnx", FIXTURE, "--calib", crop_sets["calib"],
            "--held-out", crop_sets["held"]]  # fmt: skip
    code, _, err = run_cli(capsys, *base, "--format", "openvino", "--method", "entropy",
                           "--out", tmp_path / "q.int8.xml")  # fmt: skip
    assert code == 2 and "--method is for --format qdq" in err, err
    code, _, err = run_cli(capsys, *base, "--target-device", "GPU", "--out", tmp_path / "q.onnx")
    assert code == 2 and "--target-device is for --format openvino" in err, err
    assert not list(tmp_path.iterdir())


def test_openvino_target_device_is_read_in_any_case(
    crop_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--target-device gpu was refused ('must be one of CPU, GPU, ...', in the Python
    parameter's name) while --device gpu works everywhere else; a missing model then is the
    next thing said, before any quantization."""
    # without nncf (the SDK-only Python 3.10 leg) quantize says so before reading the model
    pytest.importorskip("nncf", reason="quantize --format openvino needs nncf")
    base = ["quantize", "--format", "openvino", "--onnx", tmp_path / "missing.onnx",
            "--calib", crop_sets["calib"], "--held-out", crop_sets["held"],
            "--out", tmp_path / "q.xml"]  # fmt: skip
    code, _, err = run_cli(capsys, *base, "--target-device", "gpu")
    assert code == 2 and "no such model file" in err, err
    code, _, err = run_cli(capsys, *base, "--target-device", "tpu")
    assert code == 2 and "--target-device (target_device) must be one of" in err, err


def test_openvino_json_is_alone_on_stdout(
    crop_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect: quantize --json printed its status lines ("wrote ...") on stdout around the
    JSON, so json.load(stdout) failed (both formats; qdq: test above)."""
    pytest.importorskip("nncf", reason="OpenVINO INT8 needs nncf")
    out = tmp_path / "q.int8.xml"
    code, stdout, err = run_cli(capsys, "quantize", "--format", "openvino", "--onnx", FIXTURE,
                                "--calib", crop_sets["calib"], "--held-out", crop_sets["held"],
                                "--out", out, "--allow-accuracy-loss", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(stdout)["images"] == 3
    assert f"wrote {out}" in err and out.is_file()


def test_a_model_that_marks_no_wrinkles_is_not_recorded_as_passed(
    crop_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    metadata_rewriter, caplog: pytest.LogCaptureFixture,  # noqa: ANN001
) -> None:  # fmt: skip
    """Defect: an FP32 model whose masks are empty on the crops (an undertrained model; here
    the fixture with threshold 0.99) "passed" at mean IoU 1.0 and was recorded as passed.
    The gate's verdict is "not gated": exit 1 with the fix, nothing written, unless
    --allow-accuracy-loss keeps it with that verdict in its record (the runtime warns)."""
    import logging

    import onnx

    from wds_edge.runtime import load_backend

    model = metadata_rewriter(FIXTURE, tmp_path / "m.onnx", threshold="0.99")
    out = tmp_path / "q.onnx"
    args = ["quantize", "--onnx", model, "--calib", crop_sets["calib"],
            "--held-out", crop_sets["held"], "--out", out]  # fmt: skip
    code, stdout, err = run_cli(capsys, *args, "--json")
    assert code == 1, err
    gate = json.loads(stdout)  # the verdict's JSON, also when it is refused
    assert gate["verdict"] == "not gated" and not gate["passed"] and gate["mean_iou"] == 1.0
    assert "the FP32 model marks (almost) no wrinkles" in err
    assert "train the model longer" in err and "--allow-accuracy-loss" in err
    assert not out.exists()
    code, stdout, err = run_cli(capsys, *args)
    assert code == 1 and stdout.startswith("INT8 accuracy gate not gated"), stdout
    assert "{" not in stdout  # the line, not the JSON
    code, stdout, err = run_cli(capsys, *args, "--allow-accuracy-loss")
    assert code == 0 and "not gated" in stdout, err
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    record = json.loads(props["quantization"])["gate"]
    assert not record["passed"] and record["verdict"] == "not gated"
    with caplog.at_level(logging.WARNING, logger="wds_edge.runtime"):
        load_backend(out, "onnxruntime").close()
    assert "this INT8 model was not gated when it was made" in caplog.text


@pytest.mark.usefixtures("untrained_model_gate")  # the fixture marks every pixel
@pytest.mark.parametrize("fmt", ["qdq", "openvino"])
def test_a_failed_gate_prints_its_verdict_on_stdout(
    fmt: str, crop_sets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Defect: the AccuracyGateError left quantize before the verdict was printed, so
    `quantize --json` gave an empty stdout exactly when the figures matter."""
    if fmt == "openvino":
        pytest.importorskip("nncf", reason="OpenVINO INT8 needs nncf")
    monkeypatch.setattr("wds_edge.runtime.gate.GATE_MIN_MEAN_IOU", 1.01)  # no model meets it
    out = tmp_path / ("q.onnx" if fmt == "qdq" else "q.int8.xml")
    args = ["quantize", "--format", fmt, "--onnx", FIXTURE, "--calib", crop_sets["calib"],
            "--held-out", crop_sets["held"], "--out", out]  # fmt: skip
    code, stdout, err = run_cli(capsys, *args, "--json")
    assert code == 1 and "INT8 accuracy gate failed" in err, err
    gate = json.loads(stdout)
    assert gate["verdict"] == "failed" and not gate["passed"] and gate["images"] == 3
    assert not out.exists()
    if fmt == "qdq":  # one line without --json (the same code path for both formats)
        code, stdout, err = run_cli(capsys, *args)
        assert code == 1 and stdout.startswith("INT8 accuracy gate failed"), stdout
