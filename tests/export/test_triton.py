"""Triton model repository: layout, and a config.pbtxt that parses and matches the ONNX IO."""

from __future__ import annotations

import re
from pathlib import Path

import onnxruntime as ort
import pytest

from wds_edge.errors import InvalidInputError
from wds_edge_export.onnx_export import export_model
from wds_edge_export.triton import write_triton_repository
from wds_edge_train.model import WrinkleUNet

_TOKEN = re.compile(r'\s*(?:(?P<str>"[^"]*")|(?P<punct>[{}\[\]:,])|(?P<word>[^\s{}\[\]:,"]+))')


def parse_pbtxt(text: str) -> dict:
    """Minimal protobuf text-format parser: fields -> lists of values (dicts for messages)."""
    tokens = [m for m in _TOKEN.finditer(text) if m.group().strip()]
    pos = 0

    def value():
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok.group("punct") == "{":
            return message("}")
        if tok.group("punct") == "[":
            items = []
            while tokens[pos].group("punct") != "]":
                items.append(value())
                if tokens[pos].group("punct") == ",":
                    pos += 1
            pos += 1
            return items
        if tok.group("str"):
            return tok.group("str")[1:-1]
        word = tok.group("word")
        return int(word) if re.fullmatch(r"-?\d+", word) else word

    def message(end):
        nonlocal pos
        fields: dict = {}
        while pos < len(tokens) and not (end and tokens[pos].group("punct") == end):
            name = tokens[pos].group("word")
            assert name, f"expected a field name at {tokens[pos].group()!r}"
            pos += 1
            if tokens[pos].group("punct") == ":":
                pos += 1
            v = value()
            fields.setdefault(name, []).extend(v if isinstance(v, list) else [v])
            if pos < len(tokens) and tokens[pos].group("punct") == ",":
                pos += 1
        pos += 1
        return fields

    return message(None)


def test_parser_on_known_good_text() -> None:
    cfg = parse_pbtxt('name: "m"\nmax_batch_size: 8\ninput [ { name: "x" dims: [ 3, 4 ] } ]')
    assert cfg == {"name": ["m"], "max_batch_size": [8], "input": [{"name": ["x"], "dims": [3, 4]}]}


@pytest.mark.parametrize("batch", ["dynamic", 1])
def test_repository_matches_onnx(tmp_path: Path, batch) -> None:
    onnx_path = tmp_path / "m.onnx"
    export_model(WrinkleUNet(base_channels=8), onnx_path, input_size_px=32, batch=batch,
                 metadata_extra={"model_name": "wds unet/b8"})  # fmt: skip
    model_dir = write_triton_repository(onnx_path, tmp_path / "repo", instance_count=2)
    assert model_dir.name == "wds_unet_b8"
    assert (model_dir / "1" / "model.onnx").read_bytes() == onnx_path.read_bytes()
    cfg = parse_pbtxt((model_dir / "config.pbtxt").read_text())
    assert cfg["name"] == ["wds_unet_b8"] and cfg["platform"] == ["onnxruntime_onnx"]
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    (cin,), (cout,) = cfg["input"], cfg["output"]
    assert cin["name"] == [inp.name] and cout["name"] == [out.name]
    assert cin["data_type"] == cout["data_type"] == ["TYPE_FP32"]
    if batch == "dynamic":
        # Triton prepends the batch axis itself: dims are the ONNX shape without it
        assert cfg["max_batch_size"] == [8] and cin["dims"] == inp.shape[1:]
        assert "dynamic_batching" in cfg
    else:
        assert cfg["max_batch_size"] == [0] and cin["dims"] == inp.shape
        assert cout["dims"] == out.shape and "dynamic_batching" not in cfg
    assert cfg["instance_group"] == [{"count": [2], "kind": ["KIND_GPU"]}]
    with pytest.raises(InvalidInputError, match="--force"):
        write_triton_repository(onnx_path, tmp_path / "repo")


@pytest.mark.parametrize("name", ["..", "../evil", ".hidden", "a/../../b"])
def test_a_model_name_never_leaves_the_repository(name: str, tmp_path: Path) -> None:
    """export --model-name .. --triton DIR wrote the model outside DIR (dots were kept)."""
    from wds_edge_export.triton import triton_model_path

    target = triton_model_path(tmp_path / "repo", name)
    assert target.resolve().is_relative_to((tmp_path / "repo").resolve())
    assert not target.parent.parent.name.startswith(".")
