"""Latency statistics and report writers (golden values computed by hand)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from wds_edge.bench.environment import environment_report, format_environment
from wds_edge.bench.report import rows_table, write_bar_plot, write_rows_csv
from wds_edge.bench.stats import StageRecorder, summarize_ms
from wds_edge.errors import InvalidInputError


def test_summarize_hand_values():
    st = summarize_ms([4.0, 1.0, 3.0, 2.0])
    assert (st.count, st.min_ms, st.max_ms, st.mean_ms) == (4, 1.0, 4.0, 2.5)
    assert st.p50_ms == pytest.approx(2.5)  # between the 2nd and 3rd order statistics
    # 1..10: p90 sits at rank 0.9 * 9 = 8.1 -> 9 + 0.1 * (10 - 9) = 9.1
    st10 = summarize_ms(range(1, 11))
    assert st10.p90_ms == pytest.approx(9.1)
    assert st10.p99_ms == pytest.approx(9.91)
    assert st10.throughput_per_s == pytest.approx(1000 / 5.5)


@pytest.mark.parametrize("bad", [[], [1.0, -1.0], [float("nan")]])
def test_summarize_rejects_bad_samples(bad):
    with pytest.raises(InvalidInputError):
        summarize_ms(bad)


def test_stage_recorder_is_bounded_and_ordered():
    rec = StageRecorder(["b", "a"], max_samples=3)
    for v in range(10):
        rec.add("a", v)
    rec.add_all({"c": 1.0})
    assert rec.samples("a") == [7.0, 8.0, 9.0]  # newest kept
    assert list(rec.summary()) == ["a", "c"]  # declared order, empty "b" left out


def test_environment_report_names_this_machine():
    import numpy as np

    env = environment_report()
    assert env["cpu"]["logical_cores"] >= 1 and env["cpu"]["model"]
    assert env["packages"]["numpy"] == np.__version__
    assert "CPUExecutionProvider" in env["onnxruntime_providers"]
    assert isinstance(env["gpus"], list)
    assert "numpy" in format_environment(env)
    # the instruction sets that decide CPU speed, read from /proc/cpuinfo by hand here
    flags = next(
        line.split(":", 1)[1].split()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("flags")
    )
    assert ("avx2" in env["cpu"]["flags"]) == ("avx2" in flags)
    assert ("amx_bf16" in env["cpu"]["flags"]) == ("amx_bf16" in flags)
    assert len(env["load_average"]) == 3 and env["load_average"][0] >= 0
    caption = format_environment(env)
    assert caption.startswith(f"CPU {env['cpu']['model']} (") and "load average" in caption


def test_load_watch_reads_the_load_at_both_ends() -> None:
    import os

    from wds_edge.bench.environment import LoadWatch

    watch = LoadWatch()
    assert watch.after is None and abs(watch.before - os.getloadavg()[0]) < 2.0
    assert watch.stop() is watch and watch.after is not None
    data = watch.to_dict()
    assert data["usable_cores"] == len(os.sched_getaffinity(0))
    assert data["busy"] == (
        watch.before > 0.5 * data["usable_cores"] or watch.after > data["usable_cores"] + 0.5
    )
    assert watch.describe().startswith(f"load average {watch.before:.1f} at the start")


def test_csv_table_and_plot(tmp_path):
    rows = [{"config": "a", "p50_ms": 1.5}, {"config": "b", "p50_ms": 3.0, "extra": None}]
    path = write_rows_csv(tmp_path / "r.csv", rows)
    back = list(csv.DictReader(path.open()))
    assert back == [
        {"config": "a", "p50_ms": "1.5", "extra": ""},
        {"config": "b", "p50_ms": "3.0", "extra": ""},
    ]
    assert [c.header for c in rows_table(rows, "t").columns] == ["config", "p50_ms", "extra"]
    png = write_bar_plot(
        tmp_path / "p.png",
        ["a", "b"],
        [1.5, 3.0],
        title="t",
        ylabel="ms",
        errors=[(1.0, 2.0), (2.5, 4.0)],
        reference=2.0,
    )
    assert png is not None and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    json.dumps(environment_report())  # JSON-able


def test_time_calls_ms_warms_up_then_times_each_run() -> None:
    from wds_edge.bench.stats import time_calls_ms

    calls: list[int] = []
    seen: list[tuple[int, int | None, str]] = []
    times = time_calls_ms(
        calls.append, 7, warmup=2, runs=3, on_run=lambda *update: seen.append(update)
    )
    assert calls == [7] * 5  # 2 untimed + 3 timed calls, each with the argument
    assert seen == [(1, 3, ""), (2, 3, ""), (3, 3, "")]  # a ProgressCallback
    assert len(times) == 3 and all(t >= 0.0 for t in times)
    with pytest.raises(InvalidInputError, match="runs >= 1"):
        time_calls_ms(calls.append, 7, warmup=0, runs=0)


def test_csv_rows_carry_the_cpu_and_load_of_their_report(tmp_path):
    """A CSV row copied out of its file used to say nothing of the machine or its load."""
    report = {
        "environment": {"cpu": {"model": "Test CPU @ 3 GHz"}},
        "load_average": {"before": 0.4, "after": 2.6, "usable_cores": 2, "busy": True},
    }
    rows = [{"config": "a", "p50_ms": 1.5}, {"config": "b", "p50_ms": 3.0}]
    back = list(csv.DictReader(write_rows_csv(tmp_path / "r.csv", rows, report).open()))
    run = ["cpu_model", "load_before", "load_after", "busy"]
    assert [list(r) for r in back] == [["config", "p50_ms", *run]] * 2
    for row in back:
        assert (row["cpu_model"], row["load_before"], row["load_after"], row["busy"]) == (
            "Test CPU @ 3 GHz", "0.4", "2.6", "True"
        )  # fmt: skip
