"""Outputs that name the source or each other are refused before anything loads (the CLI
and run_demo alike), and every recorder has temporaries of its own."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from fault_helpers import leftovers, run_cli

from wds_edge.analysis.analyzer import AnalyzerConfig
from wds_edge.demo.app import DemoConfig, run_demo
from wds_edge.demo.outputs import DemoRecorder
from wds_edge.errors import InvalidInputError


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def clip(tmp_path: Path, video_path: Path) -> Path:
    """A copy of the clip the demo reads (the case overwrote the source)."""
    folder = tmp_path / "in"
    folder.mkdir()
    return Path(shutil.copy(video_path, folder / "clip.mp4"))


def _cases(clip: Path, out: Path) -> dict[str, tuple[list[object], tuple[str, str]]]:
    """argv after the source, and the two options the error must name."""
    same = out / "o.mp4"
    hard = clip.parent / "hard.mp4"
    os.link(clip, hard)  # another name for the source's file
    link = out / "link.json"
    link.symlink_to(out / "o.json")  # a symlink to an output that does not exist yet
    return {
        "record-is-source": (["--record", clip], ("--record", "--source")),
        "jsonl-is-source": (["--jsonl", clip], ("--jsonl", "--source")),
        "record-hard-link-to-source": (["--record", hard], ("--record", "--source")),
        "record-and-jsonl": (["--record", same, "--jsonl", same], ("--record", "--jsonl")),
        "jsonl-and-summary": (
            ["--jsonl", out / "o.json", "--summary-json", out / "x" / ".." / "o.json"],
            ("--jsonl", "--summary-json"),
        ),
        "symlink-and-summary": (
            ["--jsonl", link, "--summary-json", out / "o.json"],
            ("--jsonl", "--summary-json"),
        ),
        "jsonl-and-screenshot": (
            ["--jsonl", out / "s.png", "--screenshot", out / "s.png"],
            ("--jsonl", "--screenshot"),
        ),
    }


CASES = [
    "record-is-source",
    "jsonl-is-source",
    "record-hard-link-to-source",
    "record-and-jsonl",
    "jsonl-and-summary",
    "symlink-and-summary",
    "jsonl-and-screenshot",
]


@pytest.mark.parametrize("case", CASES)
def test_cli_outputs_that_collide_are_refused_before_anything_loads(
    case: str, tmp_path: Path, clip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--record / --jsonl naming the --source overwrote the user's video; --record o.mp4
    --jsonl o.mp4 shared one temporary (a traceback and JSON inside the video); --jsonl
    o.json --summary-json o.json silently overwrote one with the other."""
    out = tmp_path / "out"
    out.mkdir()
    argv, (first, second) = _cases(clip, out)[case]
    before = _sha(clip)
    listing = sorted(p.name for p in out.iterdir())
    code, _out, err = run_cli(
        capsys, "demo", "--source", clip, "--headless", "--backend", "onnxruntime",
        "--model", tmp_path / "missing.onnx", *argv,
    )  # fmt: skip
    assert code == 2, err
    assert err.count("error:") == 1 and "Traceback" not in err
    assert first in err and second in err, err
    assert "missing.onnx" not in err  # refused before the model was looked at
    assert _sha(clip) == before
    assert sorted(p.name for p in out.iterdir()) == listing and not leftovers(tmp_path)


@pytest.mark.parametrize(
    ("fields", "names"),
    [
        ({"record_path": "SOURCE"}, ("record_path", "source")),
        ({"jsonl_path": "SOURCE"}, ("jsonl_path", "source")),
        ({"record_path": "o.mp4", "jsonl_path": "o.mp4"}, ("record_path", "jsonl_path")),
        ({"jsonl_path": "s.png", "screenshot_path": "s.png"}, ("jsonl_path", "screenshot_path")),
    ],
    ids=["record-is-source", "jsonl-is-source", "record-and-jsonl", "jsonl-and-screenshot"],
)
def test_run_demo_refuses_outputs_that_collide_before_anything_loads(
    fields: dict[str, str], names: tuple[str, str], tmp_path: Path, clip: Path
) -> None:
    out = tmp_path / "out"
    paths = {k: clip if v == "SOURCE" else out / v for k, v in fields.items()}
    config = DemoConfig(
        source=str(clip),
        analyzer=AnalyzerConfig(model_path=str(tmp_path / "missing.onnx"), backend="onnxruntime"),
        headless=True,
        **paths,
    )
    before = _sha(clip)
    with pytest.raises(InvalidInputError) as refused:
        run_demo(config)
    message = str(refused.value)
    assert all(name in message for name in names), message
    assert "missing.onnx" not in message
    assert _sha(clip) == before and not out.exists() and not leftovers(tmp_path)


def test_two_recorders_of_one_name_do_not_share_a_temporary(tmp_path: Path) -> None:
    """The temporary was .wdstmp-<pid>-<name> with no random part: two recorders of one
    target (in one process) wrote into one file, and the second could not move it."""
    target = tmp_path / "run.jsonl"
    frame = np.zeros((8, 8, 3), np.uint8)
    first, second = DemoRecorder(None, target), DemoRecorder(None, target)
    first.write(frame, {"run": "first"})
    second.write(frame, {"run": "second"})
    assert first.close() == {"jsonl": str(target)}
    assert target.read_text() == '{"run":"first"}\n'
    assert second.close() == {"jsonl": str(target)}
    assert target.read_text() == '{"run":"second"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.jsonl"]
