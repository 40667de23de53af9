"""A Triton Inference Server model repository for an exported wds-edge model.

Layout (Triton's ONNX Runtime backend)::

    DIR/<model_name>/config.pbtxt
    DIR/<model_name>/1/model.onnx

``config.pbtxt`` is protobuf text format: ``platform: "onnxruntime_onnx"``, the input
and output tensors with their dims, ``max_batch_size`` (> 0 only for a dynamic-batch
export: Triton then prepends the batch dimension itself and the dims omit it; a
fixed-batch export gets ``max_batch_size: 0`` and full dims), an ``instance_group``
and, for a dynamic-batch model, ``dynamic_batching`` so requests from many kiosks are
batched on the server GPU.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from wds_edge.errors import InvalidInputError
from wds_edge.io import write_text_atomic
from wds_edge.model.metadata import ModelMetadata
from wds_edge_export.onnx_export import read_metadata

__all__ = ["triton_config", "triton_model_path", "write_triton_repository"]


def _model_dir_name(name: str) -> str:
    """The model's folder in the repository (Triton requires it to equal the config's name):
    letters, digits, ``_ . -``, never starting with a dot (``..`` would leave the repository,
    ``.x`` would be hidden)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_").lstrip(".") or "wds_unet"


def triton_model_path(
    repo_dir: str | Path,
    model_name: str | None = None,
    *,
    version: int = 1,
    overwrite: bool = False,
) -> Path:
    """``repo_dir/<model>/<version>/model.onnx``, the file :func:`write_triton_repository`
    writes, checked before anything is exported (so a refusal leaves every output as it was).

    Args:
        repo_dir: the Triton model repository.
        model_name: the model's ``model_name`` (None: the name ``wds-edge export`` writes,
            :class:`ModelMetadata`'s default).
        version: the Triton model version (>= 1).
        overwrite: accept an existing version (``--force``).

    Raises:
        InvalidInputError: the version exists (without ``overwrite``), or a bad version.
    """
    if version < 1:
        raise InvalidInputError(f"Triton model versions start at 1, got {version}")
    name = model_name or ModelMetadata.model_fields["model_name"].default
    target = Path(repo_dir) / _model_dir_name(name) / str(version) / "model.onnx"
    if target.exists() and not overwrite:
        raise InvalidInputError(
            f"{target} exists; pass --force to replace it (or another --triton folder)"
        )
    return target


def triton_config(
    onnx_path: str | Path,
    *,
    model_name: str | None = None,
    max_batch_size: int = 8,
    instance_count: int = 1,
    kind: str = "KIND_GPU",
    max_queue_delay_us: int = 2000,
) -> tuple[str, str]:
    """``(model directory name, config.pbtxt text)`` for a wds-edge ONNX model."""
    md = read_metadata(onnx_path)
    if kind not in ("KIND_GPU", "KIND_CPU"):
        raise InvalidInputError(f"kind must be KIND_GPU or KIND_CPU, got {kind!r}")
    if instance_count < 1 or max_batch_size < 1:
        raise InvalidInputError("instance_count and max_batch_size must be positive")
    name = _model_dir_name(model_name or md.model_name)
    _, c, h, w = md.input_shape
    if md.dynamic_batch:
        batch_line, in_dims, out_dims = f"max_batch_size: {max_batch_size}", [c, h, w], [1, h, w]
    else:
        n = md.input_shape[0]
        batch_line, in_dims, out_dims = "max_batch_size: 0", [n, c, h, w], [n, 1, h, w]
    lines = [
        f'name: "{name}"',
        'platform: "onnxruntime_onnx"',
        batch_line,
        "input [",
        "  {",
        f'    name: "{md.input_name}"',
        "    data_type: TYPE_FP32",
        f"    dims: [ {', '.join(map(str, in_dims))} ]",
        "  }",
        "]",
        "output [",
        "  {",
        f'    name: "{md.output_name}"',
        "    data_type: TYPE_FP32",
        f"    dims: [ {', '.join(map(str, out_dims))} ]",
        "  }",
        "]",
        "instance_group [",
        "  {",
        f"    count: {instance_count}",
        f"    kind: {kind}",
        "  }",
        "]",
    ]
    if md.dynamic_batch:
        lines += [
            "dynamic_batching {",
            f"  max_queue_delay_microseconds: {max_queue_delay_us}",
            "}",
        ]
    lines += [
        "parameters [",
        "  {",
        '    key: "wds_edge_preprocessing"',
        f'    value: {{ string_value: "{md.preprocessing.value}" }}',
        "  },",
        "  {",
        '    key: "wds_edge_threshold"',
        f'    value: {{ string_value: "{md.threshold}" }}',
        "  }",
        "]",
    ]
    return name, "\n".join(lines) + "\n"


def write_triton_repository(
    onnx_path: str | Path,
    repo_dir: str | Path,
    *,
    version: int = 1,
    overwrite: bool = False,
    **config_kwargs: object,
) -> Path:
    """Write ``repo_dir/<model>/config.pbtxt`` and ``repo_dir/<model>/<version>/model.onnx``.

    Returns:
        The model directory.

    Raises:
        InvalidInputError: the version folder exists (without ``overwrite``), bad version.
    """
    name, text = triton_config(onnx_path, **config_kwargs)  # type: ignore[arg-type]
    target = triton_model_path(repo_dir, name, version=version, overwrite=overwrite)
    model_dir = target.parent.parent
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(".model.onnx.tmp")
    shutil.copyfile(onnx_path, tmp)
    tmp.replace(target)
    write_text_atomic(model_dir / "config.pbtxt", text)
    return model_dir
