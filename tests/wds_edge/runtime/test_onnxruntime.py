"""ONNX Runtime backend and the backend factory, on real exported models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from wds_edge.errors import BackendError, InvalidInputError, ModelError
from wds_edge.model.preprocessing import Preprocessing, model_input
from wds_edge.runtime import BACKEND_NAMES, available_backends, load_backend
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend

SIZE = 256


def test_loads_metadata_and_runs_cpu(onnx_model_path: Path) -> None:
    with load_backend(onnx_model_path, "onnxruntime", num_threads=1) as backend:
        assert isinstance(backend, OnnxRuntimeBackend)
        assert backend.name == "onnxruntime" and backend.device == "CPU"
        meta = backend.metadata
        assert meta.input_shape[1:] == [3, SIZE, SIZE]
        assert meta.preprocessing is Preprocessing.TEXTURE_IN_GRAPH
        crop = np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
        batch = np.concatenate([model_input(crop, meta.preprocessing)] * 3)
        out = backend.infer(batch)
        assert out.shape == (3, 1, SIZE, SIZE) and out.dtype == np.float32
        assert out.min() >= 0.0 and out.max() <= 1.0
        np.testing.assert_allclose(out[0], out[2], atol=1e-6)  # same input, same output


def test_fixed_batch_model_loops_over_n(
    onnx_model_fixed_batch: Path, onnx_model_path: Path
) -> None:
    rng = np.random.default_rng(1)
    batch = rng.uniform(0, 255, (2, 3, SIZE, SIZE)).astype(np.float32)
    with OnnxRuntimeBackend(onnx_model_fixed_batch, num_threads=1) as fixed:
        assert fixed.fixed_batch == 1
        out_fixed = fixed.infer(batch)
    with OnnxRuntimeBackend(onnx_model_path, num_threads=1) as dynamic:
        assert dynamic.fixed_batch is None
        out_dynamic = dynamic.infer(batch)
    assert out_fixed.shape == (2, 1, SIZE, SIZE)
    np.testing.assert_allclose(out_fixed, out_dynamic, atol=1e-4)


def test_infer_rejects_wrong_dtype_and_shape(onnx_model_path: Path) -> None:
    with OnnxRuntimeBackend(onnx_model_path, num_threads=1) as backend:
        with pytest.raises(InvalidInputError, match="float32"):
            backend.infer(np.zeros((1, 3, SIZE, SIZE), np.float64))
        with pytest.raises(InvalidInputError, match=rf"\(N, 3, {SIZE}, {SIZE}\)"):
            backend.infer(np.zeros((1, 4, SIZE, SIZE), np.float32))
        with pytest.raises(InvalidInputError, match="numpy array"):
            backend.infer([[1.0]])  # type: ignore[arg-type]
    backend.close()  # idempotent
    with pytest.raises(BackendError, match="closed"):
        backend.infer(np.zeros((1, 3, SIZE, SIZE), np.float32))


def test_factory_names_and_unknown_backend(onnx_model_path: Path) -> None:
    assert BACKEND_NAMES == ("auto", "onnxruntime", "openvino", "tensorrt")
    assert "onnxruntime" in available_backends()
    with pytest.raises(InvalidInputError, match="auto, onnxruntime, openvino, tensorrt"):
        load_backend(onnx_model_path, "tflite")
    with load_backend(onnx_model_path, "auto", num_threads=1) as backend:
        assert backend.name in ("onnxruntime", "openvino", "tensorrt")


def test_missing_and_corrupt_model_files(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such model file"):
        load_backend(tmp_path / "absent.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a protobuf" * 10)
    with pytest.raises(ModelError, match="corrupt or not ONNX"):
        load_backend(junk, "onnxruntime")


@pytest.mark.parametrize(
    ("changes", "fix"),
    [
        ({"drop_all": "1"}, "wds-edge export"),
        ({"format_version": "99"}, "upgrade wds-edge"),
        ({"preprocessing": "texture_outside"}, "needs 4 input channels"),
        ({"input_name": "pixels"}, "Re-export"),
        ({"input_shape": json.dumps([1, 3, 320, 320])}, "height is 256 in the graph"),
        ({"output_name": "logits"}, "no output named 'logits'"),
        ({"threshold": "7"}, "malformed"),
        # a newer format is told to upgrade even when its values do not parse here
        ({"format_version": "2", "preprocessing": "texture_v2"}, "upgrade wds-edge"),
        ({"value_range": "[0.0, 1.0]"}, r"value_range \[0.0, 1.0\] is not what"),
    ],
)
def test_refuses_models_whose_contract_cannot_be_met(
    onnx_model_path: Path,
    tmp_path: Path,
    metadata_rewriter,  # noqa: ANN001
    changes: dict[str, str],
    fix: str,
) -> None:
    bad = metadata_rewriter(onnx_model_path, tmp_path / "bad.onnx", **changes)
    with pytest.raises(ModelError, match=fix) as info:
        load_backend(bad, "onnxruntime")
    assert str(bad) in str(info.value)


def test_explicit_unknown_provider_is_a_backend_error(onnx_model_path: Path) -> None:
    with pytest.raises(BackendError, match="NoSuchExecutionProvider.*not available"):
        OnnxRuntimeBackend(onnx_model_path, providers=["NoSuchExecutionProvider"])


@pytest.mark.filterwarnings("ignore:Specified provider")
def test_a_gpu_provider_that_does_not_start_is_not_silently_the_cpu(
    small_onnx: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 22 item 9. This CPU build of ONNX Runtime, told that it offers CUDA, does what a
    GPU build without its CUDA libraries does: prints a warning and runs on the CPU."""
    import onnxruntime as ort

    monkeypatch.setattr(ort, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])  # fmt: skip
    with pytest.raises(BackendError, match=r"could not start \['CUDAExecutionProvider'\]"):
        OnnxRuntimeBackend(small_onnx, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    with OnnxRuntimeBackend(small_onnx) as backend:  # chosen, not named: a warning, and the CPU
        assert backend.device == "CPU" and backend.providers == ["CPUExecutionProvider"]
    assert "could not start ['CUDAExecutionProvider']" in caplog.text


def test_tensorrt_ep_is_not_a_default_and_gets_its_caches_when_named() -> None:
    from wds_edge.runtime.onnxruntime import PROVIDER_PREFERENCE, _with_caches

    assert "TensorrtExecutionProvider" not in PROVIDER_PREFERENCE
    name, options = _with_caches("TensorrtExecutionProvider")
    assert options["trt_engine_cache_enable"] == "True" and options["trt_engine_cache_path"]
    assert options["trt_timing_cache_path"] == options["trt_engine_cache_path"]
    assert _with_caches("CUDAExecutionProvider") == "CUDAExecutionProvider"


def test_an_output_with_two_channels_is_refused(tmp_path: Path) -> None:
    """The analyzer reads channel 0 as the wrinkle probability: a two-channel output
    (background, wrinkle) would invert every mask silently."""
    from fault_helpers import conv_sigmoid_onnx

    model = conv_sigmoid_onnx(tmp_path / "two.onnx", out_channels=2, size_px=32)
    with pytest.raises(ModelError, match=r"output 'p' is \[1, 2, 32, 32\], expected N x 1"):
        load_backend(model, "onnxruntime")


def test_onnxruntime_refuses_a_precision_it_would_not_run(
    small_onnx: Path, qdq_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It runs the file as exported: BF16 / FP16 never, INT8 only for a Q/DQ model (it used
    to accept them all and run FP32 without a word)."""
    from wds_edge.cli import main

    for precision in ("bf16", "fp16"):
        with pytest.raises(InvalidInputError, match=f"no --precision {precision}.*openvino"):
            load_backend(small_onnx, "onnxruntime", precision=precision)
        with pytest.raises(InvalidInputError, match="no --precision"):
            load_backend(qdq_onnx, "onnxruntime", precision=precision)
    with pytest.raises(InvalidInputError, match=r"not a Q/DQ INT8 model.*quantize --format qdq"):
        load_backend(small_onnx, "onnxruntime", precision="int8")
    for precision in ("auto", "fp32", "int8"):  # a Q/DQ model runs as exported: INT8
        with load_backend(qdq_onnx, "onnxruntime", precision=precision) as backend:
            assert backend.precision == "int8"
    with pytest.raises(SystemExit) as ended:  # a usage error: exit 2, one line
        main(["bench", "model", "--model", str(small_onnx), "--backend", "onnxruntime",
              "--precision", "int8", "--quick"])  # fmt: skip
    err = " ".join(capsys.readouterr().err.split())
    assert ended.value.code == 2 and "wds-edge quantize --format qdq" in err, err


def test_an_output_of_another_size_than_the_input_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The analyzer lays the probability map over the face crop pixel for pixel: a
    half-resolution output loaded, then every frame failed with a misleading region-mask
    shape error. It is refused at load, naming the output's size (a usage error: exit 2)."""
    from fault_helpers import conv_sigmoid_onnx, run_cli

    model = conv_sigmoid_onnx(tmp_path / "half.onnx", size_px=32, stride=2)
    message = "output 'p' is 16 x 16 pixels, but the input is 32 x 32"
    with pytest.raises(ModelError, match=message):
        load_backend(model, "onnxruntime")
    code, _, err = run_cli(capsys, "bench", "model", "--model", model, "--backend", "onnxruntime",
                           "--quick")  # fmt: skip
    assert code == 2 and message in err, err
