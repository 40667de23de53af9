"""A model whose metadata declares an even texture kernel is refused at load by every
backend as a ModelError naming ``texture_ksize``; ``auto`` ended in the host texture's
"ksize must be a positive odd number of pixels, got 20" (a parameter the user never gave)."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from wds_edge.errors import ModelError
from wds_edge.runtime import available_backends, load_backend


@pytest.fixture
def even_ksize(small_onnx: Path, tmp_path: Path) -> Path:
    proto = onnx.load(str(small_onnx))
    for prop in proto.metadata_props:
        if prop.key == "texture_ksize":
            prop.value = "20"
    path = tmp_path / "ksize_even.onnx"
    onnx.save(proto, str(path))
    return path


@pytest.mark.parametrize(
    ("backend", "precision"),
    [("onnxruntime", "auto"), ("openvino", "fp32"), ("openvino", "auto"), ("auto", "auto")],
)
def test_every_backend_refuses_it_naming_the_field(
    even_ksize: Path, backend: str, precision: str
) -> None:
    if "openvino" in backend and "openvino" not in available_backends():
        pytest.skip("OpenVINO is not installed")
    with pytest.raises(ModelError, match="texture_ksize 20 is not an odd number"):
        load_backend(even_ksize, backend, precision=precision, device="CPU", num_threads=1)
