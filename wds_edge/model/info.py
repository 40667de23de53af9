"""Model descriptions as pydantic models: the bundled model's manifest and the running
model's summary (what a :class:`~wds_edge.analysis.analyzer.WrinkleAnalyzer` reports).

Both serialize to the same JSON objects as before they were models, so files and result
JSON written by earlier versions read back unchanged.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["BundledModelManifest", "ModelInfo"]


class BundledModelManifest(BaseModel):
    """``wds_edge/model/weights/default_model.json``: which file is the default model.

    Attributes:
        file: bare file name of the ONNX model beside the manifest.
        sha256: 64 hex digits of the file's sha256.
        size_bytes: the file's size.
        description: what the model is (training data, width, see MODEL_CARD.md).
    """

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    file: str = Field(min_length=1)
    sha256: str = Field(min_length=64, max_length=64)
    size_bytes: int = Field(ge=0)
    description: str = ""

    @field_validator("file")
    @classmethod
    def _bare_name(cls, value: str) -> str:
        if "/" in value or "\\" in value:
            raise ValueError("must be a bare file name (no folders)")
        return value

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the manifest file (unknown keys kept)."""
        return self.model_dump(mode="json")


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the result JSON's ``model`` object)."""
        return self.model_dump(mode="json")
