"""scripts/cpu_limits.py's clock: a chain the core cannot run faster than its latency (it timed
`add $1`, which newer cores fold several per cycle: 16 GHz on this project's 2.6 GHz Xeon,
and a wrong per-cycle column); an impossible clock is n/a, never a figure."""

from __future__ import annotations

import platform
import shutil
from pathlib import Path

import pytest
from repo_scripts import load_script


def _script():  # noqa: ANN202 - a module
    return load_script("scripts/cpu_limits.py")


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 kernels")
@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="no cc")
def test_the_measured_clock_is_one_this_cpu_runs_at(tmp_path: Path) -> None:
    script = _script()
    exe = script._build(tmp_path, vnni=False)
    best, median = script._rates(exe, "clock", 1, 200)
    ghz = script.clock_ghz(best)
    assert ghz is not None, f"{best / 1e9:.1f} GHz measured"
    nominal = script.nominal_mhz()
    if nominal:  # turbo above the listed clock, never several times it
        assert 0.3 * nominal / 1e3 <= ghz <= 2.5 * nominal / 1e3, (ghz, nominal)


def test_an_impossible_clock_is_not_a_figure() -> None:
    script = _script()
    assert script.clock_ghz(16.0e9) is None and script.clock_ghz(0.1e9) is None
    assert script.clock_ghz(3.5e9) == pytest.approx(3.5)
    assert script.per_cycle(112.9e9, None) == "n/a"
    assert script.per_cycle(112.9e9, 3.55) == "31.8"
