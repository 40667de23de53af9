"""The bundled INT8 entry of the manifest (issue 25): made from the bundled FP32 file, gated on
other people than it was calibrated on; a stale one (the FP32 model replaced) is reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from wds_edge.errors import ModelError
from wds_edge.io import sha256_file
from wds_edge.model.bundled import (
    MANIFEST_NAME,
    bundled_int8_problems,
    default_model_path,
    read_manifest,
    write_manifest,
)

GATE = {"mean_iou": 0.985, "min_iou": 0.96, "images": 100, "passed": True}


def _bundle(folder: Path, model: Path, source: Path, **changes: Any) -> dict[str, Any]:
    """A models folder holding ``model`` and an INT8 entry made from ``source``."""
    folder.mkdir(exist_ok=True)
    shutil.copy(model, folder / "wds_unet_default.onnx")
    xml, weights = folder / "wds_unet_default.int8.xml", folder / "wds_unet_default.int8.bin"
    xml.write_text("<net/>")  # the entry's bookkeeping is tested here, not the IR
    weights.write_bytes(b"\1\2\3")
    entry = {
        "file": xml.name, "weights_file": weights.name, "sha256": sha256_file(xml),
        "weights_sha256": sha256_file(weights), "source_sha256": sha256_file(source),
        "calibration_people": ["biden", "obama"], "held_out_people": ["grace_hopper"],
        "gate": dict(GATE), **changes,
    }  # fmt: skip
    write_manifest(folder / "wds_unet_default.onnx", "test", {"int8": entry})
    return entry


def test_a_sound_entry_has_no_problems_and_reads_back(
    onnx_model_path: Path, tmp_path: Path
) -> None:
    entry = _bundle(tmp_path, onnx_model_path, onnx_model_path)
    assert bundled_int8_problems(tmp_path) == []
    assert read_manifest(tmp_path)["int8"] == {**entry, "kept_fp32_layers": []}


def test_replacing_the_fp32_model_makes_the_int8_stale(
    onnx_model_path: Path, onnx_model_fixed_batch: Path, tmp_path: Path
) -> None:
    # a new FP32 model is bundled (its manifest written), the INT8 entry is the old one
    _bundle(tmp_path, onnx_model_fixed_batch, onnx_model_path)
    assert default_model_path(tmp_path).is_file()  # the FP32 model itself is fine
    problems = bundled_int8_problems(tmp_path)
    assert len(problems) == 1 and "is stale" in problems[0]
    assert "make_bundled_int8.py" in problems[0]


def test_a_damaged_or_failed_int8_is_reported(onnx_model_path: Path, tmp_path: Path) -> None:
    _bundle(tmp_path, onnx_model_path, onnx_model_path, gate={**GATE, "passed": False})
    (tmp_path / "wds_unet_default.int8.bin").write_bytes(b"\x09")
    problems = bundled_int8_problems(tmp_path)
    assert any("does not match its sha256" in p for p in problems)
    assert any("did not pass its accuracy gate" in p for p in problems)


def test_calibration_and_gate_people_must_differ(onnx_model_path: Path, tmp_path: Path) -> None:
    _bundle(tmp_path, onnx_model_path, onnx_model_path)
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    manifest["int8"]["held_out_people"] = ["grace_hopper", "obama"]
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="obama.*also calibration people"):
        read_manifest(tmp_path)


def test_the_package_int8_if_bundled_is_sound_and_from_the_bundled_model() -> None:
    manifest = read_manifest()
    entry = manifest.get("int8")
    if entry is None:
        pytest.skip("no INT8 bundled with this model (scripts/make_bundled_int8.py did not pass)")
    assert bundled_int8_problems() == []
    assert entry["source_sha256"] == manifest["sha256"]
    gate = entry["gate"]
    assert gate["passed"] and gate["mean_iou"] >= 0.98 and gate["images"] >= 30
    assert not set(entry["calibration_people"]) & set(entry["held_out_people"])
    pytest.importorskip("openvino")
    from wds_edge.runtime.openvino import int8_companion

    assert int8_companion(default_model_path())[0] is not None  # what auto checks agrees
