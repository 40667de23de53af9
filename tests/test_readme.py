"""The README's commands run as written (issue 23 item 7).

Every ``wds-edge`` command in its ``bash`` blocks is parsed by the real CLI (``--help``
appended: an option the command does not have fails, as a user would see it); the
embedding snippet runs verbatim, on a face and on a photo without one; the Quickstart's
analyze command runs as written from the repository root (slow).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from wds_edge.cli import app

REPO_ROOT = Path(__file__).resolve().parents[1]
README = (REPO_ROOT / "README.md").read_text()


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def wds_edge_commands() -> list[list[str]]:
    """The argument lists of every wds-edge command in the README's bash blocks."""
    commands = []
    for block in code_blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if "wds_edge.cli" in words:  # torchrun ... -m wds_edge.cli train ...
                    commands.append(words[words.index("wds_edge.cli") + 1 :])
                elif words and words[0].endswith("wds-edge"):
                    commands.append(words[1:])
    return commands


COMMANDS = wds_edge_commands()


def test_the_readme_has_commands() -> None:
    assert len(COMMANDS) >= 20 and ["models", "fetch"] not in COMMANDS


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c)[:60] for c in COMMANDS])
def test_each_command_parses(args: list[str]) -> None:
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, f"wds-edge {' '.join(args)}: {result.output[-800:]}"
    # --help skips click's required-option check: check the README names each one
    import typer

    # typer's groups and options need not be click's own classes: duck-typed
    command, rest = typer.main.get_command(app), list(args)
    while rest and rest[0] in getattr(command, "commands", {}):
        command = command.commands[rest.pop(0)]
    given = {word.split("=", 1)[0] for word in rest}
    missing = [
        param.opts[0]
        for param in command.params
        if param.param_type_name == "option" and param.required and not set(param.opts) & given
    ]
    if "--annotate" not in given:  # export --annotate takes no --checkpoint
        assert not missing, f"wds-edge {' '.join(args)}: the README leaves out {missing}"


@pytest.fixture(scope="module")
def snippet_dir(
    tmp_path_factory: pytest.TempPathFactory, faces_dir: Path, landmarker_path: Path
) -> Path:
    """A folder holding what the snippet names: face.jpg and face_landmarker.task."""
    folder = tmp_path_factory.mktemp("snippet")
    shutil.copy(landmarker_path, folder / "face_landmarker.task")
    shutil.copy(faces_dir / "biden2.jpg", folder / "face.jpg")
    return folder


def run_snippet(folder: Path) -> subprocess.CompletedProcess[str]:
    (snippet,) = [b for b in code_blocks("python") if "WrinkleAnalyzer" in b]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-c", snippet], cwd=folder, capture_output=True, text=True,
        timeout=300, env=env,
    )  # fmt: skip


def test_the_embedding_snippet_runs_on_a_face_and_on_no_face(snippet_dir: Path) -> None:
    proc = run_snippet(snippet_dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("FrameStatus.OK") or "ok" in proc.stdout.split()[0].lower()
    grey = np.full((480, 640, 3), 128, np.uint8)
    cv2.imwrite(str(snippet_dir / "face.jpg"), grey)  # nobody in front of the camera
    proc = run_snippet(snippet_dir)
    assert proc.returncode == 0, proc.stderr[-2000:]  # no KeyError: 'overall'
    assert "step in front of the camera" in proc.stdout or "no_face" in proc.stdout.lower()


@pytest.mark.slow
def test_quickstart_analyze_runs_as_written(shared_dir: Path) -> None:
    (block,) = [b for b in code_blocks("bash") if "scripts/setup.sh &&" in b]
    line = next(x for x in block.splitlines() if "scripts/setup.sh &&" in x)
    command = line.split("&&", 1)[1].strip()  # setup.sh itself: tests/test_packaging.py
    if not (REPO_ROOT / ".venv" / "bin" / "wds-edge").exists():
        pytest.skip("needs .venv (bash scripts/setup.sh)")
    if not (REPO_ROOT.parent / "shared").exists():
        pytest.skip("the Quickstart reads ../shared next to the checkout")
    out = REPO_ROOT / "out"
    (out / "biden2.json").unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run(
        shlex.split(command), cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, env=env
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "wrinkle analysis" in proc.stdout and (out / "biden2.json").exists()
    assert (out / "biden2_overlay.png").exists()


def test_every_rough_label_example_crops_faces() -> None:
    """`label --rough` without --crop-faces labels whole photos: a model trained on them
    learns faces at the photos' scale, not at the kiosk's face crop. The README, the model
    card's "Replacing it" steps and `label --help` each showed such a command."""
    from wds_edge.cli.label_cmds import LABEL_HELP

    texts = {
        "README.md": README,
        "MODEL_CARD.md": (REPO_ROOT / "MODEL_CARD.md").read_text(),
        "label --help": LABEL_HELP,
    }
    found = 0
    for name, text in texts.items():
        for command in re.findall(r"wds-edge label [^`\n]*", " ".join(text.split("\n   "))):
            if "--rough" in command:
                found += 1
                assert "--crop-faces" in command, f"{name}: {command}"
    assert found >= 3


def test_the_whole_path_names_the_model_input_size_and_parity_photos() -> None:
    """A model trained on 256 px crops takes 256 px INT8 crops: the README's calibrate lines
    had no --size (quantize then refused the 640 px crops), and its export lines no
    --parity-images (the default folder is the checkout's reference data, not the user's)."""
    calibrate = [c for c in COMMANDS if c[:1] == ["calibrate"]]
    export = [c for c in COMMANDS if c[:1] == ["export"] and "--checkpoint" in c]
    assert calibrate and all("--size" in c for c in calibrate), calibrate
    assert any("--parity-images" in c for c in export), export


def test_the_readme_names_every_precision_auto_probes() -> None:
    """The README said auto picks from ONNX Runtime FP32 and OpenVINO FP32 / BF16 / INT8;
    the probe also tries FP16 (on CPUs with AVX512_FP16), and picked it on such a CPU."""
    from wds_edge.runtime.auto import OPENVINO_PRECISIONS

    text = " ".join(README.split())
    found = re.search(r"picks the fastest of (.*?) whose masks pass", text)
    assert found, "the README's description of --backend auto moved"
    missing = [p for p in OPENVINO_PRECISIONS if p.upper() not in found.group(1)]
    assert not missing, f"the README's auto sentence does not name {missing}"


def test_the_install_table_names_every_desktop_extra() -> None:
    """The desktop rows said `pip install '.[train,export]'`; `wds-edge quantize --format
    openvino` needs the openvino-int8 extra too (NNCF). Every extra of pyproject but dev
    (the Development section's) is named in the Install section, and each desktop row
    installs train, export and openvino-int8."""
    tomllib = pytest.importorskip("tomllib", reason="Python >= 3.11")
    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    section = README.split("## Install", 1)[1].split("\n## ", 1)[0]
    missing = [
        e for e in extras if e != "dev" and not re.search(rf"[\[,]{re.escape(e)}[\],]", section)
    ]
    assert not missing, f"the Install section does not name the extras {missing}"
    desktop = [line for line in section.splitlines() if line.startswith("| desktop")]
    assert len(desktop) == 2, desktop
    for row in desktop:
        assert "'.[train,export,openvino-int8]'" in row, row
