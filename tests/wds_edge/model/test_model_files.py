"""wds_edge.model.files: the one 'no such model file' check and the one ONNX protobuf reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from wds_edge.errors import ModelError
from wds_edge.model.files import RUNTIME_HINT, load_onnx_proto, require_model_file


def test_a_missing_file_or_a_folder_is_not_a_model_file(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.onnx", tmp_path):
        with pytest.raises(ModelError, match="no such model file; pass the path of an .onnx"):
            require_model_file(path)
    with pytest.raises(ModelError, match="omit --model to use the bundled default"):
        require_model_file(tmp_path / "missing.onnx", RUNTIME_HINT)


def test_a_file_that_is_not_onnx_is_one_clear_error(tmp_path: Path) -> None:
    text = tmp_path / "text.onnx"
    text.write_text("hello, not a model")
    with pytest.raises(ModelError, match=r"text.onnx: cannot read it as an ONNX model \("):
        load_onnx_proto(text)


def test_a_real_model_is_read(onnx_model_path: Path) -> None:
    proto = load_onnx_proto(onnx_model_path, external_data=False)
    assert proto.graph.input[0].name == "image"
