"""The analyzer's settings (:class:`AnalyzerConfig`), shared by the kiosk, the demo, the
service and the benchmarks; a pydantic model, so a typo in a field name is an error."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from pydantic import ConfigDict, Field, field_validator, model_validator

from wds_edge._settings import Settings
from wds_edge.perception.locate import DEFAULT_MAX_LANDMARK_SIDE_PX
from wds_edge.perception.quality import QualityConfig

__all__ = ["AnalyzerConfig"]


class AnalyzerConfig(Settings):
    """Settings of a :class:`WrinkleAnalyzer`.

    Attributes:
        model_path: wds-edge ``.onnx`` model (a ``str`` or a path-like such as
            :class:`pathlib.Path`, kept as ``str``); ``None`` uses the bundled default model.
        backend: ``"auto"``, ``"onnxruntime"``, ``"openvino"`` or ``"tensorrt"``.
        precision: ``"auto"`` (TensorRT FP16 on a GPU; on a CPU the fastest precision that
            passes the accuracy gate, FP32 unless a reduced one is at least 10 % faster),
            ``"fp32"``, ``"fp16"``, ``"bf16"`` or ``"int8"``.
        device: where the model runs (``None``: the backend's default). ``backend="openvino"``:
            a device name, ``"CPU"``, or ``"GPU"`` / ``"GPU.1"`` / ``"NPU"`` / ``"AUTO"`` on Intel
            iGPU / NPU kiosks (any case; a number is refused). ``"tensorrt"``: the CUDA device
            index (``0``, ``"1"``). ``"auto"``: a CUDA index (TensorRT, else ONNX Runtime's CUDA
            provider on that device; a warning when neither can run and the CPU is used) or
            ``"CPU"`` (skip the GPU). ``"onnxruntime"``: only ``"CPU"`` (GPUs through its
            execution providers). See :func:`wds_edge.runtime.load_backend`.
        landmarker_path: MediaPipe ``face_landmarker.task`` (``str`` or path-like, kept as
            ``str``); ``None`` searches the ``WDS_EDGE_FACE_LANDMARKER`` variable, then the
            user cache.
        quality: the kiosk quality gates (face size, blur, light, pose, several faces).
        threshold: wrinkle probability threshold in (0, 1); ``None`` uses the model's.
        video_mode: MediaPipe VIDEO mode (tracking; for camera streams with increasing
            timestamps); ``False`` treats every frame as an independent still.
        num_threads: ONNX Runtime intra-op threads (``None``: all cores).
        spin_wait: ONNX Runtime's idle intra-op threads spin after a call (its default, the
            lowest latency for a backend alone); ``False`` where something else must get
            the cores right after an inference (benchmarks that interleave configurations).
        allow_accuracy_loss: keep a model whose accuracy gate failed or could not check it,
            with a warning, instead of refusing it: an OpenVINO BF16 / FP16, a TensorRT
            FP16 / INT8 engine (:func:`wds_edge.runtime.load_backend`'s option; ``backend=
            "onnxruntime"``, which has no gate, refuses it). For benchmarks that time what
            they are told to; a kiosk keeps the default, ``False``.
        warmup: run one inference and one scoring pass at construction, so the first real
            frame does not pay for ONNX Runtime's first-run allocations and the lazy
            scikit-image / SciPy imports (about 0.3 s on a 2-core CPU).
        max_landmark_side_px: frames with a longer side are downscaled for the landmark
            search only (an 8K photo needs no 8K face detector); the crop is taken from
            the full-resolution frame. The default (1920) is the one calibration and labeling
            use (:data:`wds_edge.perception.locate.DEFAULT_MAX_LANDMARK_SIDE_PX`).
    """

    _settings_name: ClassVar[str] = "analyzer settings"
    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid", protected_namespaces=())

    model_path: str | None = None
    backend: str = "auto"
    precision: str = "auto"
    device: str | int | None = None
    landmarker_path: str | None = None
    quality: QualityConfig = Field(default_factory=QualityConfig)
    threshold: float | None = Field(None, gt=0.0, lt=1.0)
    video_mode: bool = False
    num_threads: int | None = Field(None, ge=1)
    spin_wait: bool = True
    allow_accuracy_loss: bool = False
    max_landmark_side_px: int = Field(DEFAULT_MAX_LANDMARK_SIDE_PX, ge=256)
    warmup: bool = True

    @model_validator(mode="before")
    @classmethod
    def _no_align_roll(cls, data: Any) -> Any:
        # The crop is always roll-aligned: the one crop function with the kiosk's defaults
        # serves labeling, training, calibration and export parity, so a model has only seen
        # level eyes; unaligned crops gave other scores that results did not record.
        if isinstance(data, dict) and "align_roll" in data:
            raise ValueError(
                f"align_roll = {data['align_roll']!r}: the setting was removed; the analyzer's "
                "crop is always roll-aligned (eyes level), as the crops every wds-edge model is "
                "labelled, trained, calibrated and checked on; drop the setting "
                "(wds_edge.perception.crop.kiosk_crop(..., align_roll=False) still cuts an "
                "unaligned crop for experiments)"
            )
        return data

    @field_validator("model_path", "landmarker_path", mode="before")
    @classmethod
    def _path_text(cls, value: Any) -> Any:
        # A pathlib.Path is a path as good as its text; stored as str, the settings stay
        # JSON (model_dump) as before.
        return os.fspath(value) if isinstance(value, os.PathLike) else value
