"""`wds-edge build-engine` / `analyze --precision`: errors without TensorRT, and the CLI's
wiring (calibration folder -> the builder's Int8Calibration) against the stand-in."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wds_edge.cli import app

HAS_TRT = importlib.util.find_spec("tensorrt") is not None


# the untrained test model marks every pixel: the gate judges it by its IoU alone
pytestmark = pytest.mark.usefixtures("untrained_model_gate")


@pytest.mark.skipif(HAS_TRT, reason="TensorRT is installed here")
@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_build_engine_without_tensorrt_exits_with_install_hints(
    small_onnx: Path, tmp_path: Path, precision: str
) -> None:
    result = CliRunner().invoke(
        app, ["build-engine", "--onnx", str(small_onnx), "--precision", precision,
              "--out", str(tmp_path / "m.engine")],
    )  # fmt: skip
    assert result.exit_code != 0
    message = str(result.exception)
    assert "tensorrt" in message and "'.[trt]'" in message and "JetPack" in message
    assert not (tmp_path / "m.engine").exists()


def test_cli_main_prints_one_line_and_exit_2(small_onnx: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "wds_edge.cli", "build-engine", "--onnx", str(small_onnx),
         "--precision", "fp64"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "--precision must be one of fp32, fp16, int8" in proc.stderr


def test_build_engine_wires_the_calibration_folder_in(
    fake_trt, small_onnx: Path, tmp_path: Path, make_calib
) -> None:
    state = fake_trt()
    calib, held = make_calib(0), make_calib(1, count=4)
    args = ["build-engine", "--onnx", str(small_onnx), "--precision", "int8",
            "--calib", str(calib.path), "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    refused = CliRunner().invoke(app, args)  # INT8 is not gated on its calibration crops
    assert refused.exit_code == 1 and "--held-out" in refused.output  # cannot be gated: 1
    args += ["--held-out", str(held.path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (engine,) = (tmp_path / "cache").glob("*.engine")
    doc = json.loads(engine.with_suffix(".json").read_text())
    assert doc["calibration"]["data_sha256"] == calib.data_sha256
    assert doc["accuracy_gate"]["images"] == 4 and "INT8" in state.builds[-1]["flags"]
    assert doc["accuracy_gate"]["crops_sha256"] == held.data_sha256
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "cache hit" in again.output and len(state.builds) == 1
    same = CliRunner().invoke(app, [*args[:-1], str(calib.path), "--rebuild"])  # = calibration
    assert same.exit_code != 0 and "share crops" in str(same.exception)


def test_analyze_asks_for_the_precision_it_is_given(
    fake_trt, small_onnx: Path, tmp_path: Path, faces_dir: Path, landmarker_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    state = fake_trt()
    monkeypatch.setenv("WDS_EDGE_ENGINE_CACHE", str(tmp_path))
    base = ["analyze", str(faces_dir / "biden2.jpg"), "--json", "--model", str(small_onnx),
            "--backend", "tensorrt", "--landmarker", str(landmarker_path)]  # fmt: skip
    # what docker/entrypoint.sh does for WDS_PRECISION=fp32: build, then analyze on it
    built = CliRunner().invoke(app, ["build-engine", "--onnx", str(small_onnx), "-p", "fp32"])
    assert built.exit_code == 0, built.output
    result = CliRunner().invoke(app, [*base, "--precision", "fp32"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["status"] == "ok" and len(state.builds) == 1  # reused, not rebuilt
    assert state.executions  # it ran on the (stand-in) engine
    bad = CliRunner().invoke(app, [*base, "--precision", "fp64"])
    assert bad.exit_code != 0 and "--precision must be one of" in str(bad.exception)


def test_build_engine_exits_1_when_the_gate_fails_and_again_when_refused(
    fake_trt, small_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """A failed accuracy gate is a result that did not pass (exit 1, as `wds-edge --help`
    says), not a usage error (2); the engine refused at its last build exits the same."""
    import onnx

    from wds_edge.cli import main

    fake_trt()
    # the stand-in's FP16 rounding flips a few pixels of this model at threshold 0.5999
    model = onnx.load(str(small_onnx))
    next(p for p in model.metadata_props if p.key == "threshold").value = "0.5999"
    onnx.save(model, str(tmp_path / "m.onnx"))
    monkeypatch.setattr("wds_edge.runtime.gate.GATE_MIN_MEAN_IOU", 0.99999)
    args = ["build-engine", "--onnx", str(tmp_path / "m.onnx"), "--precision", "fp16",
            "--held-out", "synthetic", "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    for run in ("built", "refused at its last build"):
        with pytest.raises(SystemExit) as ended:
            main(args)
        err = " ".join(capsys.readouterr().err.split())
        assert ended.value.code == 1, (run, err)
        assert "FP16 accuracy gate failed" in err
    assert "at its last build" in err


def _no_tensorrt_but_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kiosk with an NVIDIA GPU whose TensorRT cannot be imported: a check made after
    TensorRT is imported would end in 'install TensorRT', not in its own message."""
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    monkeypatch.setattr("wds_edge.cli.export_cmds._nvidia_gpu_present", lambda: True)


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--out", "{tmp}/m.bin"], "--out {tmp}/m.bin: a TensorRT engine's name must end in "
      ".engine, .plan, .trt (it is loaded by its suffix, its sidecar is named after its stem), "
      "e.g. {tmp}/m.engine"),
     (["--out", "{tmp}/m"], "must end in .engine, .plan, .trt"),
     (["--workspace", "nan"], "--workspace (workspace_gib) must be a finite number of GiB above 0"),
     (["--workspace", "inf"], "got inf"),
     (["--workspace", "-1"], "got -1.0"),
     (["--workspace", "0"], "got 0.0")],
)  # fmt: skip
def test_build_engine_refuses_a_bad_out_or_workspace_before_tensorrt(
    small_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], args: list[str], message: str,
) -> None:  # fmt: skip
    """`--out m.bin` / `--out m` failed only after the build (or wrote an engine nothing
    loads, whose m.json sidecar the other one shared); --workspace nan / inf was a
    traceback, a negative one reached TensorRT. Now exit 2 before TensorRT is imported."""
    from fault_helpers import run_cli

    _no_tensorrt_but_a_gpu(monkeypatch)
    args = [a.format(tmp=tmp_path) for a in args]
    code, _, err = run_cli(capsys, "build-engine", "--onnx", small_onnx, "-p", "fp32", *args)
    assert code == 2, err
    assert message.format(tmp=tmp_path) in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("precision", ["fp16", "fp32"])
