"""benchmarks/ort_spin_wait.py's table: median / p90 as the SDK computes them, so its figures
compare with `bench`'s (it took the lower order statistic for p90)."""

from __future__ import annotations

from pathlib import Path

from repo_scripts import load_script

REPO = Path(__file__).resolve().parents[2]


def test_the_table_p90_interpolates_like_the_sdk() -> None:
    script = load_script("benchmarks/ort_spin_wait.py")
    # 1..10 ms: p90 at rank 0.9 * 9 = 8.1 -> 9 + 0.1 * (10 - 9) = 9.1 (the order statistic: 9)
    values = [5.0, 1.0, 9.0, 2.0, 10.0, 3.0, 8.0, 4.0, 7.0, 6.0]
    lines = script.table({("ort", True): values, ("ov", False): [3.0, 1.0]})
    assert lines[2] == "| ONNX Runtime FP32 | True | 5.5 | 9.1 |"
    assert lines[3] == "| OpenVINO FP32 (after ORT) | False | 2.0 | 2.8 |"
