"""Fixtures for the SDK example tests: a small exported model and the example runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "sdk_examples"


@pytest.fixture(scope="session")
def example_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained base-8, 256 px, dynamic-batch model exported by the real exporter."""
    torch = pytest.importorskip("torch", reason="exporting the test model needs torch")
    from wds_edge_export import export_model
    from wds_edge_train.model import WrinkleUNet

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("examples") / "model.onnx"
    export_model(WrinkleUNet(base_channels=8), path, input_size_px=256, batch="dynamic")
    return path


@pytest.fixture(scope="session")
def example_env(landmarker_path: Path) -> dict[str, str]:
    """Environment of an example run: the landmarker through its documented variable."""
    return {
        **os.environ,
        "WDS_EDGE_FACE_LANDMARKER": str(landmarker_path),
        "PYTHONPATH": str(REPO_ROOT),
    }


def run_example(name: str, args: list[str], env: dict[str, str], timeout_s: float = 120.0):
    """Run ``sdk_examples/<name>`` as a user would: a separate Python process."""
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
        cwd=REPO_ROOT,
    )


@pytest.fixture(scope="session")
def example_runner():  # noqa: ANN201 - returns run_example
    return run_example
