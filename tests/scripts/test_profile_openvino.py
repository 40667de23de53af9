"""scripts/profile_openvino.py's table: p50 / p90 as the SDK computes them, so its figures
compare with `bench`'s (it took the lower order statistic for p90)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from repo_scripts import load_script

REPO = Path(__file__).resolve().parents[2]


def _script(name: str) -> ModuleType:
    return load_script(f"scripts/{name}.py")


def test_print_times_p90_interpolates_like_the_sdk(capsys: pytest.CaptureFixture[str]) -> None:
    profile = _script("profile_openvino")
    # 1..10 ms: p90 at rank 0.9 * 9 = 8.1 -> 9 + 0.1 * (10 - 9) = 9.1 (the order statistic: 9)
    times = {"a": [5.0, 1.0, 9.0, 2.0, 10.0, 3.0, 8.0, 4.0, 7.0, 6.0], "b": [2.0] * 10}
    cpu = {"a": [1.0] * 10, "b": [1.0] * 10}
    rows = profile.print_times("t", times, cpu, "a")
    assert rows[0]["p90_ms"] == pytest.approx(9.1)
    assert (rows[0]["p50_ms"], rows[0]["min_ms"]) == (pytest.approx(5.5), 1.0)
    assert "| a | 5.5 | 1.0 | 9.1 |" in capsys.readouterr().out
