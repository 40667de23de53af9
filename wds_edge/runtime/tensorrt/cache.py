"""Engine cache names, sidecar JSON and the stale / foreign engine check (pure Python).

A TensorRT plan only runs on the GPU model and TensorRT version it was built with,
and is only correct for the ONNX file it was built from. So an engine file is named
after all of those::

    <model-name>-<onnx sha256[:12]>-trt<10.3.0>-<gpu-slug>-sm<87>-<precision>.engine

and has a sidecar JSON beside it (``.json``, never bytes prepended to the plan): the
model's :class:`~wds_edge.model.metadata.ModelMetadata` fields plus ``tensorrt_version``,
``gpu_name``, ``compute_capability``, ``precision``, ``calibration``, ``onnx_sha256``,
``engine_sha256`` and ``built_at``. :func:`engine_mismatches` compares a sidecar with
the machine and model at hand; any difference means the engine is rebuilt, not run.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from wds_edge.errors import ModelError
from wds_edge.io import write_json_atomic
from wds_edge.model.metadata import ModelMetadata

__all__ = [
    "PRECISIONS",
    "Precision",
    "EngineKey",
    "default_cache_dir",
    "engine_file_name",
    "sidecar_path",
    "make_sidecar",
    "write_sidecar",
    "read_sidecar",
    "engine_mismatches",
    "slug",
]

PRECISIONS = ("fp32", "fp16", "int8")
Precision = Literal["fp32", "fp16", "int8"]
CACHE_ENV = "WDS_EDGE_ENGINE_CACHE"


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine's validity depends on."""

    onnx_sha256: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str  # "8.7"
    precision: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def slug(text: str) -> str:
    """File-name-safe form: ``"NVIDIA GeForce RTX 4090"`` -> ``"nvidia-geforce-rtx-4090"``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unknown"


def default_cache_dir() -> Path:
    """``$WDS_EDGE_ENGINE_CACHE`` or ``<user cache>/wds-edge/engines``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("wds-edge")) / "engines"


def engine_file_name(model_name: str, key: EngineKey) -> str:
    """The cache file name of an engine (see module docstring)."""
    sm = key.compute_capability.replace(".", "")
    return (
        f"{slug(model_name)}-{key.onnx_sha256[:12]}-trt{key.tensorrt_version}-"
        f"{slug(key.gpu_name)}-sm{sm}-{key.precision}.engine"
    )


def sidecar_path(engine_path: str | os.PathLike[str]) -> Path:
    """``model.engine`` -> ``model.json`` (``model.plan`` -> ``model.json``)."""
    return Path(engine_path).with_suffix(".json")


def make_sidecar(
    metadata: ModelMetadata,
    key: EngineKey,
    *,
    engine_sha256: str,
    onnx_path: str | os.PathLike[str] | None = None,
    calibration: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The sidecar document: metadata fields + engine fields."""
    doc = metadata.model_dump(mode="json")
    doc.update(key.to_dict())
    doc.update(
        {
            "engine_sha256": engine_sha256,
            "onnx_path": None if onnx_path is None else str(Path(onnx_path).resolve()),
            "calibration": calibration,
            "built_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
    )
    doc.update(extra or {})
    return doc


def write_sidecar(engine_path: str | os.PathLike[str], doc: dict[str, Any]) -> Path:
    """Write the sidecar JSON atomically beside the engine."""
    return write_json_atomic(sidecar_path(engine_path), doc)


def read_sidecar(engine_path: str | os.PathLike[str]) -> tuple[dict[str, Any], ModelMetadata]:
    """Read an engine's sidecar: the raw document and its :class:`ModelMetadata`.

    Raises:
        ModelError: the sidecar is missing or malformed.
    """
    path = sidecar_path(engine_path)
    if not path.is_file():
        raise ModelError(
            f"{engine_path}: no sidecar {path.name} next to the engine, so its model contract, "
            "GPU and TensorRT version are unknown; build it with `wds-edge build-engine`"
        )
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path} is not valid JSON ({exc}); rebuild the engine") from exc
    if not isinstance(doc, dict) or "precision" not in doc or "tensorrt_version" not in doc:
        raise ModelError(f"{path} is not a wds-edge engine sidecar; rebuild the engine")
    props = {k: v if isinstance(v, str) else json.dumps(v) for k, v in doc.items()}
    return doc, ModelMetadata.from_props(props, source=str(path))


def engine_mismatches(
    doc: dict[str, Any],
    expected: EngineKey,
    *,
    engine_sha256: str | None = None,
) -> list[str]:
    """Why an engine with sidecar ``doc`` must not run here (empty list: it may run).

    Args:
        doc: the sidecar document.
        expected: the key of this machine / model / precision. An empty
            ``onnx_sha256`` skips the model check (an engine given without its ONNX).
        engine_sha256: hash of the plan file as found; compared with the sidecar's to
            catch a plan replaced behind the sidecar's back.
    """
    reasons = []
    for field, want in expected.to_dict().items():
        if field == "onnx_sha256" and not want:
            continue
        have = str(doc.get(field, ""))
        if have != want:
            reasons.append(f"{field} is {have!r}, this machine / model needs {want!r}")
    if engine_sha256 is not None and doc.get("engine_sha256") != engine_sha256:
        reasons.append("the plan file's sha256 differs from the one its sidecar records")
    return reasons
