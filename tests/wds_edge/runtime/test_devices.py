"""A device the chosen backend cannot honour is refused, not dropped (issue 22, item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wds_edge.errors import InvalidInputError
from wds_edge.runtime import load_backend


@pytest.mark.parametrize(
    ("backend", "precision", "device", "message"),
    [
        ("openvino", "auto", "GPU", "probes the CPU only"),
        ("openvino", "auto", "NPU", "probes the CPU only"),
        ("onnxruntime", "auto", "GPU", "takes no device"),
        ("onnxruntime", "fp32", 0, "takes no device"),
        ("auto", "auto", "NPU", "--backend openvino --device GPU|NPU"),
        # a number is a CUDA index, not an OpenVINO device (0 silently became "CPU")
        ("openvino", "fp32", 0, "OpenVINO takes a device name"),
        ("openvino", "fp32", "0", "OpenVINO takes a device name"),
        ("openvino", "fp32", 1, "OpenVINO takes a device name"),
        ("openvino", "auto", 0, "OpenVINO takes a device name"),
    ],
)
def test_a_device_that_would_be_dropped_is_refused(
    small_onnx: Path, backend: str, precision: str, device: object, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        load_backend(small_onnx, backend, precision=precision, device=device)


def test_the_cpu_is_honoured(fake_trt, small_onnx: Path, tmp_path: Path) -> None:
    state = fake_trt()  # TensorRT "installed": --device CPU must not build an engine
    with load_backend(small_onnx, "onnxruntime", device="CPU") as ort:
        assert ort.device == "CPU"
    with load_backend(small_onnx, "auto", device="CPU") as auto:
        assert auto.name in ("onnxruntime", "openvino") and "CPU" in auto.device
    assert state.builds == []


def test_openvino_device_names_are_not_case_sensitive(small_onnx: Path) -> None:
    """device="cpu" was refused with an explicit precision while auto / onnxruntime took it."""
    pytest.importorskip("openvino")
    for precision in ("fp32", "auto"):
        with load_backend(small_onnx, "openvino", precision=precision, device="cpu") as ov:
            assert ov.name == "openvino" and ov.device_name == "CPU"


def test_auto_says_when_a_cuda_index_falls_back_to_the_cpu(
    small_onnx: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """--device 7 on a machine without TensorRT or a CUDA provider ran on the CPU without a
    word (the device option is now on analyze, demo, serve and bench)."""
    import logging

    from wds_edge.runtime.onnxruntime import default_providers

    if any(p != "CPUExecutionProvider" for p in default_providers()):
        pytest.skip("a GPU execution provider is installed: auto would use it")
    with (
        caplog.at_level(logging.WARNING, logger="wds_edge.runtime"),
        load_backend(small_onnx, "auto", device=7, cache_dir=tmp_path) as backend,
    ):
        assert "CPU" in backend.device
    assert any("--device 7 names a CUDA device" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="wds_edge.runtime"):
        load_backend(small_onnx, "auto", device="CPU").close()
    assert not any("names a CUDA device" in r.getMessage() for r in caplog.records)
