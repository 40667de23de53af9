"""Model descriptions as pydantic models: the bundled model's manifest and the running
model's summary (what a :class:`~wds_edge.analysis.analyzer.WrinkleAnalyzer` reports).

Both serialize to the same JSON objects as before they were models, so files and result
JSON written by earlier versions read back unchanged.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["BundledInt8", "BundledModelManifest", "ModelInfo"]


class BundledInt8(BaseModel):
    """The ``int8`` entry of the bundled manifest: an OpenVINO INT8 IR made from the FP32 model.

    Written by ``scripts/make_bundled_int8.py``; the runtime (``auto``) considers the IR only
    while ``source_sha256`` is the sha256 of the FP32 model it runs and its gate passed.

    Attributes:
        file / weights_file: the IR's ``.xml`` / ``.bin`` beside the manifest.
        sha256 / weights_sha256: their sha256.
        source_sha256: sha256 of the FP32 ``.onnx`` it was quantized from.
        kept_fp32_layers: layers left out of INT8 (besides the Eq. 1 texture subgraph).
        calibration_people / held_out_people: who the calibration and the gate crops show
            (disjoint: the gate measures other people).
        gate: the accuracy gate on the held-out crops (``mean_iou``, ``min_iou``, ``images``,
            ``passed``, ``measured_on``, ...).
    """

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    file: str = Field(min_length=1)
    weights_file: str = Field(min_length=1)
    sha256: str = Field(min_length=64, max_length=64)
    weights_sha256: str = Field(min_length=64, max_length=64)
    source_sha256: str = Field(min_length=64, max_length=64)
    kept_fp32_layers: list[str] = Field(default_factory=list)
    calibration_people: list[str] = Field(min_length=1)
    held_out_people: list[str] = Field(min_length=1)
    gate: dict[str, Any]

    @model_validator(mode="after")
    def _other_people(self) -> BundledInt8:
        shared = sorted(set(self.calibration_people) & set(self.held_out_people))
        if shared:
            raise ValueError(
                f"the gate's people {shared} were also calibration people: the gate must "
                "measure other people (rebuild with scripts/make_bundled_int8.py)"
            )
        for key in ("mean_iou", "min_iou", "images", "passed"):
            if key not in self.gate:
                raise ValueError(f"gate lacks {key!r}")
        return self


class BundledModelManifest(BaseModel):
    """``wds_edge/model/weights/default_model.json``: which file is the default model.

    Attributes:
        file: bare file name of the ONNX model beside the manifest.
        sha256: 64 hex digits of the file's sha256.
        size_bytes: the file's size.
        description: what the model is (training data, width, see MODEL_CARD.md).
        int8: its OpenVINO INT8 companion, when one is bundled (:class:`BundledInt8`).
    """

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    file: str = Field(min_length=1)
    sha256: str = Field(min_length=64, max_length=64)
    size_bytes: int = Field(ge=0)
    description: str = ""
    int8: BundledInt8 | None = None

    @field_validator("file")
    @classmethod
    def _bare_name(cls, value: str) -> str:
        if "/" in value or "\\" in value:
            raise ValueError("must be a bare file name (no folders)")
        return value

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the manifest file (unknown keys kept; no ``int8`` key when none)."""
        data = self.model_dump(mode="json")
        if data.get("int8") is None:
            data.pop("int8", None)
        return data


class ModelInfo(BaseModel):
    """The model an analyzer runs, as reported in every result (``FrameResult.model``).

    Attributes:
        name / version: from the model's metadata.
        backend: ``"onnxruntime"``, ``"openvino"``, ``"tensorrt"``, ...
        precision: what the backend runs the network in (``"fp32"``, ``"bf16"``, ``"int8"``, ...).
        device: the backend's device description (e.g. ``"CPU"``, GPU and precision).
        threshold: wrinkle probability threshold in (0, 1) in use.
        input_size_px: side of the square model input.
        path: the model file.
        sha256: the sha256 of that file (an OpenVINO IR ``.xml``: of it and its ``.bin``;
            ``None`` in results written before it was recorded).
        source_sha256: an INT8 model's (a Q/DQ ``.onnx`` from ``wds-edge quantize --format
            qdq``, an OpenVINO IR from ``--format openvino``): the sha256 of the FP32 model
            it was quantized from, as its metadata records it (``None`` for any other
            model). ``wds-edge compare`` takes it, else ``sha256``, as the model's identity,
            so an INT8 result compares with its FP32 model's results.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str
    backend: str
    precision: str = "fp32"
    device: str
    threshold: float = Field(gt=0.0, lt=1.0)
    input_size_px: int = Field(ge=1)
    path: str
    sha256: str | None = None
    source_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the result JSON's ``model`` object; no ``source_sha256`` key
        unless the model is an INT8 one that records it)."""
        data = self.model_dump(mode="json")
        if data.get("source_sha256") is None:
            data.pop("source_sha256", None)
        return data
