"""`wds-edge bench compare`: refusals that come before anything is timed."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from wds_edge.cli import app
from wds_edge.errors import InvalidInputError


def test_openvino_int8_without_an_int8_file_says_how_to_make_one(
    onnx_model_path: Path, tmp_path: Path
) -> None:
    """No INT8 file ships: the entry is refused in bench compare's terms (it used to end in
    the runtime's "use --precision", an option bench compare does not have)."""
    args = ["bench", "compare", "--backends", "onnxruntime:fp32,openvino:int8",
            "--models", str(onnx_model_path), "--out", str(tmp_path / "b")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, InvalidInputError), result.output
    message = str(result.exception)
    assert "leave openvino:int8 out of --backends" in message
    assert "wds-edge quantize --format openvino" in message and "--precision" not in message
    assert not (tmp_path / "b").exists()
