"""provision_engine / load_backend("auto") against the TensorRT stand-in.

Defect 1 (auto must fall back, not raise, when no checked engine can be provided),
defect 8 (the real CUDA error in the no-GPU message), both cuda-python module layouts;
issue 22 item 8 (auto: TensorRT FP16, then TensorRT FP32, then the next backend, named).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from wds_edge.errors import BackendError, BackendUnavailableError
from wds_edge.runtime import load_backend
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend

# the untrained test model marks every pixel: the gate judges it by its IoU alone
pytestmark = pytest.mark.usefixtures("untrained_model_gate")


def _x(n: int = 2) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, (n, 3, 128, 128)).astype(np.float32)


def _with_threshold(small_onnx: Path, tmp_path: Path, threshold: float) -> Path:
    """The small model with another mask threshold in its metadata (its untrained output
    sits at 0.5998-0.6004: at 0.5999 float16 rounding flips a few pixels, at 0.99 none is
    marked)."""
    import onnx

    model = onnx.load(str(small_onnx))
    for prop in model.metadata_props:
        if prop.key == "threshold":
            prop.value = str(threshold)
    path = tmp_path / f"m{threshold}.onnx"
    onnx.save(model, str(path))
    return path


def _engines(caplog: pytest.LogCaptureFixture) -> str:
    return " | ".join(r.getMessage() for r in caplog.records if "TensorRT" in r.getMessage())


def test_auto_builds_fp16_gated_on_the_synthetic_crops(
    fake_trt, small_onnx: Path, tmp_path: Path
) -> None:
    import json

    fake_trt()
    with load_backend(small_onnx, "auto", cache_dir=tmp_path) as backend:
        assert backend.name == "tensorrt" and backend.precision == "fp16"
        doc = json.loads(backend.engine_path.with_suffix(".json").read_text())
    assert doc["accuracy_gate"]["crops_path"].startswith("synthetic-skin-crops-128px")
    assert doc["accuracy_gate"]["passed"]


@pytest.mark.parametrize(("threshold", "why"), [(0.5999, "accuracy gate failed"),
                                                 (0.99, "not gated")])  # fmt: skip
def test_auto_falls_back_to_tensorrt_fp32_not_the_cpu(
    fake_trt, small_onnx: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch, threshold: float, why: str,
) -> None:  # fmt: skip
    """FP16 fails the gate / cannot be gated: FP32 (no gate needed) on the GPU, not the CPU."""
    # the stand-in's FP16 rounding flips only a few pixels of this model: a bar it misses
    monkeypatch.setattr("wds_edge.runtime.gate.GATE_MIN_MEAN_IOU", 0.99999)
    state = fake_trt()
    model = _with_threshold(small_onnx, tmp_path, threshold)
    with (
        caplog.at_level(logging.WARNING, logger="wds_edge.runtime"),
        load_backend(model, "auto", cache_dir=tmp_path) as backend,
    ):
        assert backend.name == "tensorrt" and backend.precision == "fp32"
    assert "TensorRT FP16 unavailable" in _engines(caplog) and why in _engines(caplog)
    assert "trying TensorRT FP32" in _engines(caplog)
    assert [b["flags"] for b in state.builds] == [["FP16", "OBEY_PRECISION_CONSTRAINTS"], []]


def test_a_refused_fp16_engine_is_not_rebuilt_at_every_start(
    fake_trt, small_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second auto start goes straight to the cached FP32 engine: no FP16 build again."""
    monkeypatch.setattr("wds_edge.runtime.gate.GATE_MIN_MEAN_IOU", 0.99999)
    state = fake_trt()
    model = _with_threshold(small_onnx, tmp_path, 0.5999)
    for start in range(2):
        with load_backend(model, "auto", cache_dir=tmp_path) as backend:
            assert backend.precision == "fp32", start
    assert len(state.builds) == 2  # FP16 (refused) and FP32, both at the first start
    assert list(tmp_path.glob("*.refused.json"))


