"""Engine builds against the TensorRT stand-in (control flow only).

Defects 4 (TensorRT 11: no platform_has_fast_*, explicit INT8 only, a Q/DQ model is not
quantized twice), 6 (calibration data and SM count / memory in the key), 11 (one
ILogger per process, Ctrl-C cancels a build cleanly, the timing cache after the plan,
the calibrator always closed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fake_tensorrt import Gpu

from wds_edge.errors import BackendUnavailableError, InvalidInputError
from wds_edge.runtime.tensorrt.provision import ensure_engine, provision_engine

# the untrained test model marks every pixel: the gate judges it by its IoU alone
pytestmark = pytest.mark.usefixtures("untrained_model_gate")


class CountingCalibration:
    """calibration's real TensorRTCalibration, counting what the builder asks of it."""

    def __init__(self, calib_set) -> None:  # noqa: ANN001 - a CalibrationSet
        from wds_edge_calibration.trt_calibrator import tensorrt_calibration

        self._real = tensorrt_calibration(calib_set)
        self.crops = calib_set
        self.quantized: list[Path] = []
        self.calibrators: list = []

    def entropy_calibrator(self, metadata, *, model_sha256, cache_path):  # noqa: ANN001, ANN201
        cal = self._real.entropy_calibrator(
            metadata, model_sha256=model_sha256, cache_path=cache_path
        )
        real_close, cal.closed = cal.close, False

        def close() -> None:
            real_close()
            cal.closed = True

        cal.close = close
        self.calibrators.append(cal)
        return cal

    def quantize_qdq(self, onnx_path: Path, out_path: Path) -> Path:
        self.quantized.append(Path(onnx_path))
        return self._real.quantize_qdq(onnx_path, out_path)


def _doc(engine: Path) -> dict:
    return json.loads(engine.with_suffix(".json").read_text())


def test_trt11_int8_takes_the_explicit_route(
    fake_trt, small_onnx: Path, tmp_path: Path, make_calib
) -> None:
    state = fake_trt(version="11.4.0")
    calib = CountingCalibration(make_calib(0))
    info = ensure_engine(small_onnx, "int8", calibration=calib, cache_dir=tmp_path,
                         gate_crops=make_calib(9))  # fmt: skip
    assert calib.quantized == [small_onnx] and calib.calibrators == []
    build = state.builds[-1]
    assert build["strongly_typed"] and build["qdq"] and build["flags"] == []
    assert _doc(info.path)["calibration"]["route"] == "explicit-qdq"
    assert info.gate is not None and info.gate.passed


def test_trt11_qdq_model_is_not_quantized_again(
    fake_trt, small_onnx: Path, tmp_path: Path, make_calib
) -> None:
    fake_trt(version="11.4.0")
    calib = CountingCalibration(make_calib(0))
    qdq = calib._real.quantize_qdq(small_onnx, tmp_path / "m.qdq.onnx")
    info = ensure_engine(qdq, "int8", calibration=calib, cache_dir=tmp_path,
                         reference_onnx=small_onnx, gate_crops=make_calib(9))  # fmt: skip
    assert calib.quantized == [] and calib.calibrators == []
    assert _doc(info.path)["calibration"]["route"] == "qdq-in-onnx"


def test_trt11_refuses_fp16_and_never_asks_platform_has_fast(
    fake_trt, small_onnx: Path, tmp_path: Path
) -> None:
    fake_trt(version="11.4.0")
    with pytest.raises(BackendUnavailableError, match="no FP16 builder flag"):
        ensure_engine(small_onnx, "fp16", cache_dir=tmp_path, allow_accuracy_loss=True)
    assert ensure_engine(small_onnx, "fp32", cache_dir=tmp_path).built


