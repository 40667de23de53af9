"""The one TensorRT logger of the process.

TensorRT keeps a process-wide logger: the first ``ILogger`` handed to a ``Builder``,
``Runtime`` or ``OnnxParser`` is the one it uses, and NVIDIA's documentation asks for a
single instance. Builder, parser, runtime and calibrator therefore all get
:func:`trt_logger`, which forwards TensorRT's messages to Python logging.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

__all__ = ["trt_logger"]

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_instance: dict[int, Any] = {}  # id(tensorrt module) -> its logger (one module per process)


def _make_logger(trt: Any) -> Any:
    levels = {
        trt.ILogger.INTERNAL_ERROR: logging.ERROR,
        trt.ILogger.ERROR: logging.ERROR,
        trt.ILogger.WARNING: logging.WARNING,
        trt.ILogger.INFO: logging.DEBUG,
    }

    class _Logger(trt.ILogger):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            trt.ILogger.__init__(self)

        def log(self, severity: Any, msg: str) -> None:
            logger.log(levels.get(severity, logging.DEBUG), "TensorRT: %s", msg)

    return _Logger()


def trt_logger(trt: Any) -> Any:
    """The process-wide ``trt.ILogger`` (created on first use, thread-safe).

    Args:
        trt: the imported ``tensorrt`` module.
    """
    with _lock:
        log = _instance.get(id(trt))
        if log is None:
            log = _instance[id(trt)] = _make_logger(trt)
        return log
