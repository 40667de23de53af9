"""Engine cache names, the sidecar JSON and the stale / foreign engine check (pure Python).

A TensorRT plan only runs on the GPU model and TensorRT version it was built with,
and is only correct for the ONNX file (and, for INT8, the calibration data) it was
built from. So an engine file is named after all of those::

    <model>-<onnx sha256[:12]>-trt<10.3.0>-<gpu-slug>-sm<87>-<SMs>sm-<GiB>gib-<precision>
        [-c<calibration data sha256[:8]>, INT8 only].engine

and has a sidecar JSON beside it (``.json``, never bytes prepended to the plan), an
:class:`EngineSidecar`: the model's :class:`~wds_edge.model.metadata.ModelMetadata`
plus the engine's key, hashes, calibration and accuracy gate. :func:`engine_mismatches`
compares a sidecar with the machine and model at hand; any difference means the engine
is rebuilt, not run. Sidecars written before ``sidecar_version`` 2 are refused with a
rebuild message (they lack the SM count and memory that tell GPUs apart).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from wds_edge.errors import ModelError
from wds_edge.io import write_json_atomic
from wds_edge.model.metadata import ModelMetadata

__all__ = [
    "PRECISIONS",
    "Precision",
    "SIDECAR_VERSION",
    "CalibrationRecord",
    "EngineKey",
    "EngineSidecar",
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
#: Layout of the sidecar this runtime writes and reads.
SIDECAR_VERSION = 2

_REBUILD = "rebuild it on this device: wds-edge build-engine --onnx MODEL.onnx --rebuild"


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine's validity depends on.

    An empty ``onnx_sha256`` or ``calibration_sha256`` in an *expected* key skips that
    check (an engine given without its ONNX; a run that brings no calibration data).
    ``calibration_sha256`` is set for INT8 builds only (FP16 uses crops only to gate).
    """

    onnx_sha256: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str  # "8.7"
    sm_count: int
    memory_gib: int
    precision: str
    calibration_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class CalibrationRecord(BaseModel):
    """How an INT8 engine got its scales (``route``) and from which crops."""

    model_config = ConfigDict(extra="forbid")

    route: str  # "implicit-entropy-calibrator2" | "explicit-qdq" | "qdq-in-onnx"
    path: str | None = None
    data_sha256: str | None = None


class EngineSidecar(BaseModel):
    """The sidecar JSON of one engine plan (``model.engine`` -> ``model.json``)."""

    model_config = ConfigDict(extra="forbid")

    sidecar_version: int = SIDECAR_VERSION
    producer: Literal["wds-edge"] = "wds-edge"
    metadata: ModelMetadata
    onnx_sha256: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    sm_count: int
    memory_gib: int
    precision: Precision
    calibration: CalibrationRecord | None = None
    engine_sha256: str
    onnx_path: str | None = None
    built_at: str
    build_s: float | None = None
    accuracy_gate: dict[str, Any] | None = None
    #: network layers pinned to FP32, and what the engine inspector found them to run in
    fp32_layers: list[str] | None = None
    precision_check: dict[str, Any] | None = None

    def key(self) -> EngineKey:
        """The :class:`EngineKey` this engine was built for."""
        calib = self.calibration.data_sha256 if self.calibration else None
        return EngineKey(
            onnx_sha256=self.onnx_sha256,
            tensorrt_version=self.tensorrt_version,
            gpu_name=self.gpu_name,
            compute_capability=self.compute_capability,
            sm_count=self.sm_count,
            memory_gib=self.memory_gib,
            precision=self.precision,
            calibration_sha256=calib or "",
        )


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
    calib = f"-c{key.calibration_sha256[:8]}" if key.calibration_sha256 else ""
    return (
        f"{slug(model_name)}-{key.onnx_sha256[:12]}-trt{key.tensorrt_version}-"
        f"{slug(key.gpu_name)}-sm{sm}-{key.sm_count}sm-{key.memory_gib}gib-"
        f"{key.precision}{calib}.engine"
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
    calibration: CalibrationRecord | None = None,
    build_s: float | None = None,
    fp32_layers: list[str] | None = None,
) -> EngineSidecar:
    """The sidecar of a freshly built engine."""
    fields = key.to_dict()
    fields.pop("calibration_sha256")  # recorded in ``calibration``
    return EngineSidecar(
        metadata=metadata,
        **fields,
        calibration=calibration,
        engine_sha256=engine_sha256,
        onnx_path=None if onnx_path is None else str(Path(onnx_path).resolve()),
        built_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        build_s=build_s,
        fp32_layers=fp32_layers or None,
    )


def write_sidecar(engine_path: str | os.PathLike[str], sidecar: EngineSidecar) -> Path:
    """Write the sidecar JSON atomically beside the engine."""
    return write_json_atomic(sidecar_path(engine_path), sidecar.model_dump(mode="json"))


def read_sidecar(engine_path: str | os.PathLike[str]) -> EngineSidecar:
    """Read an engine's sidecar.

    Raises:
        ModelError: the sidecar is missing, malformed, or from an older wds-edge (the
            message says how to rebuild the engine).
    """
    path = sidecar_path(engine_path)
    if not path.is_file():
        raise ModelError(
            f"{engine_path}: no sidecar {path.name} next to the engine, so its model contract, "
            f"GPU and TensorRT version are unknown; {_REBUILD}"
        )
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path} is not valid JSON ({exc}); {_REBUILD}") from exc
    if not isinstance(doc, dict) or "precision" not in doc or "tensorrt_version" not in doc:
        raise ModelError(f"{path} is not a wds-edge engine sidecar; {_REBUILD}")
    version = doc.get("sidecar_version", 1)
    if version != SIDECAR_VERSION:
        raise ModelError(
            f"{path} is a version {version} engine sidecar (this wds-edge reads version "
            f"{SIDECAR_VERSION}, which also records the GPU's SM count and memory); {_REBUILD}"
        )
    try:
        return EngineSidecar.model_validate(doc)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors()
        )
        raise ModelError(f"{path} is not a valid engine sidecar ({problems}); {_REBUILD}") from exc


def engine_mismatches(
    sidecar: EngineSidecar,
    expected: EngineKey,
    *,
    engine_sha256: str | None = None,
) -> list[str]:
    """Why an engine with this sidecar must not run here (empty list: it may run).

    Args:
        sidecar: the engine's sidecar.
        expected: the key of this machine / model / precision / calibration data. An
            empty ``onnx_sha256`` or ``calibration_sha256`` skips that check.
        engine_sha256: hash of the plan file as found; compared with the sidecar's to
            catch a plan replaced behind the sidecar's back.
    """
    have = sidecar.key().to_dict()
    reasons = []
    for field, want in expected.to_dict().items():
        if field in ("onnx_sha256", "calibration_sha256") and not want:
            continue
        if have[field] != want:
            reasons.append(f"{field} is {have[field]!r}, this machine / model needs {want!r}")
    if engine_sha256 is not None and sidecar.engine_sha256 != engine_sha256:
        reasons.append("the plan file's sha256 differs from the one its sidecar records")
    return reasons
