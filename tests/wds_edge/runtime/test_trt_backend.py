"""TensorRTBackend against the TensorRT stand-in: threads, devices, failed loads, dtypes.

Defects 2 (one context, two threads), 5 (the device argument reaches cudaSetDevice, on
every thread) and 9 (leaks on a failed load, a None context, dtypes read from the engine).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from fake_tensorrt import Gpu

from wds_edge.errors import BackendError, InvalidInputError
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend


def _x(n: int = 1, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (n, 3, 128, 128)).astype(np.float32)


def _engine(small_onnx: Path, tmp_path: Path, device: int = 0) -> Path:
    from wds_edge.runtime.tensorrt.provision import ensure_engine

    return ensure_engine(small_onnx, "fp32", cache_dir=tmp_path, device=device).path


def test_two_threads_share_one_backend(fake_trt, small_onnx: Path, tmp_path: Path) -> None:
    from wds_edge.runtime.tensorrt.backend import TensorRTBackend

    state = fake_trt()
    errors: list[BaseException] = []
    with (
        TensorRTBackend(_engine(small_onnx, tmp_path)) as backend,
        OnnxRuntimeBackend(small_onnx, providers=["CPUExecutionProvider"]) as ref,
    ):
        expected = {seed: ref.infer(_x(1, seed)) for seed in (1, 2)}

        def worker(seed: int) -> None:  # the demo's worker thread and its main thread
            try:
                for _ in range(15):
                    np.testing.assert_allclose(backend.infer(_x(1, seed)), expected[seed])
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(s,)) for s in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert len(state.executions) == 30


def test_device_argument_reaches_every_allocation_and_thread(
    fake_trt, small_onnx: Path, tmp_path: Path
) -> None:
    from wds_edge.runtime.tensorrt.provision import provision_engine

    state = fake_trt(devices=[Gpu(), Gpu(name="NVIDIA RTX A2000", sm_count=26)])
    result: list[np.ndarray] = []
    with provision_engine(small_onnx, "fp32", cache_dir=tmp_path, device=1) as backend:
        assert "RTX A2000" in backend.device and "a2000" in backend.engine_path.name
        worker = threading.Thread(target=lambda: result.append(backend.infer(_x())))
        worker.start()  # a new thread starts on device 0
        worker.join()
        backend.infer(_x())
    assert result and result[0].shape == (1, 1, 128, 128)
    kinds = {r.kind for r in state.records}
    assert {"builder", "runtime", "context", "stream", "malloc", "malloc_host"} <= kinds
    assert {r.device for r in state.records} == {1}, [(r.kind, r.device) for r in state.records]
    assert state.executions == [1, 1]


def test_context_none_frees_everything_and_says_why(
    fake_trt, small_onnx: Path, tmp_path: Path
) -> None:
    from wds_edge.runtime.tensorrt.backend import TensorRTBackend

    state = fake_trt()
    engine = _engine(small_onnx, tmp_path)
    state.create_context_returns_none = True
    with pytest.raises(BackendError, match="execution context.*GPU memory"):
        TensorRTBackend(engine)
    assert state.live_kinds() == []


def test_failed_allocation_frees_what_was_allocated(
    fake_trt, small_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wds_edge.runtime.tensorrt import cuda
    from wds_edge.runtime.tensorrt.backend import TensorRTBackend

    state = fake_trt()
    engine = _engine(small_onnx, tmp_path)
    rt = cuda.cudart()
    calls = {"n": 0}
    real_malloc = rt.cudaMalloc

    def malloc_once_then_fail(nbytes: int):  # the output device buffer does not fit
        calls["n"] += 1
        return real_malloc(nbytes) if calls["n"] == 1 else (rt.cudaError_t.cudaErrorInvalidValue, 0)

    monkeypatch.setattr(rt, "cudaMalloc", malloc_once_then_fail)
    with pytest.raises(BackendError, match="cudaMalloc failed"):
        TensorRTBackend(engine)
    assert state.live_kinds() == []  # stream, 2 pinned buffers and 1 device buffer freed


def test_fp16_output_is_read_as_the_engine_declares(
    fake_trt, small_onnx: Path, tmp_path: Path
) -> None:
    from wds_edge.runtime.tensorrt.backend import TensorRTBackend

    fake_trt(output_dtype="float16")
    with (
        TensorRTBackend(_engine(small_onnx, tmp_path)) as backend,
        OnnxRuntimeBackend(small_onnx, providers=["CPUExecutionProvider"]) as ref,
    ):
        out = backend.infer(_x(2))
        assert out.dtype == np.float32 and out.shape == (2, 1, 128, 128)
        np.testing.assert_allclose(out, ref.infer(_x(2)), atol=1e-3)


def test_close_is_idempotent_and_infer_after_close_fails(
    fake_trt, small_onnx: Path, tmp_path: Path
) -> None:
    from wds_edge.runtime.tensorrt.backend import TensorRTBackend

    state = fake_trt()
    backend = TensorRTBackend(_engine(small_onnx, tmp_path))
    with pytest.raises(InvalidInputError, match=r"\(N, 3, 128, 128\)"):
        backend.infer(np.zeros((1, 3, 64, 64), np.float32))
    backend.close()
    backend.close()
    assert state.live_kinds() == []
    with pytest.raises(BackendError, match="after close"):
        backend.infer(_x())
    with pytest.raises(BackendError, match=r"profile_transfers\(\) called after close"):
        backend.profile_transfers(_x(), runs=1)


def test_profile_transfers_splits_host_and_device_time(
    fake_trt, small_onnx: Path, tmp_path: Path
) -> None:
    from wds_edge.runtime.tensorrt.backend import TensorRTBackend

    state = fake_trt()
    with TensorRTBackend(_engine(small_onnx, tmp_path)) as backend:
        split = backend.profile_transfers(_x(), runs=3)
    # the stand-in's events report 0.25 ms between any two records
    assert split == {"h2d_ms": 0.25, "compute_ms": 0.25, "d2h_ms": 0.25, "device_total_ms": 0.75}
    assert "event" not in state.live_kinds()


def test_an_onnx_is_refused_with_a_pointer_to_provision(fake_trt, small_onnx: Path) -> None:
    from wds_edge.runtime.tensorrt.backend import TensorRTBackend

    fake_trt()
    with pytest.raises(InvalidInputError, match="provision_engine"):
        TensorRTBackend(small_onnx)


def test_an_unclosed_backend_frees_its_device_memory_when_collected(
    fake_trt, small_onnx: Path, tmp_path: Path
) -> None:
    """Issue 22 item 12: no close(), no ``with``: the finalizer frees buffers and stream."""
    import gc

    from wds_edge.runtime.tensorrt.backend import TensorRTBackend

    state = fake_trt()
    backend = TensorRTBackend(_engine(small_onnx, tmp_path))
    backend.infer(_x())
    assert {"malloc", "malloc_host", "stream"} <= set(state.live_kinds())
    del backend
    gc.collect()
    assert state.live_kinds() == []


def test_inputs_are_checked_like_every_backend(fake_trt, small_onnx: Path, tmp_path: Path) -> None:
    """Issue 22 item 12: float64 / uint8 were cast silently, an empty batch raised IndexError."""
    from wds_edge.runtime.tensorrt.backend import TensorRTBackend

    fake_trt()
    with TensorRTBackend(_engine(small_onnx, tmp_path)) as backend:
        with pytest.raises(InvalidInputError, match="float32"):
            backend.infer(_x().astype(np.float64))
        with pytest.raises(InvalidInputError, match="float32"):
            backend.infer(_x().astype(np.uint8))
        with pytest.raises(InvalidInputError, match="N >= 1"):
            backend.infer(np.zeros((0, 3, 128, 128), np.float32))


def test_a_batch_1_engine_runs_a_batch_of_2_like_the_other_backends(
    fake_trt, onnx_model_fixed_batch: Path, tmp_path: Path
) -> None:
    """The Backend.infer contract: (N, C, H, W) -> (N, 1, H, W) for any N >= 1; a fixed
    batch-1 engine runs once per image (ONNX Runtime and OpenVINO loop the same way)."""
    from wds_edge.runtime.tensorrt.backend import TensorRTBackend
    from wds_edge.runtime.tensorrt.provision import ensure_engine

    state = fake_trt()
    engine = ensure_engine(onnx_model_fixed_batch, "fp32", cache_dir=tmp_path).path
    rng = np.random.default_rng(3)
    with (
        TensorRTBackend(engine) as backend,
        OnnxRuntimeBackend(onnx_model_fixed_batch, providers=["CPUExecutionProvider"]) as ref,
    ):
        assert not backend.metadata.dynamic_batch
        c, (h, w) = backend.metadata.input_channels, backend.metadata.input_size_hw
        x = rng.uniform(0, 255, (2, c, h, w)).astype(np.float32)
        singles = np.concatenate([backend.infer(x[:1]), backend.infer(x[1:])])
        runs = len(state.executions)
        out = backend.infer(x)
        assert out.shape == (2, 1, h, w) and out.dtype == np.float32
        assert len(state.executions) == runs + 2  # one batch-1 run per image
        np.testing.assert_array_equal(out, singles)
        np.testing.assert_allclose(out, ref.infer(x), atol=1e-5)
