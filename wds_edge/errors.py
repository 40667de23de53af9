"""The exceptions of wds-edge: one base class and a few subclasses.

Every message names what was expected and how to fix it. Frame-level conditions
a kiosk meets in normal use (no face, blur, ...) are *statuses* of a result, not
exceptions; these classes are for misuse, bad files and missing software.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "WdsEdgeError",
    "InvalidInputError",
    "UnsupportedImageError",
    "DataError",
    "ModelError",
    "AccuracyGateError",
    "MissingDependencyError",
    "BackendError",
    "BackendUnavailableError",
    "CaptureError",
    "OutputError",
    "describe_validation_error",
]


class WdsEdgeError(Exception):
    """Base class of every error raised on purpose by wds-edge."""


class InvalidInputError(WdsEdgeError, ValueError):
    """An argument, image or file that the caller passed is not what was expected."""


class UnsupportedImageError(InvalidInputError):
    """The bytes are an image, but in a format wds-edge does not decode (e.g. Radiance HDR)."""


class DataError(InvalidInputError):
    """A training / labeling data set is malformed (missing masks, sizes, values)."""


class ModelError(WdsEdgeError):
    """A model file is missing, corrupt, or carries a contract the runtime cannot meet."""


class AccuracyGateError(ModelError):
    """A reduced-precision model (FP16 / BF16 / INT8) failed its accuracy gate against FP32,
    or the gate could not check it (:func:`wds_edge.runtime.gate.enforce_gate`); the CLI
    exits 1 for it, like a failed input. ``gate``: the gate's result
    (:class:`~wds_edge.runtime.gate.GateResult`) where one was measured, else None."""

    def __init__(self, message: str, gate: Any = None) -> None:
        super().__init__(message)
        self.gate = gate


class MissingDependencyError(WdsEdgeError, ImportError):
    """An optional dependency (torch, tensorrt, onnx, ...) is not installed."""


class BackendError(WdsEdgeError, RuntimeError):
    """An inference backend failed to load or to run a model."""


class BackendUnavailableError(BackendError):
    """A backend cannot be provided on this machine as asked (no GPU, no engine and no way to
    build a checked one, a precision this GPU lacks); ``auto`` falls back to the next one."""


class CaptureError(WdsEdgeError, RuntimeError):
    """A camera, stream or video could not be opened or read."""


class OutputError(InvalidInputError):
    """An output path cannot be written (read-only, full, under a file, a folder)."""


def _clause(error: dict[str, Any]) -> str:
    field = ".".join(str(part) for part in error.get("loc", ())) or "value"
    message = str(error.get("msg", "is invalid"))
    kind = str(error.get("type", ""))
    if not error.get("loc") and message.startswith("Value error, "):
        # a check of several fields together: its message names them and their values
        return message[len("Value error, ") :]
    if kind == "extra_forbidden":
        return f"'{field}' is not a known setting"
    if kind == "missing":
        return f"'{field}' is required"
    for prefix, replacement in (("Input should", "must"), ("Value error, ", "")):
        if message.startswith(prefix):
            message = replacement + message[len(prefix) :]
    value = repr(error.get("input"))
    value = value if len(value) <= 60 else value[:57] + "..."
    return f"{field} = {value}: {message}"


def describe_validation_error(
    exc: Exception, what: str = "settings", adjective: str = "invalid"
) -> str:
    """A pydantic ``ValidationError`` in wds-edge's words: one clause per bad field with
    the value given and what is allowed; no pydantic internals, no documentation URLs.

    Example: ``invalid demo settings: threshold = 0.0: must be greater than 0``.
    """
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return f"{adjective} {what}: {exc}"
    try:
        items = errors(include_url=False)
    except TypeError:
        items = errors()
    return f"{adjective} {what}: " + "; ".join(_clause(dict(e)) for e in items)