def test_auto_names_the_cpu_when_no_gpu_works_and_skips_tensorrt_for_bf16(
    fake_trt, small_onnx: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = fake_trt(fast_fp16=False, devices=[])
    with caplog.at_level(logging.WARNING, logger="wds_edge.runtime"):
        backend = load_backend(small_onnx, "auto", cache_dir=tmp_path)
    with backend:
        assert backend.name in ("onnxruntime", "openvino")
    assert "TensorRT FP32 unavailable" in caplog.text and "trying the CPU" in caplog.text
    state = fake_trt()
    try:  # BF16 is a CPU precision: TensorRT is not asked (it would refuse the name)
        load_backend(small_onnx, "auto", precision="bf16", cache_dir=tmp_path).close()
    except BackendError as exc:  # this CPU has no native BF16
        assert "bf16" in str(exc)
    assert state.builds == []


def test_explicit_tensorrt_still_needs_crops_for_fp16(
    fake_trt, small_onnx: Path, tmp_path: Path
) -> None:
    fake_trt()
    with pytest.raises(BackendUnavailableError, match="--held-out"):
        load_backend(small_onnx, "tensorrt", cache_dir=tmp_path)


def test_held_out_crops_without_wrinkles_do_not_gate_an_engine(
    fake_trt, small_onnx: Path, tmp_path: Path, make_calib
) -> None:
    """Defect: only the synthetic crops were checked for an FP32 reference without wrinkles;
    on held-out crops the engine "passed" at IoU 1.0 on empty masks. The gate's own "not
    gated" verdict now refuses it whatever the crops, with the fix."""
    from wds_edge.runtime.tensorrt.provision import ensure_engine

    fake_trt()
    model = _with_threshold(small_onnx, tmp_path, 0.99)  # no pixel marked
    held = make_calib(3)
    with pytest.raises(BackendUnavailableError, match="not gated on the crops of") as raised:
        ensure_engine(model, "fp16", gate_crops=held, cache_dir=tmp_path / "cache")
    assert "marks (almost) no wrinkles" in str(raised.value)
    assert "train the model longer" in str(raised.value)
    assert not list((tmp_path / "cache").glob("*.engine"))


def test_a_cached_engine_gated_under_the_old_rule_is_gated_again(
    fake_trt, small_onnx: Path, tmp_path: Path, make_calib, caplog: pytest.LogCaptureFixture
) -> None:
    """Defect: an engine whose sidecar gate passed before the "not gated" verdict (its FP32
    reference marked no pixel of the held-out crops: ``passed: true``, no ``verdict``) was
    reused without a look at its record. The record is judged by the gate's rule: the engine
    is rebuilt and gated again, which refuses it."""
    import json

    from wds_edge.runtime.tensorrt.provision import ensure_engine

    state = fake_trt()
    model = _with_threshold(small_onnx, tmp_path, 0.99)  # no pixel marked
    held, cache = make_calib(3), tmp_path / "cache"
    info = ensure_engine(model, "fp16", gate_crops=held, cache_dir=cache, allow_accuracy_loss=True)
    side = info.sidecar_path
    doc = json.loads(side.read_text())
    gate = doc["accuracy_gate"]
    assert gate["verdict"] == "not gated" and gate["reference_fraction"] == 0.0
    del gate["verdict"], gate["not_gated"]
    gate.update(passed=True, counts=True)  # what wds-edge wrote before the verdict
    side.write_text(json.dumps(doc))
    with (
        caplog.at_level(logging.WARNING, logger="wds_edge.runtime"),
        pytest.raises(BackendUnavailableError, match="not gated on the crops of"),
    ):
        ensure_engine(model, "fp16", gate_crops=held, cache_dir=cache)
    assert "the engine was not gated when it was made" in caplog.text
    assert len(state.builds) == 2  # built again to be gated again


def test_auto_uses_a_cached_engine(fake_trt, small_onnx: Path, tmp_path: Path) -> None:
    from wds_edge.runtime.tensorrt.backend import TensorRTBackend
    from wds_edge.runtime.tensorrt.provision import ensure_engine

    fake_trt()
    info = ensure_engine(small_onnx, "fp16", cache_dir=tmp_path, allow_accuracy_loss=True)
    assert info.built and info.path.parent == tmp_path
    with (
        load_backend(small_onnx, "auto", cache_dir=tmp_path) as trt,
        OnnxRuntimeBackend(small_onnx, providers=["CPUExecutionProvider"]) as ref,
    ):
        assert isinstance(trt, TensorRTBackend) and trt.engine_path == info.path
        for n in (1, 2, 1):  # batch changes reuse the same buffers
            np.testing.assert_allclose(trt.infer(_x(n)), ref.infer(_x(n)), atol=1e-6)


@pytest.mark.parametrize("layout", ["cuda.bindings", "cuda.cudart"])
def test_no_gpu_reports_the_cuda_error_and_auto_falls_back(
    fake_trt, small_onnx: Path, tmp_path: Path, layout: str
) -> None:
    from wds_edge.runtime.tensorrt.provision import provision_engine

    fake_trt(device_count_error=35, bindings_layout=layout)  # cudaErrorInsufficientDriver
    with pytest.raises(BackendUnavailableError) as info:
        provision_engine(small_onnx, "fp32", cache_dir=tmp_path)
    message = str(info.value)
    assert "cudaErrorInsufficientDriver" in message and "driver version is insufficient" in message
    assert "0 devices" not in message
    with load_backend(small_onnx, "auto", cache_dir=tmp_path) as backend:
        assert backend.name in ("onnxruntime", "openvino")  # the CPU, not TensorRT


def test_zero_devices_and_a_missing_device(fake_trt, small_onnx: Path, tmp_path: Path) -> None:
    from wds_edge.runtime.tensorrt.provision import provision_engine

    fake_trt(devices=[])
    with pytest.raises(BackendUnavailableError, match="0 devices"):
        provision_engine(small_onnx, "fp32", cache_dir=tmp_path)


def test_device_out_of_range(fake_trt, small_onnx: Path, tmp_path: Path) -> None:
    from wds_edge.runtime.tensorrt.provision import provision_engine

    fake_trt()
    with pytest.raises(BackendUnavailableError, match=r"device 3 does not exist.*0\.\.0"):
        provision_engine(small_onnx, "fp32", cache_dir=tmp_path, device=3)


def test_stale_engine_file_is_rebuilt_from_its_onnx(
    fake_trt, small_onnx: Path, tmp_path: Path
) -> None:
    import shutil

    from wds_edge.runtime.tensorrt.provision import ensure_engine, provision_engine

    fake_trt()
    onnx = tmp_path / "m.onnx"
    shutil.copy(small_onnx, onnx)
    info = ensure_engine(onnx, "fp32", out=tmp_path / "m.engine")
    info.path.write_bytes(info.path.read_bytes() + b" ")  # plan replaced behind the sidecar
    with provision_engine(info.path) as backend:
        assert backend.infer(_x(1)).shape == (1, 1, 128, 128)
    onnx.unlink()
    info.path.write_bytes(info.path.read_bytes() + b" ")
    from wds_edge.errors import ModelError

    with pytest.raises(ModelError, match="rebuild it on this device"):
        provision_engine(info.path)


def test_bench_model_reports_the_device_split(fake_trt, small_onnx: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from wds_edge.bench.model_bench import benchmark_model

    fake_trt()
    monkeypatch.setenv("WDS_EDGE_ENGINE_CACHE", str(tmp_path))
    result = benchmark_model(small_onnx, backend="tensorrt", precision="fp32", warmup=1, runs=3)
    assert result.backend == "tensorrt" and "TensorRT 10.3.0 FP32" in result.device
    assert result.breakdown["compute_ms"] == 0.25 and result.latency.p50_ms > 0


def test_auto_goes_on_to_the_cpu_when_the_engines_cannot_be_stored(
    fake_trt, small_onnx: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """TensorRT FP32 builds but its engine cannot be stored (its name is taken by a folder):
    auto names why and runs on the CPU instead of failing the load. (A read-only cache,
    which the atomic writer reports as an OutputError, cannot be made here: the tests run
    as root.)"""
    fake_trt()
    with load_backend(small_onnx, "auto", cache_dir=tmp_path / "first"):
        pass
    state = fake_trt(fast_fp16=False)  # FP16 refused by the gate: FP32 is built too
    names = [p.name for p in (tmp_path / "first").glob("*.engine")]
    blocked = tmp_path / "blocked"
    for name in names:
        (blocked / name).mkdir(parents=True)
        (blocked / name.replace("fp16", "fp32")).mkdir(parents=True, exist_ok=True)
    with caplog.at_level(logging.WARNING, logger="wds_edge.runtime"):
        backend = load_backend(small_onnx, "auto", cache_dir=blocked)
    with backend:
        assert backend.name in ("onnxruntime", "openvino")
    assert "TensorRT FP32 unavailable" in caplog.text and "Is a directory" in caplog.text
    assert state.builds


def test_a_fixed_batch_model_is_gated_on_its_batch_and_a_gate_it_cannot_run_is_a_refusal(
    fake_trt, fixed_batch2_onnx: Path, small_onnx: Path, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """``wds-edge export --batch 2``: the gate fed the engine one crop at a time, and the
    engine's InvalidInputError escaped auto (no fallback; the FP16 engine rebuilt at every
    start). The gate now feeds the model's batch (FP16 passes it); an engine that still
    cannot run the gate's input (here a dynamic-batch reference, which takes one crop at a
    time) is a recorded refusal, and auto goes on."""
    state = fake_trt()
    for _start in range(2):
        with load_backend(fixed_batch2_onnx, "auto", cache_dir=tmp_path / "a") as backend:
            assert backend.name == "tensorrt" and backend.precision == "fp16"
    opts = {"cache_dir": tmp_path / "b", "reference_onnx": small_onnx}
    with caplog.at_level(logging.WARNING, logger="wds_edge.runtime"):
        for _start in range(2):
            with load_backend(fixed_batch2_onnx, "auto", **opts) as backend:
                assert backend.name == "tensorrt" and backend.precision == "fp32"
    assert "cannot be gated: this engine was built with a fixed batch of 2" in _engines(caplog)
    assert list((tmp_path / "b").glob("*.refused.json"))
    assert len(state.builds) == 3  # FP16 (gated, kept); FP16 (refused) and FP32, once


def test_auto_builds_a_qdq_model_as_a_gated_tensorrt_int8_engine(
    fake_trt, qdq_onnx: Path, small_onnx: Path, tmp_path: Path
) -> None:
    """auto tried FP16 and FP32, which TensorRT does not build from a Q/DQ model, and went to
    the CPU on a GPU kiosk. It builds INT8 (no calibration: the scales are in the graph),
    gated against the FP32 model beside it on the synthetic crops; --backend tensorrt with
    precision auto does the same."""
    import json
    import shutil

    folder = tmp_path / "models"
    folder.mkdir()
    model = Path(shutil.copy(qdq_onnx, folder / qdq_onnx.name))
    shutil.copy(small_onnx, folder / small_onnx.name)  # the FP32 model it names as its source
    state = fake_trt()
    with load_backend(model, "auto", cache_dir=tmp_path / "engines") as backend:
        assert backend.name == "tensorrt" and backend.precision == "int8"
        doc = json.loads(backend.engine_path.with_suffix(".json").read_text())
    assert [b["qdq"] and "INT8" in b["flags"] for b in state.builds] == [True]
    assert doc["accuracy_gate"]["passed"]
    assert doc["accuracy_gate"]["crops_path"].startswith("synthetic-skin-crops-128px")
    with load_backend(model, "tensorrt", cache_dir=tmp_path / "engines", gate_crops="synthetic"):
        assert len(state.builds) == 1  # the same engine, reused


def test_an_engine_runs_in_its_own_precision_and_refuses_another(
    fake_trt, small_onnx: Path, tmp_path: Path
) -> None:
    """--precision was ignored for a .engine / .plan --model: an FP32 engine asked for FP16
    or INT8 ran FP32 without a word."""
    from wds_edge.errors import InvalidInputError
    from wds_edge.runtime.tensorrt.provision import ensure_engine

    fake_trt()
    engine = ensure_engine(small_onnx, "fp32", cache_dir=tmp_path).path
    for backend in ("tensorrt", "auto"):
        for precision in ("auto", "fp32"):
            with load_backend(engine, backend, precision=precision) as trt:
                assert trt.name == "tensorrt" and trt.precision == "fp32"
        for precision in ("fp16", "int8"):
            with pytest.raises(InvalidInputError, match=(
                rf"is an FP32 engine: .* not {precision.upper()}; leave out --precision .*"
                rf"build-engine --onnx {small_onnx} --precision {precision} "
            )):  # fmt: skip
                load_backend(engine, backend, precision=precision)