def test_build_engine_refuses_a_qdq_model_in_fp16_or_fp32(
    qdq_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], precision: str,
) -> None:  # fmt: skip
    """A Q/DQ ONNX builds only with INT8 enabled (TensorRT's explicit quantization); its FP16
    build reached TensorRT without BuilderFlag.INT8. Refused (exit 2) before TensorRT."""
    from fault_helpers import run_cli

    _no_tensorrt_but_a_gpu(monkeypatch)
    code, _, err = run_cli(capsys, "build-engine", "--onnx", qdq_onnx, "--precision", precision,
                           "--held-out", "synthetic", "--cache-dir", tmp_path)  # fmt: skip
    assert code == 2, err
    assert f"{qdq_onnx} is a Q/DQ (INT8) model: TensorRT builds it only as INT8" in err
    assert "--precision int8" in err and "WDS_PRECISION=int8" in err
    assert "its FP32 source (wds_b4_128_dyn.onnx)" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["missing", "empty", "a file"])
def test_build_engine_held_out_or_calib_that_is_no_calibration_folder_is_exit_2(
    fake_trt, small_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str,
) -> None:  # fmt: skip
    """A wrong --held-out / --calib folder is bad usage (exit 2), checked before the build:
    as a DataError (exit 1) the Jetson image read it as an engine that failed here and
    quietly ran FP32 instead."""
    from fault_helpers import run_cli

    state = fake_trt()
    folder = tmp_path / "held"
    if kind == "empty":
        folder.mkdir()
    elif kind == "a file":
        folder.write_text("x")
    for option in ("--held-out", "--calib"):
        code, _, err = run_cli(capsys, "build-engine", "--onnx", small_onnx, "-p", "fp16",
                               option, folder, "--cache-dir", tmp_path / "cache")  # fmt: skip
        assert code == 2, err
        assert f"{option}: {folder} is not a calibration folder" in err
    assert state.builds == [] and not (tmp_path / "cache").exists()


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_build_engine_refuses_held_out_crops_of_another_size_before_building(
    fake_trt, small_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    make_calib, precision: str,
) -> None:  # fmt: skip
    """640 px --held-out crops for the 128 px model: refused (exit 2, naming `wds-edge
    calibrate --size 128`) before TensorRT builds anything. The build ran first and the
    gate then failed at its first crop ("infer() needs shape (N,3,128,128)"), with nothing
    recorded: every container start rebuilt. Also the --calib crops an FP16 engine is
    gated on when no --held-out is given."""
    import numpy as np
    from fault_helpers import run_cli

    from wds_edge_calibration.dataset import write_calibration_set

    state = fake_trt()
    rng = np.random.default_rng(1)
    held = write_calibration_set(
        [rng.integers(0, 256, (640, 640, 3), dtype=np.uint8) for _ in range(2)],
        tmp_path / "held640", source="test", size_px=640, preprocessing_path="random pixels",
    )  # fmt: skip
    calib = ["--calib", make_calib(0).path] if precision == "int8" else []
    code, _, err = run_cli(capsys, "build-engine", "--onnx", small_onnx, "-p", precision,
                           *calib, "--held-out", held.path,
                           "--cache-dir", tmp_path / "cache")  # fmt: skip
    err = " ".join(err.split())
    assert code == 2, err
    assert "are 640 px, the model takes 128 px" in err and "calibrate --size 128" in err
    assert state.builds == []
    if precision == "fp16":  # the --calib crops gate FP16 when no --held-out is given
        code, _, err = run_cli(capsys, "build-engine", "--onnx", small_onnx, "-p", "fp16",
                               "--calib", held.path, "--cache-dir", tmp_path / "cache")  # fmt: skip
        assert code == 2 and "--calib crops" in err and "640 px" in err, err
        assert state.builds == []


