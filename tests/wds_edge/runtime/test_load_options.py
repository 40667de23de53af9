"""load_backend's keyword options: an unknown name is refused by every backend (with the
likely one), an option the chosen backend would drop is refused, ``num_threads`` is a whole
number >= 1, ``providers=`` make ``auto`` run ONNX Runtime on them, and ``auto``'s fallback
to ONNX Runtime's CUDA provider runs on the CUDA device asked for."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path

import numpy as np
import pytest

from wds_edge.errors import InvalidInputError
from wds_edge.runtime import TENSORRT_OPTIONS, load_backend

_OPENVINO_FP32 = {"backend": "openvino", "precision": "fp32"}


@pytest.mark.parametrize(
    ("kwargs", "likely"),
    [
        ({"backend": "onnxruntime", "num_thread": 2}, "num_threads"),
        ({**_OPENVINO_FP32, "cache_dri": "/x"}, "cache_dir"),
        ({"backend": "auto", "gate_crop": "synthetic"}, "gate_crops"),
        ({"backend": "tensorrt", "workspace_gb": 4}, "workspace_gib"),
        ({"backend": "auto", "provider": ["CPUExecutionProvider"]}, "providers"),
    ],
)
def test_an_unknown_option_is_refused_with_the_likely_one(
    small_onnx: Path, kwargs: dict, likely: str
) -> None:
    if kwargs["backend"] == "openvino":
        pytest.importorskip("openvino")
    backend = kwargs.pop("backend")
    with pytest.raises(InvalidInputError, match=rf"unknown option .*did you mean '{likely}'"):
        load_backend(small_onnx, backend, **kwargs)


def test_an_unknown_option_is_refused_where_tensorrt_runs_too(fake_trt, small_onnx: Path) -> None:
    """With TensorRT installed the typo reached provision_engine: a bare TypeError."""
    state = fake_trt()
    for backend in ("auto", "tensorrt"):
        with pytest.raises(InvalidInputError, match="did you mean 'cache_dir'"):
            load_backend(small_onnx, backend, cachedir="/tmp/x")
    assert state.builds == []


def test_tensorrt_options_are_those_of_provision_engine() -> None:
    from wds_edge.runtime.tensorrt.provision import provision_engine

    names = list(inspect.signature(provision_engine).parameters)
    assert sorted(TENSORRT_OPTIONS) == sorted(set(names) - {"model_path", "precision", "device"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "onnxruntime", "cache_dir": "/nonexistent"}, "cache_dir are TensorRT's"),
        ({**_OPENVINO_FP32, "gate_crops": "synthetic"}, "gate_crops are TensorRT's"),
        ({**_OPENVINO_FP32, "providers": ["CUDAExecutionProvider"]}, "backend 'openvino' takes"),
        ({"backend": "tensorrt", "providers": ["CPUExecutionProvider"]}, "'tensorrt' takes none"),
        (
            {"backend": "auto", "providers": ["CPUExecutionProvider"], "cache_dir": "/x"},
            "would be dropped",
        ),
        ({"backend": "auto", "providers": ["CPUExecutionProvider"], "device": 1}, "device_id"),
    ],
)
def test_an_option_the_backend_would_drop_is_refused(
    small_onnx: Path, kwargs: dict, message: str
) -> None:
    if kwargs["backend"] == "openvino":
        pytest.importorskip("openvino")
    backend = kwargs.pop("backend")
    with pytest.raises(InvalidInputError, match=message):
        load_backend(small_onnx, backend, **kwargs)


@pytest.mark.parametrize("threads", ["4", 2.7, True, 0, -1])
@pytest.mark.parametrize("backend", ["onnxruntime", "openvino", "auto"])
def test_num_threads_is_a_whole_number_of_at_least_one(
    small_onnx: Path, backend: str, threads: object
) -> None:
    if backend == "openvino":
        pytest.importorskip("openvino")
    precision = "fp32" if backend == "openvino" else "auto"
    with pytest.raises(InvalidInputError, match=r"num_threads must be a whole number >= 1"):
        load_backend(small_onnx, backend, precision=precision, num_threads=threads)


def test_a_numpy_integer_thread_count_is_one(small_onnx: Path) -> None:
    with load_backend(small_onnx, "onnxruntime", num_threads=np.int64(1)) as be:
        assert be.name == "onnxruntime"


def test_auto_with_providers_runs_onnxruntime_on_them(fake_trt, small_onnx: Path) -> None:
    state = fake_trt()  # TensorRT "installed": providers=[CPU] must not build an engine
    with load_backend(small_onnx, "auto", providers=["CPUExecutionProvider"]) as be:
        assert be.name == "onnxruntime" and be.providers == ["CPUExecutionProvider"]
    assert state.builds == []


def test_auto_falls_back_to_the_cuda_provider_on_the_device_asked_for(
    small_onnx: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A build that offers CUDA, no TensorRT, ``device=1``: ONNX Runtime is asked for CUDA
    device 1 (it was GPU 0: the index reached TensorRT only). This ONNX Runtime has no CUDA
    provider, so it cannot start it: a warning, and the CPU, as when it picks providers."""
    import wds_edge.runtime.onnxruntime as ort_backend

    monkeypatch.setattr(
        ort_backend, "default_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    caplog.set_level(logging.WARNING, logger="wds_edge.runtime")
    with load_backend(small_onnx, "auto", device=1) as be:
        assert be.name == "onnxruntime" and be.providers == ["CPUExecutionProvider"]
    asked = [r.getMessage() for r in caplog.records if "CUDAExecutionProvider" in r.getMessage()]
    assert asked and "'device_id': 1" in asked[0], asked
    assert "running ONNX Runtime on the CPU" in asked[0]


def test_auto_on_the_cuda_provider_refuses_a_precision_it_would_drop(
    small_onnx: Path, qdq_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that offers CUDA, no TensorRT: auto ran ONNX Runtime FP32 for --precision bf16
    or int8 (a model that is not Q/DQ) without a word; the CPU path refuses them. A Q/DQ
    model's INT8 and FP32 still run."""
    import wds_edge.runtime.onnxruntime as ort_backend

    monkeypatch.setattr(
        ort_backend, "default_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    for precision in ("bf16", "int8"):
        with pytest.raises(InvalidInputError, match=(
            rf"--precision {precision}: .*ONNX Runtime on the GPU \(CUDAExecutionProvider\).*"
            r"not .*--device CPU\) or with --backend openvino"
        )):  # fmt: skip
            load_backend(small_onnx, "auto", precision=precision)
    for model, precision in ((qdq_onnx, "int8"), (small_onnx, "fp32")):
        with load_backend(model, "auto", precision=precision) as be:
            assert be.name == "onnxruntime" and be.precision == precision


@pytest.mark.parametrize(
    ("precision", "named", "not_named"),
    [
        ("bf16", "for BF16 use --backend openvino", "--backend tensorrt"),
        ("fp16", "for FP16 use --backend openvino", None),
    ],
)
def test_onnxruntime_names_backends_that_run_the_precision_refused(
    small_onnx: Path, precision: str, named: str, not_named: str | None
) -> None:
    """ONNX Runtime's BF16 refusal named --backend tensorrt, which refuses BF16 (TensorRT
    builds FP32 / FP16 / INT8): BF16 names OpenVINO (or auto), FP16 OpenVINO and TensorRT."""
    with pytest.raises(InvalidInputError) as caught:
        load_backend(small_onnx, "onnxruntime", precision=precision)
    text = str(caught.value)
    assert f"has no --precision {precision}" in text and named in text
    if not_named:
        assert not_named not in text and "TensorRT has no BF16" in text
    else:
        assert "--backend tensorrt (NVIDIA GPU)" in text
