"""Model files on disk: the one check that a model path names a file, and the one reader of
an ONNX file's protobuf for the desktop tools (export, quantize: the ``onnx`` package, which
a kiosk does not install; the kiosk's runtimes open the file themselves).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from wds_edge._deps import require
from wds_edge.errors import ModelError

__all__ = ["EXPORT_HINT", "RUNTIME_HINT", "load_onnx_proto", "require_model_file"]

#: What to pass instead, said after "no such model file" when the caller has nothing better.
EXPORT_HINT = "pass the path of an .onnx file exported with `wds-edge export`"
#: The same where the bundled model stands in for a missing ``--model``.
RUNTIME_HINT = f"{EXPORT_HINT} (or omit --model to use the bundled default)"


def require_model_file(path: str | os.PathLike[str], hint: str = EXPORT_HINT) -> Path:
    """``path`` as a :class:`~pathlib.Path` when it names a file.

    Args:
        path: the model file.
        hint: what to pass instead, after ``"<path>: no such model file; "``.

    Raises:
        ModelError: nothing there, or a folder.
    """
    source = Path(path)
    if not source.is_file():
        raise ModelError(f"{source}: no such model file; {hint}")
    return source


def load_onnx_proto(
    path: str | os.PathLike[str], *, external_data: bool = True, purpose: str = "reading ONNX files"
) -> Any:
    """The ``onnx.ModelProto`` of a model file, or a ModelError that says what is wrong with
    it (never a protobuf traceback).

    Args:
        path: the ``.onnx`` file.
        external_data: also load tensors stored beside the file.
        purpose: what the ``onnx`` package is needed for (the missing-package message).

    Raises:
        MissingDependencyError: ``onnx`` is not installed.
        ModelError: no such file, or it is not an ONNX protobuf.
    """
    onnx = require("onnx", purpose)
    source = require_model_file(path)
    try:
        return onnx.load(str(source), load_external_data=external_data)
    except Exception as exc:  # protobuf DecodeError, onnx's own errors, OSError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no details"
        raise ModelError(
            f"{source}: cannot read it as an ONNX model ({type(exc).__name__}: {first}); the "
            "file is corrupt or not ONNX (a model from `wds-edge export` is)"
        ) from exc