def test_build_engine_exits_1_when_this_device_cannot_build_or_keep_the_engine(
    fake_trt, small_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Exit 1 (`build-engine --help`): the engine cannot be built or kept on this device, so
    another precision may still work (docker/entrypoint.sh then builds FP32). These exited
    2, which stopped the container: no fast FP16, a failed build, a pinned layer that does
    not run FP32 (also when refused again), an FP16 engine that cannot be gated."""
    from fault_helpers import run_cli

    args = ["build-engine", "--onnx", small_onnx, "-p", "fp16", "--held-out", "synthetic",
            "--cache-dir", tmp_path / "cache"]  # fmt: skip
    fake_trt(fast_fp16=False)
    code, _, err = run_cli(capsys, *args)
    assert code == 1 and "has no fast FP16" in err, err

    fake_trt(create_context_returns_none=True)  # TensorRT cannot run the new engine
    code, _, err = run_cli(capsys, *args)
    assert code == 1 and "could not create an execution context" in err, err

    from wds_edge.runtime.tensorrt import precision

    real = precision.pin_fp32

    def prefer(trt, network, config, names):  # noqa: ANN001, ANN202 - may be dropped
        pinned = real(trt, network, config, names)
        config.flags.discard(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
        config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
        return pinned

    fake_trt()
    monkeypatch.setattr("wds_edge.runtime.tensorrt.build.pin_fp32", prefer)
    for run in ("built", "refused at its last build"):
        code, _, err = run_cli(capsys, *args)
        assert code == 1 and "must stay FP32" in err, (run, err)
    assert "at its last build" in err

    code, _, err = run_cli(capsys, *args[:5], "--cache-dir", tmp_path / "cache")  # no crops
    assert code == 1 and "pass --held-out DIR" in err, err
    code, out, err = run_cli(capsys, *args[:4], "fp32", *args[7:])  # FP32 needs no gate
    assert code == 0 and "-fp32.engine built in" in " ".join(out.split()), err


def test_build_engine_int8_refuses_held_out_crops_of_a_calibrated_person_or_crop(
    fake_trt, small_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Defect: `quantize` refuses held-out crops that show a person of --calib or share
    crops with it (check_held_out), but build-engine compared only the crop hashes with
    --calib, and for a Q/DQ --onnx only the whole set's hash with the one its metadata
    records: a set naming a calibrated person, or a subset of the calibration crops, was
    gated on as held out. Both are now refused (exit 2) before anything is built."""
    import shutil

    from fault_helpers import run_cli

    from wds_edge.runtime.probe_inputs import synthetic_skin_crops
    from wds_edge_calibration.dataset import write_calibration_set
    from wds_edge_calibration.qdq import quantize_qdq

    state = fake_trt()
    crops = synthetic_skin_crops(128, 5)

    def crop_set(name: str, which: list[int], people: list[str]) -> Any:
        return write_calibration_set(
            [crops[i] for i in which], tmp_path / name, source="test", size_px=128,
            preprocessing_path="synthetic", people=people,
        )  # fmt: skip

    calib = crop_set("calib", [0, 1, 2], ["a"])
    same_person = crop_set("same_person", [3, 4], ["a"])  # other crops, a calibrated person
    subset = crop_set("subset", [0], ["b"])  # a calibration crop under another name
    other = crop_set("other", [3, 4], ["b"])
    cache = ["--cache-dir", tmp_path / "cache"]
    code, _, err = run_cli(capsys, "build-engine", "--onnx", small_onnx, "-p", "int8", "--calib",
                           calib.path, "--held-out", same_person.path, *cache)  # fmt: skip
    err = " ".join(err.split())
    assert code == 2 and "show people the model was calibrated on (a)" in err, err
    assert state.builds == []
    shutil.copy(small_onnx, tmp_path / small_onnx.name)  # the FP32 reference, next to it
    qdq = quantize_qdq(tmp_path / small_onnx.name, calib, tmp_path / "q.onnx", use_modelopt=False)
    for held, says in ((same_person, "show people the model was calibrated on (a)"),
                       (subset, "1 held-out crops are also calibration crops")):  # fmt: skip
        code, _, err = run_cli(capsys, "build-engine", "--onnx", qdq, "-p", "int8",
                               "--held-out", held.path, *cache)  # fmt: skip
        err = " ".join(err.split())
        assert code == 2 and says in err, err
    assert state.builds == []
    code, _, err = run_cli(capsys, "build-engine", "--onnx", qdq, "-p", "int8",
                           "--held-out", other.path, *cache)  # fmt: skip
    assert code == 0, err
    assert len(state.builds) == 1
