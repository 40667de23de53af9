"""The committed ONNX fixture (tests/fixtures/README.md) loads without torch and is unchanged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from wds_edge.io import sha256_file

SHA256 = "80a9d121b3316c3011414eaf1b726fb830e9fff653ef23e4bf55466cc9d111c6"


def test_fixture_is_the_documented_file(small_onnx: Path) -> None:
    assert sha256_file(small_onnx) == SHA256
    assert SHA256 in (small_onnx.parent / "README.md").read_text()
    assert small_onnx.stat().st_size < 300_000


def test_fixture_runs_with_torch_unimportable(small_onnx: Path) -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np\n"
        "from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend\n"
        f"b = OnnxRuntimeBackend({str(small_onnx)!r}, providers=['CPUExecutionProvider'])\n"
        "assert b.metadata.input_shape == [-1, 3, 128, 128], b.metadata.input_shape\n"
        "assert b.metadata.architecture.base_channels == 4\n"
        "y = b.infer(np.zeros((2, 3, 128, 128), np.float32))\n"
        "assert y.shape == (2, 1, 128, 128) and 0 <= y.min() <= y.max() <= 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
