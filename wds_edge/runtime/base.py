"""The small interface every inference backend implements (ONNX Runtime, OpenVINO, TensorRT)."""

from __future__ import annotations

import abc
import numbers
from collections.abc import Sequence
from types import TracebackType
from typing import Any, NamedTuple

import numpy as np

from wds_edge.errors import InvalidInputError, ModelError
from wds_edge.model.metadata import ModelMetadata

__all__ = [
    "Backend",
    "GraphTensor",
    "check_fixed_batch",
    "check_graph",
    "check_num_threads",
    "validate_batch",
]


def check_fixed_batch(fixed: int | None, images: int) -> None:
    """Refuse a number of images a model exported with a fixed batch N > 1 cannot run: it
    takes exactly N (a fixed batch of 1 runs each image alone; ``None``: a dynamic batch).

    Raises:
        InvalidInputError: ``images`` is not N.
    """
    if fixed is not None and fixed > 1 and images != fixed:
        raise InvalidInputError(
            f"this model was exported with a fixed batch of {fixed}; pass exactly {fixed} "
            f"images (got {images}) or re-export with a dynamic batch"
        )


class GraphTensor(NamedTuple):
    """A graph input or output as a runtime reports it (for :func:`check_graph`)."""

    name: str
    #: its dimensions, -1 where one is dynamic (``()`` for a dynamic rank)
    shape: tuple[int, ...]
    #: ``"float32"``, or the runtime's own name of another element type
    dtype: str = "float32"


def check_graph(
    metadata: ModelMetadata,
    source: str,
    inputs: Sequence[GraphTensor],
    outputs: Sequence[GraphTensor],
    *,
    fix: str = "Re-export the model with `wds-edge export` so both agree",
) -> int | None:
    """Compare a graph's real input / output with its metadata; refuse a mismatch.

    One input, named and shaped as the metadata says (channels, height, width; a dynamic
    dimension matches any), of float32; an output of the metadata's name with one channel
    (the analyzer reads channel 0 as the wrinkle probability) at the input's height and
    width (the analyzer lays the map over the crop pixel for pixel; a dynamic dimension
    matches any). Every backend that reads the graph itself runs this before compiling
    anything; ``fix`` is the message's closing advice.

    Returns:
        The batch size the graph insists on, or ``None`` for a dynamic batch.

    Raises:
        ModelError: what does not match, and how to fix it.
    """
    problems = []
    fixed = None
    if len(inputs) != 1:
        problems.append(f"the graph has {len(inputs)} inputs, expected exactly 1")
    else:
        inp = inputs[0]
        if inp.name != metadata.input_name:
            problems.append(f"input is named '{inp.name}', metadata says '{metadata.input_name}'")
        if inp.dtype != "float32":
            problems.append(f"input type is {inp.dtype}, expected float32")
        if len(inp.shape) != 4:
            problems.append(f"input shape {list(inp.shape)} is not 4-D NCHW")
        else:
            want = list(metadata.input_shape)
            for axis, label in ((1, "channels"), (2, "height"), (3, "width")):
                if inp.shape[axis] != -1 and inp.shape[axis] != want[axis]:
                    problems.append(
                        f"input {label} is {inp.shape[axis]} in the graph but {want[axis]} in "
                        "the metadata"
                    )
            fixed = inp.shape[0] if inp.shape[0] > 0 else None
    out = next((o for o in outputs if o.name == metadata.output_name), None)
    if out is None:
        names = [o.name for o in outputs]
        problems.append(f"no output named '{metadata.output_name}' (graph outputs: {names})")
    elif len(out.shape) != 4 or out.shape[1] not in (1, -1):
        problems.append(
            f"output '{out.name}' is {list(out.shape)}, expected N x 1 x H x W (one wrinkle "
            "probability channel; a two-class model is exported with its wrinkle channel only)"
        )
    elif len(metadata.input_shape) == 4:
        want_hw = tuple(metadata.input_shape[2:])
        got_hw = tuple(out.shape[2:])
        if any(
            -1 not in (got, want) and got != want for got, want in zip(got_hw, want_hw, strict=True)
        ):
            problems.append(
                f"output '{out.name}' is {got_hw[0]} x {got_hw[1]} pixels, but the input is "
                f"{want_hw[0]} x {want_hw[1]}: the wrinkle probability map must have the "
                "input's height and width (the analyzer lays it over the face crop pixel for "
                "pixel)"
            )
    if problems:
        raise ModelError(
            f"{source}: the graph does not match its wds-edge metadata: "
            + "; ".join(problems)
            + f". {fix}"
        )
    return fixed


