#!/usr/bin/env python3
"""Does ONNX Runtime's spin-waiting slow down the backend timed after it? (issue 22, item 15)

ONNX Runtime FP32 with ``session.intra_op.allow_spinning`` on and off, each call followed by
OpenVINO FP32 on the same crop, the two configurations interleaved round by round; prints
the median / p90 latency of each, the CPU and the load average. Run it on an idle machine.

    python benchmarks/ort_spin_wait.py [--model MODEL.onnx] [--rounds 30]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wds_edge.bench.model_bench import synthetic_input  # noqa: E402
from wds_edge.model.bundled import default_model_path  # noqa: E402
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend  # noqa: E402
from wds_edge.runtime.openvino import OpenVinoBackend  # noqa: E402
from wds_edge.timing import summarize_ms  # noqa: E402


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def table(times: dict[tuple[str, bool], list[float]]) -> list[str]:
    """The result table's lines: median and p90 of each configuration, as the SDK computes
    them (:func:`wds_edge.timing.summarize_ms`, linear interpolation between order statistics)."""
    lines = ["| timed | ORT spin_wait | median ms | p90 ms |", "|---|---|---|---|"]
    for (kind, spin), values in times.items():
        stats = summarize_ms(values)
        name = "ONNX Runtime FP32" if kind == "ort" else "OpenVINO FP32 (after ORT)"
        lines.append(f"| {name} | {spin} | {stats.p50_ms:.1f} | {stats.p90_ms:.1f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=None, help="FP32 .onnx (default: bundled)")
    ap.add_argument("--rounds", type=int, default=30, help="timed rounds per configuration")
    args = ap.parse_args(argv)
    model = args.model or default_model_path()
    ort = {s: OnnxRuntimeBackend(model, providers=["CPUExecutionProvider"], spin_wait=s)
           for s in (True, False)}  # fmt: skip
    x = synthetic_input(ort[True], 1)  # the model's input shape and range (metadata)
    ov = OpenVinoBackend(model, precision="fp32")
    times: dict[tuple[str, bool], list[float]] = {(k, s): [] for k in ("ort", "ov")
                                                  for s in (True, False)}  # fmt: skip
    load_before = os.getloadavg()
    for r in range(args.rounds + 2):
        for spin in (True, False) if r % 2 else (False, True):
            t0 = time.perf_counter()
            ort[spin].infer(x)
            t1 = time.perf_counter()
            ov.infer(x)
            t2 = time.perf_counter()
            if r >= 2:  # two warm-up rounds
                times[("ort", spin)].append((t1 - t0) * 1e3)
                times[("ov", spin)].append((t2 - t1) * 1e3)
    print(f"# {_cpu()}, {os.cpu_count()} CPUs; load average {load_before} -> {os.getloadavg()}")
    print("\n".join(table(times)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
