"""auto's key and candidates name the runtimes by what imports, not by the pip
distribution that installed them: onnxruntime-gpu (distribution ``onnxruntime-gpu``), an
OpenVINO without dist-info (a source build, a vendor image). Looked up by distribution name,
the key recorded ``'onnxruntime': 'absent'`` (an upgrade never invalidated a decision) and
such an OpenVINO was no candidate although ``available_backends`` lists it."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

import wds_edge
from wds_edge.runtime import available_backends
from wds_edge.runtime.auto import auto_key, cpu_candidates

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "wds_b4_128_dyn.onnx"


@pytest.fixture
def no_dist_info(monkeypatch: pytest.MonkeyPatch) -> None:
    """No distribution metadata for any package (as for onnxruntime under the name
    ``onnxruntime`` when onnxruntime-gpu installed it)."""

    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)


def test_the_key_records_the_imported_versions(no_dist_info: None) -> None:
    versions = auto_key(FIXTURE, ["onnxruntime:fp32"], None).versions
    assert versions["onnxruntime"] == onnxruntime.__version__
    assert versions["numpy"] == np.__version__
    assert versions["wds-edge"] == wds_edge.__version__
    if "openvino" in available_backends():
        import openvino

        assert versions["openvino"] == openvino.__version__
    else:
        assert versions["openvino"] == "absent"


def test_an_openvino_that_imports_is_a_candidate(no_dist_info: None) -> None:
    if "openvino" not in available_backends():
        pytest.skip("OpenVINO is not installed")
    assert "openvino:fp32" in cpu_candidates(FIXTURE)


def test_an_openvino_that_fails_to_import_is_skipped(
    faces_dir: Path, landmarker_path: Path, tmp_path: Path
) -> None:
    """Defect: an openvino package that find_spec finds but whose import raises ImportError
    (a missing libopenvino.so) was still a candidate: `wds-edge analyze` (auto) exited 2
    instead of running without OpenVINO."""
    import os
    import subprocess
    import sys

    fake = tmp_path / "fake" / "openvino"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        'raise ImportError("libopenvino.so.2025: cannot open shared object file")\n'
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "fake"), *sys.path]),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "wds_edge.cli", "analyze", str(faces_dir / "biden2.jpg"),
         "--model", str(FIXTURE), "--landmarker", str(landmarker_path), "--threads", "1",
         "--backend", "auto", "--json"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "OpenVINO does not import" in done.stderr, done.stderr
