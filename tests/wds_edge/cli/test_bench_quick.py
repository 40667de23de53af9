"""--quick in every bench command: one rule, it changes the defaults only, and an option given
on the command line keeps its value (the commands used to override given values, in opposite
directions: `bench model --quick --runs 2` timed 5 runs, `bench pipeline --quick --max-frames
30` read 20 frames)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wds_edge.cli import app


class _Stop(Exception):
    """Raised by the stand-in benchmark once it has seen its arguments (nothing is timed)."""


def _capture(monkeypatch: pytest.MonkeyPatch, module: str, name: str) -> dict[str, Any]:
    import importlib

    seen: dict[str, Any] = {}

    def stand_in(*args: Any, **kwargs: Any) -> None:
        seen.update(kwargs, args=args)
        raise _Stop

    monkeypatch.setattr(importlib.import_module(module), name, stand_in)
    return seen


def _run(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, _Stop), result.output


MODEL = ("wds_edge.bench.model_bench", "benchmark_model")
PIPELINE = ("wds_edge.bench.pipeline_bench", "bench_pipeline")
COMPARE = ("wds_edge.bench.compare", "bench_compare")
BACKENDS = ("wds_edge.bench.backend_compare", "compare_backends")


@pytest.mark.parametrize(
    ("target", "args", "expected"),
    [
        (MODEL, "model --quick --runs 2", {"runs": 2, "warmup": 1}),
        (MODEL, "model --quick --warmup 20", {"runs": 5, "warmup": 20}),
        (MODEL, "model", {"runs": 100, "warmup": 10}),
        (
            PIPELINE,
            "pipeline -s clip.mp4 --quick --max-frames 30 --chunk 20",
            {"max_frames": 30, "chunk_frames": 20},
        ),
        (PIPELINE, "pipeline -s clip.mp4 --quick --chunk 5", {"max_frames": 20, "chunk_frames": 5}),
        (PIPELINE, "pipeline -s clip.mp4", {"max_frames": None, "chunk_frames": 30}),
        (
            COMPARE,
            "compare --quick --runs 2 --size 128 --widths 16",
            {"runs": 2, "size_px": 128, "widths": [16], "warmup": 1, "max_frames": 8},
        ),
        (
            COMPARE,
            "compare --quick --max-frames 30 --warmup 0",
            {"runs": 3, "size_px": 256, "widths": [8], "warmup": 0, "max_frames": 30},
        ),
        (
            COMPARE,
            "compare",
            {"runs": 30, "size_px": 640, "widths": [8, 16, 32], "warmup": 3, "max_frames": 60},
        ),
        (
            BACKENDS,
            "compare --backends onnxruntime:fp32 --quick --runs 2 --max-frames 20",
            {"rounds": 2, "max_frames": 20, "warmup": 1},
        ),
        (
            BACKENDS,
            "compare --backends onnxruntime:fp32 --quick",
            {"rounds": 3, "max_frames": 8, "warmup": 1},
        ),
    ],
)
def test_quick_sets_defaults_and_given_options_keep_their_values(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    target: tuple[str, str],
    args: str,
    expected: dict[str, Any],
) -> None:
    """`bench ARGS`: the values the benchmark function was called with."""
    seen = _capture(monkeypatch, *target)
    # clip.mp4: an existing source (a missing one is refused before the benchmark is called)
    argv = ["bench", *(str(tmp_path) if a == "clip.mp4" else a for a in args.split())]
    if argv[1] == "compare":
        argv += ["--source", str(tmp_path), "--out", str(tmp_path / "c")]
    _run(argv)
    assert {k: seen[k] for k in expected} == expected


@pytest.mark.parametrize("command", ["model", "pipeline", "compare"])
def test_quick_help_states_the_rule(command: str) -> None:
    result = CliRunner().invoke(app, ["bench", command, "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.replace("│", " ").split())  # the help panel's frame out
    assert "Options given explicitly keep their values." in text
