"""``auto`` and an INT8 IR next to the model (issue 25): considered only when it was made from
this very FP32 file and passed its gate; then chosen only when it passes the probe's gate and
is the fastest. Real ONNX Runtime, OpenVINO and NNCF on the small fixture model."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nncf", reason="an INT8 IR needs nncf")

from wds_edge.runtime import auto  # noqa: E402
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend  # noqa: E402
from wds_edge.runtime.openvino import (  # noqa: E402
    RT_INFO_SECTION,
    OpenVinoBackend,
    int8_companion,
    int8_model_path,
    native_precisions,
)
from wds_edge.runtime.probe_inputs import synthetic_skin_crops  # noqa: E402
from wds_edge_calibration.dataset import write_calibration_set  # noqa: E402
from wds_edge_calibration.openvino_int8 import quantize_openvino_int8  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "wds_b4_128_dyn.onnx"

if "int8" not in native_precisions():
    pytest.skip("this CPU has no native INT8 in OpenVINO", allow_module_level=True)


# the untrained test model marks every pixel: the gate judges it by its IoU alone
pytestmark = pytest.mark.usefixtures("untrained_model_gate")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture model with an INT8 IR next to it, its recorded gate forced to "passed"
    (the synthetic crops are not what the gate is about here; the IR is real)."""
    import openvino as ov

    tmp = tmp_path_factory.mktemp("auto8")
    model = tmp / "m.onnx"
    shutil.copy(FIXTURE, model)
    crops = synthetic_skin_crops(128, 6, seed=11)
    kw = {"source": "synthetic", "size_px": 128, "preprocessing_path": "synthetic"}
    calib = write_calibration_set(crops[:3], tmp / "c", people=["a"], **kw)
    held = write_calibration_set(crops[3:], tmp / "h", people=["b"], **kw)
    quantize_openvino_int8(model, calib, held, allow_accuracy_loss=True)
    _set_gate_passed(ov, int8_model_path(model), True)
    return model


def _set_gate_passed(ov, ir: Path, passed: bool) -> None:  # noqa: ANN001 - the openvino module
    model = ov.Core().read_model(str(ir))
    gate = json.loads(str(model.get_rt_info([RT_INFO_SECTION, "gate"]).astype(str)))
    verdict = {"passed": passed, "verdict": "passed" if passed else "failed", "not_gated": ""}
    model.set_rt_info(json.dumps({**gate, **verdict}), [RT_INFO_SECTION, "gate"])
    tmp = ir.with_name("rewritten.xml")
    ov.save_model(model, str(tmp), compress_to_fp16=False)
    tmp.with_suffix(".bin").replace(ir.with_suffix(".bin"))
    tmp.replace(ir)


def _copy(model: Path, where: Path) -> Path:
    where.mkdir()
    for path in (model, int8_model_path(model), int8_model_path(model).with_suffix(".bin")):
        shutil.copy(path, where / path.name)
    return where / model.name


def test_a_sound_int8_is_a_candidate(made: Path) -> None:
    assert int8_companion(made) == (int8_model_path(made), "")
    assert "openvino:int8" in auto.cpu_candidates(made)


