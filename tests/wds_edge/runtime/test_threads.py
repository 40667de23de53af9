"""One backend shared by two threads returns exactly what it returns to one (issue 22, item 3).

A kiosk app calls ``infer`` from a UI thread and a capture thread on one ``load_backend()``
result. Every backend kind is driven the same way: two threads, each with its own input,
many calls each, every result compared bit for bit with the single-threaded result.
BF16 (OpenVINO) needs a CPU with AVX512_BF16 / AMX and is skipped elsewhere.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from wds_edge.model.preprocessing import model_input
from wds_edge.runtime.base import Backend
from wds_edge.runtime.probe_inputs import synthetic_skin_crops

CALLS_PER_THREAD = 40


def _inputs() -> list[np.ndarray]:
    return [model_input(c, "texture_in_graph") for c in synthetic_skin_crops(128, 2, seed=5)]


def _hammer(backend: Backend, inputs: list[np.ndarray]) -> None:
    """Two threads x CALLS_PER_THREAD calls; every output must equal the lone call's."""
    expected = [backend.infer(x) for x in inputs]
    assert not np.array_equal(expected[0], expected[1])  # a mix-up would be visible
    errors: list[BaseException] = []
    wrong: list[int] = []
    start = threading.Barrier(len(inputs))

    def worker(k: int) -> None:
        start.wait()
        for i in range(CALLS_PER_THREAD):
            try:
                out = backend.infer(inputs[k])
            except BaseException as exc:  # noqa: BLE001 - counted below
                errors.append(exc)
                continue
            if not np.array_equal(out, expected[k]):
                wrong.append(i)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, f"{len(errors)} calls raised, e.g. {errors[0]!r}"
    assert not wrong, f"{len(wrong)} calls returned another result than the lone call"


def test_onnxruntime(small_onnx: Path) -> None:
    from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend

    with OnnxRuntimeBackend(small_onnx, providers=["CPUExecutionProvider"]) as backend:
        _hammer(backend, _inputs())


@pytest.fixture(scope="module")
def openvino_int8_model(small_onnx: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("nncf", reason="making the INT8 IR needs nncf")
    from wds_edge_calibration.dataset import write_calibration_set
    from wds_edge_calibration.openvino_int8 import quantize_openvino_int8

    tmp = tmp_path_factory.mktemp("ov_threads")
    model = tmp / "m.onnx"
    shutil.copy(small_onnx, model)
    crops = synthetic_skin_crops(128, 6, seed=9)
    calib, held = (
        write_calibration_set(part, tmp / name, source="synthetic", size_px=128,
                              preprocessing_path="synthetic")
        for name, part in (("calib", crops[:3]), ("held", crops[3:]))
    )  # fmt: skip
    quantize_openvino_int8(model, calib, held, allow_accuracy_loss=True)
    return model


@pytest.mark.parametrize("precision", ["fp32", "bf16", "int8"])
def test_openvino(precision: str, small_onnx: Path, request: pytest.FixtureRequest) -> None:
    pytest.importorskip("openvino")
    from wds_edge.runtime.openvino import OpenVinoBackend, native_precisions

    if precision not in native_precisions():
        pytest.skip(f"this CPU runs {precision.upper()} only emulated ({native_precisions()})")
    model = request.getfixturevalue("openvino_int8_model") if precision == "int8" else small_onnx
    with OpenVinoBackend(model, precision=precision, cache_dir=False) as backend:
        _hammer(backend, _inputs())


def test_tensorrt_stand_in(
    fake_trt: Callable[..., object], small_onnx: Path, tmp_path: Path
) -> None:
    from wds_edge.runtime.tensorrt.provision import provision_engine

    fake_trt()
    with provision_engine(small_onnx, "fp32", cache_dir=tmp_path) as backend:
        _hammer(backend, _inputs())
