"""Where OpenVINO's time goes on this CPU: per-layer counters, then settings measured interleaved.

1. Per-layer performance counters (``PERF_COUNT``, ``request.get_profiling_info()``) of the
   FP32 model, in BF16 where the CPU has it natively, and, when there is one, its INT8 IR
   (``m.int8.xml``), each with the texture subgraph in OpenVINO and on the host, averaged over
   ``--runs`` calls: time per layer type x kernel (``exec_type`` names the precision the
   kernel ran in: ``..._f32``, ``..._I8`` / ``..._u8``, ``..._bf16``), the slowest layers,
   the reorders (layout / precision conversions), and the wall time against the sum of the
   layers (what is spent outside them: the Python call, the output copy).
2. Settings, every configuration loaded at once and called in turn, the order rotated each
   round (one ``infer`` each per round, ``--rounds`` rounds): the backend's defaults
   (``PERFORMANCE_HINT=LATENCY``: one stream, all cores, pinned threads) against CPU
   pinning off, one thread, the THROUGHPUT hint; BF16 and INT8 (where there are) with the
   texture subgraph in OpenVINO (before issue 25's host texture) and on the host; ONNX
   Runtime FP32 without spin-waiting as the reference row.
3. ``benchmark_app`` (the openvino wheel's) on the same files, when it is on PATH or next
   to this Python, as a cross-check of the backend's own overhead (run on its own: not
   interleaved).

The CPU (``lscpu``) and the load average are printed beside every table, and a warning at
the end when the machine was busy (``LoadWatch``).

    python scripts/profile_openvino.py [--model M.onnx] [--runs 10] [--rounds 12] [--json F]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from cpu_limits import cpu_line, finish_load  # noqa: E402

from wds_edge.bench.environment import LoadWatch  # noqa: E402
from wds_edge.bench.model_bench import synthetic_input  # noqa: E402
from wds_edge.errors import OutputError  # noqa: E402
from wds_edge.io import ensure_writable_file, write_json_atomic  # noqa: E402
from wds_edge.model.bundled import default_model_path  # noqa: E402
from wds_edge.runtime.auto import load_candidate  # noqa: E402
from wds_edge.runtime.openvino import (  # noqa: E402
    OpenVinoBackend,
    int8_model_path,
    native_precisions,
)
from wds_edge.timing import summarize_ms  # noqa: E402


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def crop_input(backend: Any) -> np.ndarray:
    """Noise in the model's input range, shape and channels, batch 1, from ``backend``'s
    metadata (:func:`wds_edge.bench.model_bench.synthetic_input`, what ``bench model``
    times: a dense CNN's latency does not depend on pixels)."""
    return synthetic_input(backend, 1)


def conv_gflop(model_path: Path, shape: list[int]) -> dict[str, float]:
    """GFLOP (2 x multiply-accumulates) of each Convolution, by OpenVINO node name, for one
    input of ``shape`` (``[1, C, H, W]``: the model's metadata)."""
    import openvino as ov

    model = ov.Core().read_model(str(model_path))
    if not model.input(0).get_partial_shape().is_static:
        model.reshape(shape)
    flops = {}
    for op in model.get_ordered_ops():
        if op.get_type_name() not in ("Convolution", "GroupConvolution"):
            continue
        # weights [O, I, kh, kw] (grouped: [G, O/G, I/G, kh, kw]): one output, I*kh*kw MACs
        macs = int(np.prod(list(op.output(0).get_shape())))
        macs *= int(np.prod(list(op.input(1).get_shape())[-3:]))
        flops[op.get_friendly_name()] = 2.0 * macs / 1e9
    return flops


def layer_profile(backend: OpenVinoBackend, x: np.ndarray, runs: int) -> dict[str, Any]:
    """Per-layer times after 2 warm-up calls: the mean over the faster half of ``runs`` calls.

    The faster half, because a shared VM's cores come and go: on the AMX Xeon of issue 25
    whole stretches of calls ran at half speed (both threads' work on one core), and the
    layer shares of those calls describe the neighbour, not the model.
    """
    for _ in range(2):
        backend.infer(x)
    calls: list[dict[tuple[int, str, str, str], float]] = []
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        backend.infer(x)
        walls.append((time.perf_counter() - t0) * 1000.0)
        calls.append({(r["part"], r["node"], r["node_type"], r["exec_type"]): r["ms"]
                      for r in backend.layer_times()})  # fmt: skip
    faster = [calls[i] for i in np.argsort(walls)[: max(1, runs // 2)]]
    per_node: dict[tuple[int, str, str, str], float] = collections.defaultdict(float)
    for call in faster:
        for key, ms in call.items():
            per_node[key] += ms / len(faster)
    by_kind: dict[tuple[str, str], float] = collections.defaultdict(float)
    by_precision: dict[str, float] = collections.defaultdict(float)
    for (_, _, node_type, exec_type), ms in per_node.items():
        by_kind[(node_type, exec_type)] += ms
        by_precision[_precision_of(exec_type)] += ms
    return {
        "wall_ms_p50": statistics.median(walls),
        "wall_ms_min": min(walls),
        "wall_ms_faster_half": float(np.mean(sorted(walls)[: max(1, runs // 2)])),
        "layers_ms": sum(per_node.values()),
        "by_kind": sorted(((k[0], k[1], ms) for k, ms in by_kind.items()), key=lambda r: -r[2]),
        "by_precision": dict(by_precision),
        "nodes": sorted(((*k, ms) for k, ms in per_node.items()), key=lambda r: -r[4]),
    }


def _precision_of(exec_type: str) -> str:
    found = re.search(r"_(f32|bf16|f16|I8|i8|u8|U8)$", exec_type)
    return found.group(1).lower() if found else "other"


def print_profile(name: str, prof: dict[str, Any], top: int, gflop: dict[str, float]) -> None:
    print(f"\n### {name}: wall p50 {prof['wall_ms_p50']:.1f} ms (min {prof['wall_ms_min']:.1f}, "
          f"faster half {prof['wall_ms_faster_half']:.1f}), sum of layers (faster half) "
          f"{prof['layers_ms']:.1f} ms (load {load()})")  # fmt: skip
    shares = ", ".join(
        f"{p} {ms:.1f} ms ({ms / prof['layers_ms']:.0%})"
        for p, ms in sorted(prof["by_precision"].items(), key=lambda kv: -kv[1])
    )
    print(f"by kernel precision: {shares}")
    print("\n| layer type | kernel | ms | share |\n|---|---|---|---|")
    for node_type, exec_type, ms in prof["by_kind"]:
        print(f"| {node_type} | {exec_type} | {ms:.2f} | {ms / prof['layers_ms']:.1%} |")
    print(f"\n| part | slowest layers (top {top}) | type | kernel | ms | GFLOP | TFLOP/s |")
    print("|---|---|---|---|---|---|---|")
    for part, node, node_type, exec_type, ms in prof["nodes"][:top]:
        g = gflop.get(node)
        rate = f"{g:.2f} | {g / ms:.2f}" if g else " | "
        print(f"| {part} | {node} | {node_type} | {exec_type} | {ms:.2f} | {rate} |")
    conv_ms = sum(r[4] for r in prof["nodes"] if r[1] in gflop)
    if conv_ms:
        total = sum(gflop.values())
        print(f"\nconvolutions: {total:.1f} GFLOP in {conv_ms:.1f} ms = {total / conv_ms:.2f} "
              f"TFLOP/s; everything else {prof['layers_ms'] - conv_ms:.1f} ms")  # fmt: skip
    reorders = [r for r in prof["nodes"] if r[2] == "Reorder"]
    if reorders:
        print("\nreorders: " + "; ".join(f"{r[1]} ({r[3]}) {r[4]:.2f} ms" for r in reorders))


def interleaved(
    configs: dict[str, Any], x: np.ndarray | dict[str, np.ndarray], rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """One call of each configuration per round, the order rotated; the first round warms up.

    ``x``: the input of every configuration, or each one's by name (models that take other
    inputs).

    Returns wall milliseconds and process CPU milliseconds per call: on a shared machine the
    wall time includes the time the threads waited for a core, the CPU time does not (it
    counts what the call cost; idle-spinning threads count too).
    """
    names = list(configs)
    inputs = x if isinstance(x, dict) else dict.fromkeys(names, x)
    times: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for i in range(rounds + 1):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            t0, c0 = time.perf_counter(), time.process_time()
            configs[name].infer(inputs[name])
            if i:
                times[name].append((time.perf_counter() - t0) * 1000.0)
                cpu[name].append((time.process_time() - c0) * 1000.0)
    return times, cpu


def print_times(
    title: str, times: dict[str, list[float]], cpu: dict[str, list[float]], ref: str
) -> list[dict[str, Any]]:
    """The table, with each row's per-round difference to the first row; p50 and p90 are the
    SDK's (:func:`wds_edge.timing.summarize_ms`, linear interpolation), as in `bench`.

    Calls of one round run back to back, so the median of the per-round differences is
    paired: a shared VM's slow and fast stretches (issue 25's AMX Xeon swung between ~37
    and ~70 ms per BF16 call) hit both sides of a difference alike, unlike the p50s.
    """
    rows = []
    base = statistics.median(times[ref])
    print(f"\n### {title} (load {load()})\n")
    print("| configuration | p50 ms | min ms | p90 ms | p50 vs first row | paired difference to "
          "the first row, median ms | CPU ms per call (p50) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, ts in times.items():
        stats = summarize_ms(ts)
        p50, p90, fastest = stats.p50_ms, stats.p90_ms, stats.min_ms
        cpu_ms = statistics.median(cpu[name])
        paired = statistics.median(a - b for a, b in zip(ts, times[ref], strict=True))
        print(f"| {name} | {p50:.1f} | {fastest:.1f} | {p90:.1f} | {p50 / base:.2f}x | "
              f"{paired:+.1f} | {cpu_ms:.0f} |")  # fmt: skip
        rows.append({"config": name, "p50_ms": p50, "min_ms": fastest, "p90_ms": p90,
                     "paired_diff_ms": paired, "cpu_ms_p50": cpu_ms})  # fmt: skip
    return rows


def benchmark_app(path: Path, seconds: int, shape: list[int]) -> str | None:
    exe = shutil.which("benchmark_app") or str(Path(sys.executable).with_name("benchmark_app"))
    if not Path(exe).is_file():
        return None
    cmd = [exe, "-m", str(path), "-d", "CPU", "-hint", "latency", "-t", str(seconds),
           "-shape", "[" + ",".join(map(str, shape)) + "]", "-nireq", "1"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    lines = [ln.split("]", 1)[-1].strip() for ln in out.splitlines()]
    keep = [ln for ln in lines if re.match(r"(Median|Average|Min|Max|Throughput|Count)", ln)]
    return "; ".join(keep) or out[-400:]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="FP32 .onnx (default: bundled)")
    ap.add_argument("--runs", type=int, default=10, help="calls per layer profile")
    ap.add_argument("--rounds", type=int, default=12, help="interleaved rounds per settings table")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--skip-settings", action="store_true")
    ap.add_argument("--precisions", default=None,
                    help="comma-separated subset of fp32,bf16,int8 to profile and time "
                         "(default: every one this CPU and model have)")  # fmt: skip
    ap.add_argument("--benchmark-app-s", type=int, default=0,
                    help="also run benchmark_app this many seconds per file (0: not)")  # fmt: skip
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if args.model is not None and not args.model.is_file():
        ap.error(f"--model {args.model}: no such file")
    for option in ("runs", "rounds", "top"):
        if getattr(args, option) < 1:
            ap.error(f"--{option} must be >= 1, got {getattr(args, option)}")
    if args.json is not None:
        try:
            ensure_writable_file(args.json, "JSON report")  # before minutes of profiling
        except OutputError as exc:
            ap.error(str(exc))
    model = args.model or default_model_path()
    int8 = int8_model_path(model)
    has_int8 = int8.is_file()
    print(f"CPU: {cpu_line()}\nmodel: {model}" + (f" + {int8.name}" if has_int8 else ""))
    load_watch = LoadWatch()
    reference = OpenVinoBackend(model, precision="fp32")
    x = crop_input(reference)  # the model's size, channels and range
    shape = [1, *reference.metadata.input_shape[1:]]
    reference.close()
    report: dict[str, Any] = {"cpu": cpu_line(), "model": str(model), "input_shape": shape}
    perf = {"PERF_COUNT": True}
    reduced = [p for p in ("bf16",) if p in native_precisions()] + (["int8"] if has_int8 else [])
    wanted = ["fp32", *reduced]
    if args.precisions:
        asked = [p.strip() for p in args.precisions.split(",") if p.strip()]
        unknown = sorted(set(asked) - set(wanted))
        if unknown:
            raise SystemExit(f"--precisions: {', '.join(unknown)} not available here ({wanted})")
        wanted = asked
    reduced = [p for p in reduced if p in wanted]
    profiles = {}
    for precision in [p for p in ("fp32",) if p in wanted] + reduced:
        for place in ("openvino", "host"):
            profiles[f"{precision}, texture in {place}"] = OpenVinoBackend(
                model, precision=precision, properties=perf, texture=place
            )
    gflop = conv_gflop(model, shape)
    for name, backend in profiles.items():
        prof = layer_profile(backend, x, args.runs)
        print_profile(f"OpenVINO {name} ({backend.device})", prof, args.top, gflop)
        report[f"profile_{name}"] = {k: v for k, v in prof.items() if k != "nodes"} | {
            "nodes": prof["nodes"][:40]
        }
        backend.close()
    out = np.empty((1, 1, *shape[2:]), np.float32)
    t0 = time.perf_counter()
    for _ in range(100):
        np.array(out, dtype=np.float32, copy=True)
    side = "x".join(map(str, out.shape))
    print(f"\noutput copy ({side} float32): {(time.perf_counter() - t0) * 10:.3f} ms per call")
    if not args.skip_settings:
        configs: dict[str, Any] = {} if "fp32" not in wanted else {
            "OpenVINO FP32, defaults (LATENCY, 1 stream, 2 threads, pinned)":
                OpenVinoBackend(model, precision="fp32"),
            "OpenVINO FP32, ENABLE_CPU_PINNING=False":
                OpenVinoBackend(model, precision="fp32", properties={"ENABLE_CPU_PINNING": False}),
            "OpenVINO FP32, INFERENCE_NUM_THREADS=1":
                OpenVinoBackend(model, precision="fp32", num_threads=1),
            "OpenVINO FP32, PERFORMANCE_HINT=THROUGHPUT (2 streams, 1 request)":
                OpenVinoBackend(model, precision="fp32",
                                properties={"PERFORMANCE_HINT": "THROUGHPUT"}),
            "ONNX Runtime FP32 (no spin-wait)": load_candidate(model, "onnxruntime:fp32",
                                                               spin_wait=False),
        }  # fmt: skip
        for precision in reduced:
            for place in ("openvino", "host"):
                configs[f"OpenVINO {precision.upper()}, texture in {place}"] = OpenVinoBackend(
                    model, precision=precision, texture=place
                )
            # one thread beside two: on a shared VM this row tells whether the second core
            # was really there while the table ran (two threads ~2x faster) or not
            configs[f"OpenVINO {precision.upper()}, texture in host, 1 thread"] = OpenVinoBackend(
                model, precision=precision, num_threads=1
            )
        times, cpu = interleaved(configs, x, args.rounds)
        report["settings"] = print_times(
            f"settings, {args.rounds} interleaved rounds", times, cpu, next(iter(configs))
        )
        for backend in configs.values():
            backend.close()
    if args.benchmark_app_s:
        for path in [model] + ([int8] if has_int8 else []):
            result = benchmark_app(path, args.benchmark_app_s, shape)
            print(f"\nbenchmark_app {path.name} (-hint latency, load {load()}): {result}")
            report[f"benchmark_app_{path.name}"] = result
    print(f"\nload average at the end: {load()}")
    report["load_average"] = finish_load(load_watch)
    if args.json:
        write_json_atomic(args.json, report)


if __name__ == "__main__":
    main()
