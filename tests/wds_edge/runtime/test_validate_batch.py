"""Every backend refuses a NaN / infinite model input (it came out as NaN "probabilities" and
empty masks), and the check costs about a third of a millisecond at 640 px."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from wds_edge.errors import InvalidInputError
from wds_edge.model.preprocessing import model_input
from wds_edge.runtime import load_backend
from wds_edge.runtime.base import validate_batch
from wds_edge.runtime.probe_inputs import synthetic_skin_crops


@pytest.mark.parametrize(("backend", "precision"), [("onnxruntime", "auto"), ("openvino", "fp32")])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_input_is_refused(
    small_onnx: Path, backend: str, precision: str, bad: float
) -> None:
    if backend == "openvino":
        pytest.importorskip("openvino")
    with load_backend(small_onnx, backend, precision=precision, num_threads=1) as be:
        crop = synthetic_skin_crops(be.metadata.input_size_hw[0], 1)[0]
        x = model_input(crop, be.metadata.preprocessing)
        assert np.isfinite(be.infer(x)).all()  # the same input, finite, runs
        x[0, 0, 10, 10] = bad
        with pytest.raises(InvalidInputError, match=r"1 NaN / infinite value\(s\).*model_input"):
            be.infer(x)


def test_the_check_is_cheap_at_640_px(bundled_model: Path) -> None:
    """Measured on the 2-vCPU development VM: about 0.3 ms for one 640 px crop (3 channels)
    and 0.45 ms for 4; the bound leaves room for a loaded machine."""
    with load_backend(bundled_model, "onnxruntime", num_threads=1) as be:
        meta = be.metadata
    _, c, h, w = meta.input_shape
    assert h == 640
    x = np.random.default_rng(0).uniform(0, 255, (1, c, h, w)).astype(np.float32)
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        validate_batch(meta, x)
        times.append((time.perf_counter() - t0) * 1000.0)
    assert min(times) < 5.0, times