def test_trt10_int8_calibrates_and_always_closes_the_calibrator(
    fake_trt, small_onnx: Path, tmp_path: Path, make_calib
) -> None:
    state = fake_trt()
    calib = CountingCalibration(make_calib(0))
    info = ensure_engine(small_onnx, "int8", calibration=calib, cache_dir=tmp_path,
                         gate_crops=make_calib(9))  # fmt: skip
    (cal,) = calib.calibrators
    assert cal.batches_fed == 6 and cal.closed and calib.quantized == []
    assert set(state.builds[-1]["flags"]) >= {"INT8", "FP16"}
    assert _doc(info.path)["calibration"]["data_sha256"] == calib.crops.data_sha256
    assert state.live_kinds() == []  # the calibrator's device buffer and the gate's freed


def test_new_calibration_data_rebuilds_and_regates_int8(
    fake_trt, small_onnx: Path, tmp_path: Path, make_calib
) -> None:
    fake_trt()
    held = make_calib(9)
    first = ensure_engine(small_onnx, "int8", calibration=CountingCalibration(make_calib(0)),
                          cache_dir=tmp_path, gate_crops=held)  # fmt: skip
    same = ensure_engine(small_onnx, "int8", calibration=CountingCalibration(make_calib(0)),
                         cache_dir=tmp_path, gate_crops=held)  # fmt: skip
    assert not same.built and same.path == first.path
    new = ensure_engine(small_onnx, "int8", calibration=CountingCalibration(make_calib(1)),
                        cache_dir=tmp_path, gate_crops=held)  # fmt: skip
    assert new.built and new.gate is not None and new.path != first.path
    # a run that brings no calibration data (analyze / demo) finds the newest INT8 engine
    with provision_engine(small_onnx, "int8", cache_dir=tmp_path) as backend:
        assert backend.engine_path == new.path


def test_gpus_with_one_name_but_other_sm_count_or_memory_get_their_own_engine(
    fake_trt, small_onnx: Path, tmp_path: Path
) -> None:
    names = set()
    for gpu in (Gpu("Orin", 8, 7, 16, 61 << 30), Gpu("Orin", 8, 7, 8, 7 << 30),
                Gpu("Orin", 8, 7, 8, 15 << 30)):  # fmt: skip
        fake_trt(devices=[gpu])
        info = ensure_engine(small_onnx, "fp32", cache_dir=tmp_path)
        assert info.built, gpu
        names.add(info.path.name)
    assert len(names) == 3 and any("-16sm-61gib-" in n for n in names)


def test_one_trt_logger_for_build_gate_and_load(
    fake_trt, small_onnx: Path, tmp_path: Path, make_calib
) -> None:
    state = fake_trt()
    calib = CountingCalibration(make_calib(0))
    with provision_engine(small_onnx, "int8", calibration=calib, cache_dir=tmp_path,
                          gate_crops=make_calib(9)):  # fmt: skip
        pass
    with provision_engine(small_onnx, "fp16", gate_crops=calib.crops, cache_dir=tmp_path):
        pass
    assert len(state.loggers) == 1


def test_interrupt_in_progress_callback_cancels_cleanly(
    fake_trt, small_onnx: Path, tmp_path: Path, make_calib
) -> None:
    state = fake_trt()
    calib = CountingCalibration(make_calib(0))

    def progress(phase: str, step: int, total: int) -> None:
        if step == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ensure_engine(small_onnx, "int8", calibration=calib, cache_dir=tmp_path / "cache",
                      gate_crops=make_calib(9), progress=progress)  # fmt: skip
    assert calib.calibrators[0].closed
    assert not (tmp_path / "cache").exists() and state.live_kinds() == []


