"""The bundled default model: manifest, sha256 check, and the messages when it is absent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from wds_edge.errors import ModelError
from wds_edge.io import sha256_file
from wds_edge.model.bundled import (
    MANIFEST_NAME,
    default_model_path,
    read_manifest,
    write_manifest,
)


@pytest.fixture()
def bundled(tmp_path: Path, onnx_model_path: Path) -> Path:
    """A models folder like the package's, holding the test model and its manifest."""
    shutil.copy(onnx_model_path, tmp_path / "wds_unet_default.onnx")
    write_manifest(tmp_path / "wds_unet_default.onnx", description="test model")
    return tmp_path


def test_manifest_format_and_lookup(bundled: Path, onnx_model_path: Path) -> None:
    manifest = json.loads((bundled / MANIFEST_NAME).read_text())
    assert manifest["file"] == "wds_unet_default.onnx"
    assert manifest["size_bytes"] == onnx_model_path.stat().st_size
    assert manifest["sha256"] == sha256_file(onnx_model_path) and len(manifest["sha256"]) == 64
    assert manifest["description"] == "test model"
    assert read_manifest(bundled) == manifest
    assert default_model_path(bundled) == bundled / "wds_unet_default.onnx"


def test_damaged_model_says_reinstall(bundled: Path) -> None:
    model = bundled / "wds_unet_default.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, different content
    model.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="reinstall wds-edge"):
        default_model_path(bundled)
    model.unlink()
    with pytest.raises(ModelError, match="missing; reinstall wds-edge"):
        default_model_path(bundled)


def test_no_default_model_yet_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"--model PATH.*wds-edge train .* wds-edge export"):
        default_model_path(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text('{"file": "../evil.onnx", "sha256": 1}')
    with pytest.raises(ModelError, match="malformed manifest"):
        default_model_path(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(ModelError, match="unreadable"):
        default_model_path(tmp_path)


def test_installed_package_default_model(landmarker_path: Path) -> None:
    """The package's own models folder: a verified, loadable model, or the clear message."""
    from importlib import resources

    folder = Path(str(resources.files("wds_edge.model") / "weights"))
    if (folder / MANIFEST_NAME).exists():
        from wds_edge.runtime import load_backend

        path = default_model_path()
        with load_backend(path, "onnxruntime") as backend:
            assert backend.metadata.output_semantics == "wrinkle_probability"
    else:
        from wds_edge.analysis.analyzer import WrinkleAnalyzer

        with pytest.raises(ModelError, match="no default model yet"):
            default_model_path()
        with pytest.raises(ModelError, match="--model PATH"):
            WrinkleAnalyzer(landmarker_path=str(landmarker_path))


def test_manifest_model_keeps_extra_keys_and_rejects_bad_types(tmp_path: Path) -> None:
    from wds_edge.model.info import BundledModelManifest

    good = {"file": "m.onnx", "sha256": "a" * 64, "size_bytes": 3, "trained_on": "faces"}
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(good))
    assert read_manifest(tmp_path) == {**good, "description": ""}
    assert BundledModelManifest.model_validate(good).model_extra == {"trained_on": "faces"}
    (tmp_path / MANIFEST_NAME).write_text(json.dumps({**good, "size_bytes": "3"}))
    with pytest.raises(ModelError, match="malformed manifest.*size_bytes"):
        read_manifest(tmp_path)
