"""The OpenVINO backend with the real OpenVINO runtime, on the bundled model and real crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openvino", reason="the OpenVINO backend needs openvino")

from wds_edge.errors import BackendError, InvalidInputError, ModelError  # noqa: E402
from wds_edge.model.metrics import mask_iou  # noqa: E402
from wds_edge.model.preprocessing import model_input  # noqa: E402
from wds_edge.runtime import load_backend  # noqa: E402
from wds_edge.runtime.gate import accuracy_gate  # noqa: E402
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend  # noqa: E402
from wds_edge.runtime.openvino import OpenVinoBackend, native_precisions  # noqa: E402
from wds_edge.runtime.probe_inputs import synthetic_skin_crops  # noqa: E402


def _batches(crops: list[np.ndarray]) -> list[np.ndarray]:
    return [model_input(c, "texture_in_graph") for c in crops]


@pytest.fixture(scope="module")
def reference(bundled_model: Path):
    with OnnxRuntimeBackend(bundled_model, providers=["CPUExecutionProvider"]) as ref:
        yield ref


def test_fp32_parity_with_onnxruntime_on_kiosk_crops(
    bundled_model: Path, reference: OnnxRuntimeBackend, kiosk_crops_640: list[np.ndarray]
) -> None:
    assert len(kiosk_crops_640) >= 3
    with OpenVinoBackend(bundled_model, precision="fp32") as ov:
        assert ov.name == "openvino" and ov.precision == "fp32" and "FP32" in ov.device
        for x in _batches(kiosk_crops_640):
            ref, out = reference.infer(x), ov.infer(x)
            assert out.shape == (1, 1, 640, 640) and out.dtype == np.float32
            assert float(np.abs(ref - out).max()) < 1e-3
            mask_ref = ref[0, 0] >= 0.5
            assert mask_ref.any()  # the crops carry wrinkles: the comparison means something
            assert np.array_equal(mask_ref, out[0, 0] >= 0.5)


@pytest.mark.skipif("bf16" not in native_precisions(), reason="this CPU has no native BF16")
def test_bf16_split_passes_the_gate_where_the_whole_graph_fails(
    bundled_model: Path, reference: OnnxRuntimeBackend, kiosk_crops_640: list[np.ndarray]
) -> None:
    """Texture map in FP32 + U-Net in BF16 passes; the whole graph in BF16 does not (issue 12).

    The synthetic probe images of ``auto`` draw the same line: a gate on them is meaningful.
    """
    import openvino as ov

    whole = ov.Core().compile_model(str(bundled_model), "CPU", {"INFERENCE_PRECISION_HINT": "bf16"})
    with OpenVinoBackend(bundled_model, precision="bf16") as split:
        assert "texture FP32" in split.device
        for crops in (kiosk_crops_640, synthetic_skin_crops(640, 4)):
            inputs = _batches(crops)
            good = accuracy_gate(reference.infer, split.infer, inputs, precision="bf16")
            bad = accuracy_gate(reference.infer, lambda x: whole(x)[0], inputs, precision="bf16")
            assert good.passed and good.mean_iou >= 0.99, good.reason
            assert not bad.passed and bad.mean_iou < good.mean_iou, bad.reason


def test_a_precision_the_cpu_cannot_run_is_refused(bundled_model: Path) -> None:
    native = native_precisions()
    missing = [p for p in ("fp16", "bf16") if p not in native]
    if not missing:
        pytest.skip(f"this CPU runs every reduced precision natively ({native})")
    with pytest.raises(BackendError, match="natively.*does not emulate"):
        OpenVinoBackend(bundled_model, precision=missing[0])
    with pytest.raises(BackendError, match="natively"):
        load_backend(bundled_model, "openvino", precision=missing[0])


def test_int8_without_a_quantized_model_says_how_to_make_one(
    bundled_model: Path, tmp_path: Path
) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(bundled_model.read_bytes())
    with pytest.raises(ModelError, match="wds-edge quantize --format openvino"):
        OpenVinoBackend(model, precision="int8")


def test_small_dynamic_model_batches_errors_and_close(onnx_model_path: Path) -> None:
    with OnnxRuntimeBackend(onnx_model_path) as ref, OpenVinoBackend(onnx_model_path) as ov:
        rng = np.random.default_rng(0)
        batch = rng.uniform(0, 255, (3, 3, 256, 256)).astype(np.float32)
        out = ov.infer(batch)
        assert out.shape == (3, 1, 256, 256)
        assert float(np.abs(out - ref.infer(batch)).max()) < 1e-3
        with pytest.raises(InvalidInputError, match=r"\(N, 3, 256, 256\)"):
            ov.infer(batch[:, :, :128])
        with pytest.raises(InvalidInputError, match="float32"):
            ov.infer(batch.astype(np.float64))
    ov.close()  # idempotent
    with pytest.raises(BackendError, match="closed"):
        ov.infer(batch)
    with pytest.raises(InvalidInputError, match="precision"):
        OpenVinoBackend(onnx_model_path, precision="int4")
    with pytest.raises(BackendError, match="no device"):
        OpenVinoBackend(onnx_model_path, device="NPU")


def test_texture_runs_on_the_host_only_where_it_reproduces_the_graph(
    onnx_model_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 25: the Eq. 1 subgraph on the host, checked against the model's own at load."""
    import onnx
    from onnx import numpy_helper

    rng = np.random.default_rng(1)
    batch = rng.uniform(0, 255, (2, 3, 256, 256)).astype(np.float32)
    with (
        OpenVinoBackend(onnx_model_path, cache_dir=False) as host,
        OpenVinoBackend(onnx_model_path, texture="openvino", cache_dir=False) as graph,
    ):
        assert host.texture_on_host and not graph.texture_on_host
        assert "texture FP32 on the host" in host.device and "host" not in graph.device
        np.testing.assert_allclose(host.infer(batch), graph.infer(batch), atol=1e-4)
    # a model whose subgraph blurs with a box instead of the Gaussian its metadata names
    model = onnx.load(str(onnx_model_path))
    for init in model.graph.initializer:
        if init.name in ("preprocess.kernel_x", "preprocess.kernel_y"):
            box = np.full(numpy_helper.to_array(init).shape, 1.0 / 21.0, np.float32)
            init.CopyFrom(numpy_helper.from_array(box, init.name))
    other = tmp_path / "box_blur.onnx"
    onnx.save(model, str(other))
    with caplog.at_level("WARNING"), OpenVinoBackend(other, cache_dir=False) as fallback:
        assert not fallback.texture_on_host
        with OnnxRuntimeBackend(other, providers=["CPUExecutionProvider"]) as ref:
            np.testing.assert_allclose(fallback.infer(batch), ref.infer(batch), atol=1e-3)
    assert "stays in OpenVINO" in caplog.text and "differs from the model's subgraph" in caplog.text
    with pytest.raises(ModelError, match="texture='host' is not possible"):
        OpenVinoBackend(other, texture="host", cache_dir=False)
    with pytest.raises(InvalidInputError, match="texture must be one of host, openvino"):
        OpenVinoBackend(onnx_model_path, texture="gpu")


