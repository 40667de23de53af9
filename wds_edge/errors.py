"""The exceptions of wds-edge: one base class and a few subclasses.

Every message names what was expected and how to fix it. Frame-level conditions
a kiosk meets in normal use (no face, blur, ...) are *statuses* of a result, not
exceptions; these classes are for misuse, bad files and missing software.
"""

from __future__ import annotations

__all__ = [
    "WdsEdgeError",
    "InvalidInputError",
    "DataError",
    "ModelError",
    "MissingDependencyError",
    "BackendError",
    "CaptureError",
    "OutputError",
]


class WdsEdgeError(Exception):
    """Base class of every error raised on purpose by wds-edge."""


class InvalidInputError(WdsEdgeError, ValueError):
    """An argument, image or file that the caller passed is not what was expected."""


class DataError(InvalidInputError):
    """A training / labeling data set is malformed (missing masks, sizes, values)."""


class ModelError(WdsEdgeError):
    """A model file is missing, corrupt, or carries a contract the runtime cannot meet."""


class MissingDependencyError(WdsEdgeError, ImportError):
    """An optional dependency (torch, tensorrt, onnx, ...) is not installed."""


class BackendError(WdsEdgeError, RuntimeError):
    """An inference backend failed to load or to run a model."""


class CaptureError(WdsEdgeError, RuntimeError):
    """A camera, stream or video could not be opened or read."""


class OutputError(InvalidInputError):
    """An output path cannot be written (read-only, full, under a file, a folder)."""