def test_a_stale_int8_is_left_out_with_a_log_line(
    made: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = _copy(made, tmp_path / "stale")
    model.write_bytes(model.read_bytes() + b"\0")  # a new FP32 model; the old INT8 stays
    with caplog.at_level(logging.WARNING, logger="wds_edge.runtime.auto"):
        names = auto.cpu_candidates(model)
    assert "openvino:int8" not in names and "openvino:fp32" in names
    assert "INT8 not considered" in caplog.text and "is stale" in caplog.text
    assert "make_bundled_int8.py" in caplog.text  # says how to fix it


def test_an_int8_that_failed_its_gate_is_left_out(
    made: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import openvino as ov

    model = _copy(made, tmp_path / "failed")
    _set_gate_passed(ov, int8_model_path(model), False)
    with caplog.at_level(logging.WARNING, logger="wds_edge.runtime.auto"):
        assert "openvino:int8" not in auto.cpu_candidates(model)
    assert "did not pass its accuracy gate" in caplog.text


def test_an_int8_that_failed_its_gate_runs_with_a_warning_when_named(
    made: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """auto leaves it out (above); asked for by name it runs, and the log says why not to."""
    import openvino as ov

    model = _copy(made, tmp_path / "named")
    ir = int8_model_path(model)
    caplog.set_level(logging.WARNING, logger="wds_edge.runtime")
    with OpenVinoBackend(ir, precision="int8"):
        pass
    assert "did not pass" not in caplog.text  # its gate passed: no word
    _set_gate_passed(ov, ir, False)
    with OpenVinoBackend(ir, precision="int8") as backend:
        assert backend.precision == "int8"
    assert f"{ir}: this INT8 model did not pass its accuracy gate when it was made" in caplog.text
    assert "wds-edge quantize --format openvino" in caplog.text


def test_the_int8_ir_given_as_the_model_runs_on_openvino_int8(made: Path) -> None:
    """The .xml of `wds-edge quantize --format openvino` passed as --model with --backend
    openvino (precision auto) or auto was read as an ONNX and reported corrupt; only
    --backend openvino --precision int8 ran it."""
    from wds_edge.errors import InvalidInputError
    from wds_edge.runtime import load_backend

    ir = int8_model_path(made)
    for name in ("openvino", "auto"):
        with load_backend(ir, name, num_threads=1) as backend:
            assert backend.name == "openvino" and backend.precision == "int8"
            assert backend.model_path == ir and "CPU" in backend.device
    with pytest.raises(InvalidInputError, match=r"OpenVINO IR \(\.xml\).*--backend openvino"):
        load_backend(ir, "onnxruntime")


def _slow_down_all_but_int8(monkeypatch: pytest.MonkeyPatch, delay_s: float = 0.3) -> None:
    """The others take ``delay_s`` longer per call: INT8 is the fastest, whatever the load."""
    real_ov, real_ort = OpenVinoBackend.infer, OnnxRuntimeBackend.infer

    def ov_infer(self, x):  # noqa: ANN001, ANN202
        if self.precision != "int8":
            time.sleep(delay_s)
        return real_ov(self, x)

    def ort_infer(self, x):  # noqa: ANN001, ANN202
        time.sleep(delay_s)
        return real_ort(self, x)

    monkeypatch.setattr(OpenVinoBackend, "infer", ov_infer)
    monkeypatch.setattr(OnnxRuntimeBackend, "infer", ort_infer)


def test_auto_picks_int8_when_it_passes_and_is_fastest(
    made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slow_down_all_but_int8(monkeypatch)
    decision = auto.decide_cpu_backend(made, num_threads=1, cache_dir=tmp_path)
    row = next(r for r in decision.rows if r.precision == "int8")
    if not row.passed:
        pytest.fail(f"the fixture's INT8 should pass the probe's gate: {row.reason}")
    assert (decision.backend, decision.precision) == ("openvino", "int8")


def test_auto_does_not_pick_a_fastest_int8_that_fails_the_probe_gate(
    made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slow_down_all_but_int8(monkeypatch)
    real = OpenVinoBackend.infer

    def wrong(self, x):  # noqa: ANN001, ANN202 - INT8 drifts: every probability halved
        out = real(self, x)
        return out * np.float32(0.5) if self.precision == "int8" else out

    monkeypatch.setattr(OpenVinoBackend, "infer", wrong)
    decision = auto.decide_cpu_backend(made, num_threads=1, cache_dir=tmp_path)
    row = next(r for r in decision.rows if r.precision == "int8")
    fastest = min(decision.rows, key=lambda r: r.latency_ms or 1e9)
    assert fastest.precision == "int8" and not row.passed and "failed" in row.reason
    assert decision.precision != "int8"
