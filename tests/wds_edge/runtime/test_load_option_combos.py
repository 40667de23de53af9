"""Option combinations load_backend used to drop or answer with the wrong fix: TensorRT's
options with ``auto`` on ``--device CPU``, an IR on a non-CPU OpenVINO device with the
default precision, and an engine file under ``auto`` where TensorRT cannot run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from wds_edge.errors import BackendError, InvalidInputError
from wds_edge.runtime import load_backend

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "wds_b4_128_dyn.onnx"


@pytest.mark.parametrize(
    "option", [{"gate_crops": "synthetic"}, {"workspace_gib": 2}, {"cache_dir": "/tmp/x"}]
)
def test_auto_on_the_cpu_refuses_tensorrt_options(option: dict[str, object]) -> None:
    name = next(iter(option))
    with pytest.raises(InvalidInputError, match=f"TensorRT option.s. {name} would be dropped"):
        load_backend(FIXTURE, "auto", device="CPU", **option)


def test_an_ir_on_another_device_is_told_to_name_int8(tmp_path: Path) -> None:
    xml = tmp_path / "m.int8.xml"
    xml.write_text("<net/>")  # refused before it is read
    with pytest.raises(InvalidInputError, match="an OpenVINO IR runs in its own precision") as e:
        load_backend(xml, "openvino", device="GPU")
    assert "--precision int8" in str(e.value) and "fp16" not in str(e.value)


@pytest.mark.skipif(
    importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here"
)
def test_auto_with_an_engine_and_no_tensorrt_says_it_needs_tensorrt(tmp_path: Path) -> None:
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"\x00" * 64)
    with pytest.raises(BackendError, match="is a TensorRT engine: it needs TensorRT") as e:
        load_backend(engine, "auto")
    assert "export it again" not in str(e.value)


def test_the_engine_suffixes_are_tensorrts() -> None:
    from wds_edge.runtime import _ENGINE_SUFFIXES
    from wds_edge.runtime.tensorrt.backend import ENGINE_SUFFIXES

    assert _ENGINE_SUFFIXES == ENGINE_SUFFIXES
