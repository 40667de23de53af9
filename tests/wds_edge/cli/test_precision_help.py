"""``--precision`` help: one text for the commands that run the analyzer, and what ``auto``
runs on TensorRT now (FP16, or INT8 for a Q/DQ model: TensorRT builds one only as INT8)."""

from __future__ import annotations

import pytest

COMMANDS = ["analyze", "demo", "serve", "bench pipeline", "bench model"]


def _help_of(*argv: str) -> str:
    from typer.testing import CliRunner

    from wds_edge.cli import app

    result = CliRunner().invoke(app, [*argv, "--help"])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.replace("│", " ").split())


@pytest.mark.parametrize("name", COMMANDS)
def test_precision_auto_help_says_a_qdq_model_builds_int8_on_tensorrt(name: str) -> None:
    """Defect: the help said "auto: TensorRT FP16" although auto builds a Q/DQ model INT8."""
    from wds_edge.cli.options import PRECISION_AUTO_HELP, PRECISION_HELP

    text = _help_of(*name.split())
    assert " ".join(PRECISION_AUTO_HELP.split()) in text
    assert "INT8 for a Q/DQ model" in text
    if name != "bench model":  # its help starts with what each backend does with it
        assert " ".join(PRECISION_HELP.split()) in text