def test_compiled_model_cache_is_filled(onnx_model_path: Path, tmp_path: Path) -> None:
    with OpenVinoBackend(onnx_model_path, cache_dir=tmp_path / "ov"):
        pass
    assert any((tmp_path / "ov" / "f32").glob("*.blob"))  # one folder per precision hint


def test_mask_iou_helper_agrees() -> None:  # guards the golden-value helper used above
    a = np.zeros((4, 4), bool)
    a[0] = True
    b = a.copy()
    b[0, 0] = False
    assert mask_iou(b, a) == pytest.approx(0.75)


def test_an_unusable_cache_folder_compiles_without_a_cache(
    onnx_model_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder would go")
    with caplog.at_level("WARNING"), OpenVinoBackend(onnx_model_path, cache_dir=blocker / "ov"):
        pass
    assert "OpenVINO model cache off" in caplog.text


def test_fp32_runs_a_graph_that_cannot_be_cut_at_the_texture(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A model that declares its preprocessing inside the graph but has no [R, G, B, T]
    Concat (here RGB -> 1x1 conv -> sigmoid): ONNX Runtime runs it, so OpenVINO FP32 must too
    (the host texture is a speed-up, not a requirement); a reduced precision still needs
    the cut and says so."""
    from fault_helpers import conv_sigmoid_onnx

    model = conv_sigmoid_onnx(tmp_path / "uncut.onnx")
    batch = np.random.default_rng(0).uniform(0, 255, (1, 3, 64, 64)).astype(np.float32)
    with caplog.at_level("WARNING"), OpenVinoBackend(model, cache_dir=False) as ov:
        assert not ov.texture_on_host
        with OnnxRuntimeBackend(model, providers=["CPUExecutionProvider"]) as ref:
            np.testing.assert_allclose(ov.infer(batch), ref.infer(batch), atol=1e-5)
    assert "stays in OpenVINO" in caplog.text
    if "bf16" in native_precisions():
        with pytest.raises(ModelError, match="Concat"):
            OpenVinoBackend(model, precision="bf16", cache_dir=False)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_graph_is_checked_against_its_metadata_before_compiling(
    onnx_model_path: Path,
    tmp_path: Path,
    metadata_rewriter,  # noqa: ANN001
    precision: str,
) -> None:
    """As ONNX Runtime does (one check, wds_edge.runtime.base.check_graph): a two-channel
    output ran, its channel 0 read as the wrinkle probability; a metadata input size other
    than the graph's was a cryptic compile error."""
    import json

    from fault_helpers import conv_sigmoid_onnx

    two = conv_sigmoid_onnx(tmp_path / "two.onnx", out_channels=2, size_px=32)
    with pytest.raises(ModelError, match=r"output 'p' is \[1, 2, 32, 32\], expected N x 1"):
        OpenVinoBackend(two, precision=precision, cache_dir=False)
    small = metadata_rewriter(onnx_model_path, tmp_path / "small.onnx",
                              input_shape=json.dumps([-1, 3, 128, 128]))  # fmt: skip
    with pytest.raises(ModelError, match="input height is 256 in the graph but 128 in the meta"):
        load_backend(small, "openvino", precision=precision)


def test_a_fixed_batch_model_runs_its_batch_and_auto_probes_it(fixed_batch2_onnx: Path) -> None:
    """``wds-edge export --batch 2``: OpenVINO reshaped it to batch 1 (a compile error in
    the graph's Concat); auto's probe fed its reference one image at a time and failed. Both
    now run the model's 2 images at once, and refuse another count as ONNX Runtime does."""
    x = np.random.default_rng(0).uniform(0, 255, (2, 3, 128, 128)).astype(np.float32)
    with OnnxRuntimeBackend(fixed_batch2_onnx, providers=["CPUExecutionProvider"]) as ref:
        want = ref.infer(x)
    for precision in ("fp32", *(["bf16"] if "bf16" in native_precisions() else [])):
        # the untrained model marks every pixel: its BF16 cannot be gated, and runs only
        # with the gate's failure allowed (test_openvino_explicit_gate.py)
        with load_backend(
            fixed_batch2_onnx, "openvino", precision=precision, allow_accuracy_loss=True
        ) as ov:
            assert ov.fixed_batch == 2 and ov.texture_on_host
            np.testing.assert_allclose(
                ov.infer(x), want, atol=1e-3 if precision == "bf16" else 1e-5
            )
            with pytest.raises(InvalidInputError, match="fixed batch of 2; pass exactly 2"):
                ov.infer(x[:1])
    with load_backend(fixed_batch2_onnx, "auto", device="CPU", num_threads=1) as auto:
        assert auto.infer(x).shape == (2, 1, 128, 128)
