"""PyTorch -> ONNX export with metadata and parity checks (needs torch and onnx)."""

from __future__ import annotations

from wds_edge_export.graph import InferenceGraph
from wds_edge_export.onnx_export import (
    ExportReport,
    annotate_onnx,
    export_checkpoint,
    export_model,
    read_metadata,
)

__all__ = [
    "ExportReport",
    "InferenceGraph",
    "annotate_onnx",
    "export_checkpoint",
    "export_model",
    "read_metadata",
]
