"""The small interface every inference backend implements (ONNX Runtime, TensorRT)."""

from __future__ import annotations

import abc
from types import TracebackType

import numpy as np

from wds_edge.model.metadata import ModelMetadata

__all__ = ["Backend"]


class Backend(abc.ABC):
    """Runs one wds-edge model. A context manager; :meth:`close` is idempotent.

    Attributes:
        name: backend name as the CLI spells it (``"onnxruntime"``, ``"tensorrt"``).
        metadata: the model's contract, read from the model file / engine sidecar and
            checked with :meth:`ModelMetadata.check_supported` at load time.
        device: where it runs, in words (``"CPU"``, ``"NVIDIA Orin (TensorRT FP16)"``).
    """

    name: str = "backend"
    metadata: ModelMetadata
    device: str = "CPU"

    @abc.abstractmethod
    def infer(self, batch_nchw: np.ndarray) -> np.ndarray:
        """Run the model.

        Args:
            batch_nchw: float32 ``(N, C, H, W)`` as :func:`wds_edge.model.preprocessing.model_input`
                builds it for ``metadata.preprocessing`` (C = 3 RGB [0, 255], or 4 channels [0, 1]).

        Returns:
            float32 ``(N, 1, H, W)`` wrinkle probability in [0, 1].
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Release sessions, engines and buffers. Safe to call more than once."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