def validate_batch(metadata: ModelMetadata, batch_nchw: np.ndarray) -> np.ndarray:
    """Check a model input against the model's contract; return it C-contiguous.

    Args:
        metadata: the model's metadata (input shape and preprocessing).
        batch_nchw: float32 ``(N, C, H, W)``, N >= 1, C / H / W as the metadata says.

    Raises:
        InvalidInputError: not a numpy array, not float32, the wrong shape (the message
            gives the expected one), or NaN / infinite values (they would come out as NaN
            "probabilities" and empty masks). The check reads the batch once: about 0.3 ms
            for one 640 px crop.
    """
    if not isinstance(batch_nchw, np.ndarray):
        raise InvalidInputError(f"infer() needs a numpy array, got {type(batch_nchw).__name__}")
    if batch_nchw.dtype != np.float32:
        raise InvalidInputError(
            f"infer() needs float32 input, got {batch_nchw.dtype}; build it with "
            "wds_edge.model.preprocessing.model_input()"
        )
    _, c, h, w = metadata.input_shape
    if batch_nchw.ndim != 4 or tuple(batch_nchw.shape[1:]) != (c, h, w) or not len(batch_nchw):
        raise InvalidInputError(
            f"infer() needs shape (N, {c}, {h}, {w}) with N >= 1 for this model "
            f"(preprocessing '{metadata.preprocessing.value}'), got {tuple(batch_nchw.shape)}"
        )
    if not np.isfinite(batch_nchw).all():
        bad = int(np.count_nonzero(~np.isfinite(batch_nchw)))
        raise InvalidInputError(
            f"infer() input holds {bad} NaN / infinite value(s) of {batch_nchw.size}; a model "
            "input is a finite image (build it with wds_edge.model.preprocessing.model_input() "
            "from a uint8 crop)"
        )
    return np.ascontiguousarray(batch_nchw)


def check_num_threads(num_threads: Any) -> int | None:
    """``num_threads`` as a backend takes it: a whole number >= 1, or None (all cores).

    Raises:
        InvalidInputError: anything else (``"4"``, ``2.7``, ``True``, ``0``).
    """
    if num_threads is None:
        return None
    if (
        isinstance(num_threads, bool)
        or not isinstance(num_threads, numbers.Integral)
        or num_threads < 1
    ):
        raise InvalidInputError(
            f"num_threads must be a whole number >= 1 (or None: all cores), got {num_threads!r}"
        )
    return int(num_threads)


class Backend(abc.ABC):
    """Runs one wds-edge model. A context manager; :meth:`close` is idempotent.

    Threads: one backend may be shared by several threads (a UI thread and a capture
    thread, a web server's workers). :meth:`infer` is safe to call concurrently and
    returns exactly what a single-threaded call returns: ONNX Runtime sessions run
    concurrent calls themselves; OpenVINO infer requests and TensorRT execution contexts
    run one call at a time, so those backends serialize :meth:`infer` with a lock.
    :meth:`close` waits for a running call; a call after close raises
    :class:`~wds_edge.errors.BackendError`.

    Attributes:
        name: backend name as the CLI spells it (``"onnxruntime"``, ``"openvino"``,
            ``"tensorrt"``).
        precision: the precision it runs in (``"fp32"``, ``"fp16"``, ``"bf16"``, ``"int8"``).
        metadata: the model's contract, read from the model file / engine sidecar and
            checked with :meth:`ModelMetadata.check_supported` at load time.
        device: where it runs, in words (``"CPU"``, ``"NVIDIA Orin (TensorRT FP16)"``).
    """

    name: str = "backend"
    precision: str = "fp32"
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

        Raises:
            InvalidInputError: not float32, the wrong shape, or NaN / infinite values
                (:func:`validate_batch`).
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
