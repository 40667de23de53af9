"""scripts/bench_fast_path_sizes.py: the ONNX Runtime reference is timed interleaved with
OpenVINO, so its idle threads must not spin (as in bench_int8_people.py and
profile_openvino.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from repo_scripts import load_script

pytest.importorskip("openvino", reason="the script compares OpenVINO with ONNX Runtime")

FIXTURE_ONNX = Path(__file__).resolve().parents[1] / "fixtures" / "wds_b4_128_dyn.onnx"


def test_the_onnx_runtime_reference_does_not_spin_wait() -> None:
    script = load_script("scripts/bench_fast_path_sizes.py")
    backend = script.reference_backend(FIXTURE_ONNX)
    try:
        assert backend.spin_wait is False
        options = backend._session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    finally:
        backend.close()