_CTRL_C_SCRIPT = """
import os, signal, sys
from pathlib import Path
import pytest
sys.path.insert(0, sys.argv[1])
import fake_tensorrt
from wds_edge.runtime.tensorrt.provision import ensure_engine

fake_tensorrt.install(pytest.MonkeyPatch())
seen = []
# what the build must put back: Python's default handler, or SIG_IGN when the test runs in
# a background job (a non-interactive shell starts those with SIGINT ignored)
before = signal.getsignal(signal.SIGINT)

def progress(phase, step, total):
    seen.append(step)
    if step == 1:
        os.kill(os.getpid(), signal.SIGINT)

out = Path(sys.argv[3])
try:
    ensure_engine(sys.argv[2], "fp32", cache_dir=out, progress=progress)
except KeyboardInterrupt:
    assert seen == [0, 1], seen
    assert list(out.iterdir()) == [], list(out.iterdir())
    assert signal.getsignal(signal.SIGINT) is before, (signal.getsignal(signal.SIGINT), before)
    print("cancelled cleanly")
"""


def test_ctrl_c_during_a_build_cancels_it(small_onnx: Path, tmp_path: Path) -> None:
    # A real SIGINT to a fresh process: sent to the whole pytest process, it would also
    # reach the native threads other tests left behind (OpenVINO's pool segfaults on it).
    out = tmp_path / "cache"
    out.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", _CTRL_C_SCRIPT, str(Path(__file__).parent), str(small_onnx),
         str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and "cancelled cleanly" in done.stdout, done.stderr[-2000:]


