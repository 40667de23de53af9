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


def test_the_fp32_peak_is_the_faster_kernels() -> None:
    """Only 256-bit FMAs were timed: on a core with two 512-bit FMA units (this project's AMX
    Xeon) the FP32 peak was half the core's, and the model's FP32 floor twice too high."""
    script = _script()
    rates = {"fp32_x1": {"best": 115e9}, "fp32_avx512_x1": {"best": 217e9}}
    assert script.fp32_peak(rates, 2) == (pytest.approx(434e9), "fp32_avx512")
    assert script.fp32_peak({"fp32_x1": {"best": 115e9}}, 4) == (pytest.approx(460e9), "fp32")
    slow_zmm = {"fp32_x1": {"best": 115e9}, "fp32_avx512_x1": {"best": 100e9}}
    assert script.fp32_peak(slow_zmm, 1)[1] == "fp32"  # one 512-bit unit, clocked down
    assert script.has_flag("flags : fpu avx2 avx512f avx512bw", "avx512f")
    assert not script.has_flag("flags : fpu avx2 avx512bw", "avx512f")


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 kernels")
@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="no cc")
def test_the_avx512_kernel_runs_where_the_cpu_has_avx512f(tmp_path: Path) -> None:
    script = _script()
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    if not script.has_flag(cpuinfo, "avx512f"):
        pytest.skip("no AVX-512F here")
    exe = script._build(tmp_path, vnni=False, avx512=True)
    ymm, _ = script._rates(exe, "fp32", 1, 200)
    zmm, _ = script._rates(exe, "fp32_avx512", 1, 200)
    clock = script.clock_ghz(script._rates(exe, "clock", 1, 200)[0])
    # at least the 256-bit rate (one 512-bit unit or two), never above two 512-bit FMAs a cycle
    assert zmm >= 0.8 * ymm, (zmm, ymm)
    if clock is not None:
        assert zmm / 1e9 / clock <= 1.1 * 2 * 32, (zmm, clock)
