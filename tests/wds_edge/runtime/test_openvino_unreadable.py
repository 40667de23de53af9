"""A model file OpenVINO cannot read is a ModelError that names the file and what is wrong
(the missing .bin of an IR, an op it cannot convert, malformed XML), exit 2 on the CLI:
never OpenVINO's 60-line RuntimeError traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

ov = pytest.importorskip("openvino", reason="the OpenVINO backend needs openvino")

from wds_edge.cli import main  # noqa: E402
from wds_edge.errors import ModelError  # noqa: E402
from wds_edge.runtime import load_backend  # noqa: E402
from wds_edge.runtime.openvino import OpenVinoBackend  # noqa: E402


@pytest.fixture
def ir_without_bin(small_onnx: Path, tmp_path: Path) -> Path:
    xml = tmp_path / "m.xml"
    ov.save_model(ov.Core().read_model(str(small_onnx)), str(xml))
    xml.with_suffix(".bin").unlink()
    return xml


def test_an_ir_without_its_bin_names_the_missing_file(ir_without_bin: Path) -> None:
    for backend in ("openvino", "auto"):
        with pytest.raises(ModelError) as raised:
            load_backend(ir_without_bin, backend)
        message = str(raised.value)
        assert str(ir_without_bin) in message and "m.bin" in message, message
        assert "Exception from" not in message and "\n" not in message, message


def test_malformed_xml_and_an_op_openvino_cannot_convert(small_onnx: Path, tmp_path: Path) -> None:
    import onnx

    bad_xml = tmp_path / "corrupt.xml"
    bad_xml.write_text('<?xml version="1.0"?><net name="x" version="11"><layers><layer id="0"')
    with pytest.raises(
        ModelError, match="corrupt.xml: OpenVINO cannot read it as a model \\(Error parsing"
    ) as raised:
        OpenVinoBackend(bad_xml, precision="int8")
    assert "Exception from" not in str(raised.value)
    proto = onnx.load(str(small_onnx))
    proto.graph.node[-1].domain = "com.example.unknown"
    proto.opset_import.add(domain="com.example.unknown", version=1)
    unknown = tmp_path / "unknown_op.onnx"
    onnx.save(proto, str(unknown))
    with pytest.raises(ModelError, match="unknown_op.onnx: OpenVINO cannot read it") as raised:
        OpenVinoBackend(unknown, precision="fp32")
    assert "No conversion rule found" in str(raised.value), raised.value


def test_the_cli_exits_2_with_one_line(
    ir_without_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["bench", "model", "--model", str(ir_without_bin), "--backend", "openvino",
              "--quick"])  # fmt: skip
    err = capsys.readouterr().err
    assert ended.value.code == 2 and "m.bin" in err and "Traceback" not in err, err
