"""PyTorch -> ONNX export with metadata and parity checks (needs torch and onnx)."""

from __future__ import annotations

__all__: list[str] = []
