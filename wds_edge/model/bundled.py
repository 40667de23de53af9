"""The starter model bundled with the package (``wds_edge/model/weights/``) and its integrity check.

The package ships one ONNX model plus a manifest, ``wds_edge/model/weights/default_model.json``::

    {"file": "wds_unet_default.onnx", "sha256": "<64 hex>", "size_bytes": N,
     "description": "...", "int8": {...}}

``int8`` (optional, :class:`~wds_edge.model.info.BundledInt8`) describes an OpenVINO INT8 IR
made from that FP32 file by ``scripts/make_bundled_int8.py`` (the FP32 sha256 it came from,
its gate on other people's crops); :func:`bundled_int8_problems` says whether it still
belongs to the bundled model.

:func:`default_model_path` finds the file through :mod:`importlib.resources` (works
from a wheel, an editable install or a source checkout) and checks its size and
sha256 against the manifest, so a damaged install is caught before it produces
wrong scores.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from wds_edge.errors import ModelError
from wds_edge.io import sha256_file
from wds_edge.model.info import BundledModelManifest

__all__ = [
    "MANIFEST_NAME",
    "bundled_int8_problems",
    "default_model_path",
    "read_manifest",
    "write_manifest",
]

#: Manifest file name inside ``wds_edge/model/weights``.
MANIFEST_NAME = "default_model.json"

_NO_MODEL_FIX = (
    "pass --model PATH (AnalyzerConfig(model_path=...)), or train/export one: "
    "wds-edge train ... && wds-edge export ..."
)
_verified: dict[Path, str] = {}


def _models_dir() -> Path:
    return Path(str(resources.files("wds_edge.model") / "weights"))


def read_manifest(models_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read and validate the manifest (:class:`~wds_edge.model.info.BundledModelManifest`).

    Returns:
        The manifest's JSON object (``file``, ``sha256``, ``size_bytes``, ``description``).

    Raises:
        ModelError: no manifest (the package has no default model yet) or a malformed one.
    """
    folder = Path(models_dir) if models_dir is not None else _models_dir()
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.is_file():
        raise ModelError(f"this wds-edge package has no default model yet; {_NO_MODEL_FIX}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(
            f"{manifest_path}: the default-model manifest is unreadable ({exc}); reinstall wds-edge"
        ) from exc
    if not isinstance(manifest, dict):
        raise ModelError(
            f"{manifest_path}: malformed manifest (not a JSON object); reinstall wds-edge"
        )
    try:
        return BundledModelManifest.model_validate(manifest).to_json()
    except ValidationError as exc:
        problems = "; ".join(
            f"'{'.'.join(str(p) for p in e['loc'])}' {e['msg']}" for e in exc.errors()
        )
        raise ModelError(
            f"{manifest_path}: malformed manifest ({problems}); reinstall wds-edge"
        ) from exc


def write_manifest(
    model_path: str | os.PathLike[str], description: str = "", extra: dict[str, Any] | None = None
) -> Path:
    """Write the manifest for ``model_path`` into its folder (atomically); for bundling a model."""
    from wds_edge.io import write_json_atomic

    model = Path(model_path)
    manifest = BundledModelManifest(
        file=model.name,
        sha256=sha256_file(model),
        size_bytes=model.stat().st_size,
        description=description,
        **(extra or {}),
    )
    return write_json_atomic(model.parent / MANIFEST_NAME, manifest.to_json())


def default_model_path(models_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of the bundled default ONNX model, verified against its manifest.

    Args:
        models_dir: folder holding the manifest and model (default: the installed
            ``wds_edge/model/weights``); tests point it elsewhere.

    Raises:
        ModelError: the package has no default model (pass ``--model PATH``), or the file
            is missing / has the wrong size or sha256 (reinstall wds-edge).
    """
    folder = Path(models_dir) if models_dir is not None else _models_dir()
    manifest = read_manifest(folder)
    path = folder / manifest["file"]
    if not path.is_file():
        raise ModelError(
            f"{path}: the default model named by {MANIFEST_NAME} is missing; reinstall wds-edge "
            f"(or {_NO_MODEL_FIX})"
        )
    stat = path.stat()
    stamp = f"{stat.st_size}:{stat.st_mtime_ns}:{manifest['sha256']}"
    if _verified.get(path) == stamp:  # hashing once per process is enough
        return path
    if stat.st_size != manifest["size_bytes"] or sha256_file(path) != manifest["sha256"].lower():
        raise ModelError(
            f"{path}: the default model does not match its manifest (size or sha256 differs: "
            "the file is damaged or was replaced); reinstall wds-edge"
        )
    _verified[path] = stamp
    return path


def bundled_int8_problems(models_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """What is wrong with the bundled INT8 companion (empty: none is bundled, or it is sound).

    Sound means: its files exist with the manifest's sha256, it was made from the bundled
    FP32 file (the manifest's ``int8.source_sha256`` is the FP32 ``sha256``), its gate
    passed, and its calibration and gate people are disjoint (checked when reading).

    Raises:
        ModelError: no or a malformed manifest (:func:`read_manifest`).
    """
    folder = Path(models_dir) if models_dir is not None else _models_dir()
    manifest = read_manifest(folder)
    entry = manifest.get("int8")
    if entry is None:
        return []
    problems = []
    if entry["source_sha256"] != manifest["sha256"]:
        problems.append(
            f"{entry['file']} is stale: made from FP32 sha256 {entry['source_sha256'][:12]}..., "
            f"the bundled model is {manifest['sha256'][:12]}...; rerun "
            "scripts/make_bundled_int8.py"
        )
    for name, key in ((entry["file"], "sha256"), (entry["weights_file"], "weights_sha256")):
        path = folder / name
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif sha256_file(path) != entry[key]:
            problems.append(f"{path} does not match its sha256 in {MANIFEST_NAME}")
    gate = entry["gate"]
    if not gate["passed"]:
        problems.append(f"{entry['file']} did not pass its accuracy gate")
    return problems