def test_unwritable_timing_cache_does_not_lose_the_plan(
    fake_trt, small_onnx: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake_trt()
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    info = ensure_engine(small_onnx, "fp32", cache_dir=tmp_path,
                         timing_cache=blocker / "timing.cache")  # fmt: skip
    assert info.built and info.path.is_file() and info.sidecar_path.is_file()
    assert "could not write the timing cache" in caplog.text


def test_timing_cache_is_reused(fake_trt, small_onnx: Path, tmp_path: Path) -> None:
    fake_trt()
    ensure_engine(small_onnx, "fp32", cache_dir=tmp_path)
    (timing,) = tmp_path.glob("timing-*.cache")
    assert timing.read_bytes() == b"timing-cache" and "-24sm" in timing.name


def test_int8_without_calibration_data(fake_trt, small_onnx: Path, tmp_path: Path) -> None:
    fake_trt()
    with pytest.raises(InvalidInputError, match="--calib"):
        ensure_engine(small_onnx, "int8", cache_dir=tmp_path, allow_accuracy_loss=True)
    with pytest.raises(InvalidInputError, match="precision must be one of"):
        ensure_engine(small_onnx, "fp64", cache_dir=tmp_path)


def test_a_qdq_engine_is_gated_against_its_fp32_source_on_held_out_crops(
    fake_trt, small_onnx: Path, tmp_path: Path, make_calib
) -> None:
    """Issue 22 item 6: not INT8 (the Q/DQ model in ONNX Runtime) against INT8."""
    import shutil

    from wds_edge.errors import InvalidInputError
    from wds_edge.io import sha256_file

    fake_trt()
    calib = CountingCalibration(make_calib(0))
    qdq = calib._real.quantize_qdq(small_onnx, tmp_path / "m.qdq.onnx")
    held = make_calib(9)
    with pytest.raises(BackendUnavailableError, match="--fp32-onnx"):  # source not next to it
        ensure_engine(qdq, "int8", cache_dir=tmp_path / "a", gate_crops=held)
    with pytest.raises(InvalidInputError, match="not the FP32 model"):
        ensure_engine(qdq, "int8", cache_dir=tmp_path / "a", gate_crops=held, reference_onnx=qdq)
    with pytest.raises(InvalidInputError, match="share crops"):  # held-out = calibration crops
        ensure_engine(qdq, "int8", cache_dir=tmp_path / "a", gate_crops=make_calib(0),
                      reference_onnx=small_onnx)  # fmt: skip
    shutil.copy(small_onnx, tmp_path / small_onnx.name)  # next to it, as its metadata names it
    info = ensure_engine(qdq, "int8", cache_dir=tmp_path / "b", gate_crops=held)
    gate = _doc(info.path)["accuracy_gate"]
    assert gate["reference_onnx_sha256"] == sha256_file(small_onnx) != sha256_file(qdq)
    assert gate["crops_sha256"] == held.data_sha256 and gate["images"] == len(held)


def test_max_crops_is_part_of_the_int8_engine_and_calibration_cache_keys(
    fake_trt, small_onnx: Path, tmp_path: Path, make_calib
) -> None:
    """Issue 22 item 17: three of six crops give other scales, so another engine."""
    from wds_edge_calibration.cache import calibration_cache_key
    from wds_edge_calibration.trt_calibrator import tensorrt_calibration

    fake_trt()
    calib, held = make_calib(0), make_calib(9)
    full = ensure_engine(small_onnx, "int8", calibration=tensorrt_calibration(calib),
                         gate_crops=held, cache_dir=tmp_path)  # fmt: skip
    part = ensure_engine(small_onnx, "int8", calibration=tensorrt_calibration(calib, max_crops=3),
                         gate_crops=held, cache_dir=tmp_path)  # fmt: skip
    assert part.built and part.path != full.path
    assert calibration_cache_key("d", "m", "10.3.0", 3) != calibration_cache_key("d", "m", "10.3.0")


def test_a_refused_timing_cache_is_replaced_not_ignored(
    fake_trt, small_onnx: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 22 item 19: set_timing_cache's False (another device / TensorRT) is seen."""
    fake_trt(timing_cache_ok=False)
    timing = tmp_path / "t.cache"
    timing.write_bytes(b"from another GPU")
    info = ensure_engine(small_onnx, "fp32", cache_dir=tmp_path, timing_cache=timing)
    assert info.built and "refused the timing cache" in caplog.text
    assert timing.read_bytes() == b"timing-cache"  # the new one replaces it


def test_ensure_engine_refuses_a_bad_request_before_importing_tensorrt(
    small_onnx: Path, qdq_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ``out`` nothing loads (its suffix), a workspace TensorRT cannot take, a Q/DQ model
    asked for FP16 / FP32: refused before TensorRT (absent here) is imported."""
    from wds_edge.errors import ModelError

    monkeypatch.setitem(sys.modules, "tensorrt", None)  # importing it fails
    for out in ("m.bin", "m", "m.onnx"):
        with pytest.raises(InvalidInputError, match=r"must end in \.engine, \.plan, \.trt"):
            ensure_engine(small_onnx, "fp32", out=tmp_path / out)
    for workspace in (float("nan"), float("inf"), -1.0, 0):
        with pytest.raises(InvalidInputError, match="finite number of GiB above 0"):
            ensure_engine(small_onnx, "fp32", workspace_gib=workspace)
    for precision in ("fp16", "fp32"):
        with pytest.raises(ModelError, match=r"Q/DQ \(INT8\) model: .* --precision int8"):
            ensure_engine(qdq_onnx, precision, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_stand_in_builds_a_qdq_network_only_with_int8(
    fake_trt, qdq_onnx: Path, tmp_path: Path
) -> None:
    """TensorRT's explicit quantization: a weakly typed Q/DQ network without
    BuilderFlag.INT8 fails to build ("int8 is not configured in the builder"); the INT8
    route sets it."""
    from wds_edge.errors import BackendError
    from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend
    from wds_edge.runtime.tensorrt.build import build_plan, tensorrt_module
    from wds_edge.runtime.tensorrt.cuda import device_info

    state = fake_trt()
    with OnnxRuntimeBackend(qdq_onnx, providers=["CPUExecutionProvider"]) as ort:
        metadata = ort.metadata
    args = (tensorrt_module(), qdq_onnx)
    opts = {"model_sha256": "0" * 64, "calib_cache_path": tmp_path / "m.calib"}
    with pytest.raises(BackendError, match="could not build a fp16 engine"):
        build_plan(*args, "fp16", metadata, device_info(0), **opts)
    assert "int8 is not configured in the builder" in state.warnings[-1]
    built = build_plan(*args, "int8", metadata, device_info(0), **opts)
    assert built.calibration.route == "qdq-in-onnx" and "INT8" in state.builds[-1]["flags"]
