"""The self-description every wds-edge model carries (ONNX ``metadata_props``, engine sidecar).

One :class:`ModelMetadata` per model says what to feed it and what comes out: input
name, shape, layout, colour order, value range, where preprocessing happens, output
semantics and threshold, the architecture and a training summary. The exporter
writes it; every backend reads it and refuses a model whose contract it cannot meet
(:meth:`ModelMetadata.check_supported`).

Stored form: one ``metadata_props`` entry per field, strings as they are, everything
else JSON-encoded, so tools like Netron show them readably.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wds_edge.errors import ModelError, describe_validation_error
from wds_edge.model.preprocessing import TEXTURE_KSIZE, TEXTURE_SIGMA, Preprocessing

__all__ = ["METADATA_FORMAT_VERSION", "ArchitectureInfo", "ModelMetadata"]

#: Version of the metadata layout this runtime reads. A model with a newer major
#: format is refused (it may need preprocessing this runtime does not know).
METADATA_FORMAT_VERSION = 1


class ArchitectureInfo(BaseModel):
    """What network is inside the model file."""

    model_config = ConfigDict(extra="allow")

    name: str = "unet_wds"
    base_channels: int = Field(16, ge=1)
    activation: str = "leaky_relu"
    in_channels: int = 4
    loss: Literal["plain", "ds", "wds"] = "wds"
    #: The network's own input normalisation of ``[R, G, B, T] / 255`` (inside the graph, so
    #: informative: no runtime applies it): ``unit`` (as is) or ``centred`` (``(x - 0.5) /
    #: 0.25``, the official code's). Models exported before it was recorded are ``unit``.
    input_norm: str = "unit"
    #: ``none`` (the paper's U-Net) or ``space_to_depth`` (issue 25's speed variant: the
    #: U-Net at half resolution; informative, the graph does it). Older models: ``none``.
    stem: str = "none"
    parameters: int | None = None
    gflops: float | None = None


class ModelMetadata(BaseModel):
    """The contract between a model file and the runtime (see module docstring)."""

    model_config = ConfigDict(extra="ignore", use_enum_values=False, protected_namespaces=())

    format_version: int = Field(METADATA_FORMAT_VERSION, ge=1)
    producer: str = "wds-edge"
    producer_version: str = "0.0.0"
    model_name: str = "wds-unet"
    model_version: str = "0.0.0"
    input_name: str = "image"
    #: [N, C, H, W]; N is -1 for a dynamic batch.
    input_shape: list[int]
    input_layout: Literal["NCHW"] = "NCHW"
    input_dtype: Literal["float32"] = "float32"
    color_order: Literal["RGB"] = "RGB"
    #: The model was trained for grey (one-channel or three-equal-channel) input; when
    #: false (the default, and what older models mean) grey frames get the status
    #: ``needs_colour_camera`` instead of being segmented.
    grey_input_supported: bool = False
    value_range: tuple[float, float] = (0.0, 255.0)
    preprocessing: Preprocessing = Preprocessing.TEXTURE_IN_GRAPH
    texture_sigma: float = Field(TEXTURE_SIGMA, gt=0.0, allow_inf_nan=False)
    texture_ksize: int = Field(TEXTURE_KSIZE, ge=1)
    output_name: str = "wrinkle_prob"
    output_semantics: Literal["wrinkle_probability"] = "wrinkle_probability"
    threshold: float = Field(0.5, gt=0.0, lt=1.0)
    architecture: ArchitectureInfo = Field(default_factory=ArchitectureInfo)
    training: dict[str, Any] = Field(default_factory=dict)
    parity: dict[str, Any] = Field(default_factory=dict)
    description: str = ""
    license: str = ""

    def _nchw(self) -> list[int]:
        if len(self.input_shape) != 4:
            raise ModelError(
                f"the model's input_shape {self.input_shape} is not [N, C, H, W]; re-export it "
                "with `wds-edge export`"
            )
        return [int(v) for v in self.input_shape]

    @property
    def input_size_hw(self) -> tuple[int, int]:
        """The model's spatial input size (H, W) in pixels (ModelError if not NCHW)."""
        shape = self._nchw()
        return shape[2], shape[3]

    @property
    def input_channels(self) -> int:
        return self._nchw()[1]

    @property
    def dynamic_batch(self) -> bool:
        return self._nchw()[0] < 1

    def check_supported(self, source: str = "model") -> None:
        """Raise :class:`ModelError` if this runtime cannot meet the model's contract."""
        problems = []
        if self.format_version > METADATA_FORMAT_VERSION:
            problems.append(
                f"metadata format {self.format_version} is newer than this runtime reads "
                f"({METADATA_FORMAT_VERSION}); upgrade wds-edge"
            )
        if len(self.input_shape) != 4:
            problems.append(f"input_shape {self.input_shape} is not [N, C, H, W]")
        else:
            expected_c = 3 if self.preprocessing is Preprocessing.TEXTURE_IN_GRAPH else 4
            if self.input_channels != expected_c:
                problems.append(
                    f"preprocessing '{self.preprocessing.value}' needs {expected_c} input "
                    f"channels, the model declares {self.input_channels}"
                )
            h, w = self.input_size_hw
            if h != w or h < 16:
                problems.append(f"input size {h}x{w} is not a square of at least 16 pixels")
        if self.texture_ksize % 2 == 0:  # the Eq. 1 Gaussian kernel is centred on a pixel
            problems.append(
                f"texture_ksize {self.texture_ksize} is not an odd number of pixels (the texture "
                f"map's kernel; the paper's is {TEXTURE_KSIZE}); re-export the model"
            )
        in_graph = self.preprocessing is Preprocessing.TEXTURE_IN_GRAPH
        wanted_range = (0.0, 255.0) if in_graph else (0.0, 1.0)
        if tuple(float(v) for v in self.value_range) != wanted_range:
            problems.append(
                f"value_range {list(self.value_range)} is not what preprocessing "
                f"'{self.preprocessing.value}' is fed ({list(wanted_range)}): the runtime would "
                "feed the model values on another scale"
            )
        if (self.texture_sigma, self.texture_ksize) != (TEXTURE_SIGMA, TEXTURE_KSIZE) and (
            self.preprocessing is Preprocessing.TEXTURE_OUTSIDE
        ):
            problems.append(
                f"texture map sigma={self.texture_sigma}, ksize={self.texture_ksize} differs from "
                f"this runtime's ({TEXTURE_SIGMA}, {TEXTURE_KSIZE}); re-export with the texture "
                "map inside the graph"
            )
        if problems:
            raise ModelError(f"{source}: cannot run this model: " + "; ".join(problems))

    def to_props(self) -> dict[str, str]:
        """Flatten to ONNX ``metadata_props`` (str -> str)."""
        data = self.model_dump(mode="json")
        return {
            k: v if isinstance(v, str) else json.dumps(v, sort_keys=True) for k, v in data.items()
        }

    @classmethod
    def from_props(cls, props: dict[str, str], source: str = "model") -> ModelMetadata:
        """Read back :meth:`to_props` output (e.g. ONNX Runtime's ``custom_metadata_map``).

        Raises:
            ModelError: the model carries no wds-edge metadata, or it is malformed.
        """
        if props.get("producer") != "wds-edge" or "input_shape" not in props:
            raise ModelError(
                f"{source}: carries no wds-edge metadata (metadata_props 'producer' and "
                "'input_shape' are missing); export it with `wds-edge export`, or add the "
                "metadata to an existing ONNX file with `wds-edge export --annotate`"
            )
        # a newer format may use values this runtime cannot parse: say "upgrade" first
        try:
            version = int(json.loads(props.get("format_version", "1")))
        except (TypeError, ValueError):
            version = 1
        if version > METADATA_FORMAT_VERSION:
            raise ModelError(
                f"{source}: metadata format {version} is newer than this runtime reads "
                f"({METADATA_FORMAT_VERSION}); upgrade wds-edge"
            )
        string_fields = {
            k
            for k, v in cls(input_shape=[1, 3, 16, 16]).model_dump(mode="json").items()
            if isinstance(v, str)
        }
        data: dict[str, Any] = {}
        for key, raw in props.items():
            if key not in cls.model_fields:
                continue
            if key in string_fields:
                data[key] = raw
                continue
            try:
                data[key] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ModelError(f"{source}: metadata '{key}' is not valid JSON: {raw!r}") from exc
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ModelError(
                f"{source}: " + describe_validation_error(exc, "wds-edge metadata", "malformed")
            ) from None
