"""Options several commands share: one help text and one check each, so `analyze`, `demo`,
`serve` and `bench model|pipeline` describe and refuse them in the same words."""

from __future__ import annotations

from typing import Any

__all__ = [
    "DEVICE_HELP",
    "PRECISION_AUTO_HELP",
    "PRECISION_HELP",
    "ROTATE_HELP",
    "THRESHOLD_HELP",
    "check_rotate",
    "check_threshold",
    "given_on_command_line",
]

#: ``--device``: passed through to the SDK (AnalyzerConfig.device / load_backend), which
#: refuses a device the chosen backend cannot use.
DEVICE_HELP = (
    "OpenVINO device: CPU (default), or GPU / NPU / AUTO (Intel iGPU / NPU); "
    "TensorRT: the CUDA device index (default 0)."
)

#: What ``--precision auto`` runs (load_backend): TensorRT builds FP16, or INT8 for a Q/DQ
#: model (the only precision TensorRT builds one in), an engine file runs as it was built.
PRECISION_AUTO_HELP = (
    "auto: TensorRT FP16, or INT8 for a Q/DQ model from `wds-edge quantize --format qdq`, "
    "an engine file as it was built; else the probed CPU winner"
)

#: ``--precision`` of the commands that run the analyzer (analyze, demo, serve, bench
#: pipeline).
PRECISION_HELP = (
    f"auto | fp32 | fp16 | bf16 | int8 ({PRECISION_AUTO_HELP}; onnxruntime: fp32, or int8 "
    "for a Q/DQ model)."
)

#: ``--threshold``: an open interval (AnalyzerConfig refuses 0 and 1).
THRESHOLD_HELP = "Wrinkle probability threshold in (0, 1), exclusive (default: the model's)."


#: ``--rotate``: open_source(rotate=...) for cameras, streams and videos (each command
#: appends what it does with photos).
ROTATE_HELP = (
    "Turn every camera / video frame clockwise by 0, 90, 180 or 270 degrees before it is "
    "analysed (default 0), for a camera mounted on its side (90: lying on its left side, "
    "270: on its right side) or upside down (180); the analysis needs upright faces."
)


def check_rotate(rotate: int) -> int:
    """Refuse a ``--rotate`` other than 0, 90, 180, 270 in one line, before anything loads.

    Raises:
        InvalidInputError: the message names the allowed values (exit code 2).
    """
    from wds_edge.capture.rotate import check_rotation

    return check_rotation(rotate, "--rotate")


def check_threshold(
    threshold: float | None, omitted: str = "omit it to use the model's threshold"
) -> None:
    """Refuse a ``--threshold`` outside (0, 1) in one line, before anything loads.

    Args:
        threshold: the option's value (None: not given).
        omitted: what leaving the option out does, said in the message.

    Raises:
        InvalidInputError: ``threshold`` is not strictly between 0 and 1.
    """
    from wds_edge.errors import InvalidInputError

    if threshold is not None and not 0.0 < threshold < 1.0:
        raise InvalidInputError(
            f"--threshold must be between 0 and 1, exclusive (got {threshold}); {omitted}"
        )


def given_on_command_line(ctx: Any, names: dict[str, str]) -> list[str]:
    """The options of ``names`` (parameter -> flag) given on the command line.

    Defaults and environment values do not count: a command refuses an option its mode
    ignores only when the user typed it.
    """
    # by name: typer >= 0.22 vendors click, its ParameterSource is not click's
    return [
        flag
        for name, flag in names.items()
        if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"
    ]
