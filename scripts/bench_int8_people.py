"""INT8 vs FP32 on this CPU, interleaved, with mask IoU on held-out people's crops (issue 25).

Configurations (``label=backend:precision:path``): e.g. ``ort-fp32=onnxruntime:fp32:m.onnx``,
``ov-int8=openvino:int8:m.int8.xml``, ``ort-qdq=onnxruntime:fp32:m_qdq.onnx``. The first is the
reference. Every configuration runs every crop of ``--held-out`` once (mask IoU vs the
reference at the model's threshold: mean, worst, and the gate's verdict), then ``--rounds``
interleaved timing rounds on one crop, the order rotated each round, reporting wall and
process-CPU milliseconds per call (on a shared machine the CPU time is what a call costs;
the wall time also holds the time the threads waited for a core). ONNX Runtime runs
without spin-waiting. The CPU and the load average are printed with the table.

    python scripts/bench_int8_people.py --held-out DIR --config ort-fp32=onnxruntime:fp32:M \\
        --config ov-int8=openvino:int8:M.int8.xml [--rounds 12] [--json F]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from cpu_limits import cpu_line  # noqa: E402

from wds_edge.errors import OutputError  # noqa: E402
from wds_edge.io import ensure_writable_file, write_json_atomic  # noqa: E402
from wds_edge.model.preprocessing import model_input  # noqa: E402
from wds_edge.runtime.gate import VERDICT_CELLS, accuracy_gate  # noqa: E402
from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend  # noqa: E402
from wds_edge.runtime.openvino import OPENVINO_PRECISIONS, OpenVinoBackend  # noqa: E402
from wds_edge_calibration.dataset import load_calibration_set  # noqa: E402

#: ``--config`` backends and the precisions each takes (ONNX Runtime runs what the file
#: holds: FP32, or the INT8 of a Q/DQ model, both given as ``fp32``).
BACKENDS = {"onnxruntime": ("fp32",), "openvino": OPENVINO_PRECISIONS}


def parse_config(spec: str) -> tuple[str, str, str, Path]:
    """``LABEL=BACKEND:PRECISION:PATH`` -> (label, backend, precision, path).

    Raises:
        ValueError: another form, an unknown backend or precision, no such file; the
            message says what was expected.
    """
    form = "LABEL=BACKEND:PRECISION:PATH, e.g. ort-fp32=onnxruntime:fp32:m.onnx"
    label, sep, rest = spec.partition("=")
    parts = rest.split(":", 2)
    if not sep or not label or len(parts) != 3 or not all(parts):
        raise ValueError(f"--config {spec!r}: expected {form}")
    backend, precision, path = parts
    if backend not in BACKENDS:
        raise ValueError(
            f"--config {spec!r}: backend {backend!r} is not one of {', '.join(BACKENDS)}"
        )
    if precision not in BACKENDS[backend]:
        raise ValueError(
            f"--config {spec!r}: {backend} takes precision {' / '.join(BACKENDS[backend])}, "
            f"not {precision!r}"
        )
    if not Path(path).is_file():
        raise ValueError(f"--config {spec!r}: {path}: no such file")
    return label, backend, precision, Path(path)


def load(label: str, backend: str, precision: str, path: Path) -> tuple[str, Any]:
    if backend == "onnxruntime":
        return label, OnnxRuntimeBackend(path, providers=["CPUExecutionProvider"], spin_wait=False)
    return label, OpenVinoBackend(path, precision=precision)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--held-out", type=Path, required=True)
    ap.add_argument("--config", action="append", required=True)
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    try:
        configs = [parse_config(spec) for spec in args.config]
    except ValueError as exc:
        ap.error(str(exc))
    labels = [c[0] for c in configs]
    if len(set(labels)) != len(labels):
        ap.error(f"--config labels must differ, got {labels}")
    if not args.held_out.is_dir():
        ap.error(f"--held-out {args.held_out}: no such folder (a calibration-format crop folder)")
    if args.rounds < 1:
        ap.error(f"--rounds must be >= 1, got {args.rounds}")
    if args.json is not None:
        try:
            ensure_writable_file(args.json, "JSON report")  # before the run, not after it
        except OutputError as exc:
            ap.error(str(exc))
    print(f"CPU: {cpu_line()}")
    held = load_calibration_set(args.held_out)
    backends = dict(load(*config) for config in configs)
    ref_label, ref = next(iter(backends.items()))
    meta = ref.metadata
    inputs = [model_input(c, meta.preprocessing) for c in held.crops()]
    print(f"held out: {len(inputs)} crops of {', '.join(held.manifest.people) or '?'}; "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    refs = [ref.infer(x) for x in inputs]
    gates = {}
    for label, backend in backends.items():
        outs = iter([backend.infer(x) for x in inputs] if backend is not ref else refs)
        it = iter(refs)
        precision = "int8" if "int8" in label or "qdq" in label else "fp32"
        gates[label] = accuracy_gate(
            lambda _x, i=it: next(i), lambda _x, o=outs: next(o), inputs,
            precision=precision, threshold=meta.threshold,
        )  # fmt: skip
    x = inputs[0]
    names = list(backends)
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    load_before = os.getloadavg()[0]
    for i in range(args.rounds + 1):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            t0, c0 = time.perf_counter(), time.process_time()
            backends[name].infer(x)
            if i:  # round 0 warms up
                wall[name].append((time.perf_counter() - t0) * 1000.0)
                cpu[name].append((time.process_time() - c0) * 1000.0)
    load_after = os.getloadavg()[0]
    base_cpu = statistics.median(cpu[ref_label])
    print(f"\n{args.rounds} interleaved rounds, load {load_before:.1f} -> {load_after:.1f}\n")
    print("| configuration | device | wall p50 ms | wall min ms | CPU ms p50 | CPU-time speed-up | "
          "mean IoU | worst IoU | gate |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    for name in names:
        g = gates[name]
        c50 = statistics.median(cpu[name])
        row = {"config": name, "device": backends[name].device,
               "wall_p50_ms": statistics.median(wall[name]), "wall_min_ms": min(wall[name]),
               "cpu_p50_ms": c50, "speedup_cpu": base_cpu / c50, "mean_iou": g.mean_iou,
               "min_iou": g.min_iou, "passed": g.passed, "gate": g.verdict}  # fmt: skip
        rows.append(row)
        print(f"| {name} | {row['device']} | {row['wall_p50_ms']:.0f} | {row['wall_min_ms']:.0f} | "
              f"{c50:.0f} | {row['speedup_cpu']:.2f}x | {g.mean_iou:.4f} | {g.min_iou:.4f} | "
              f"{VERDICT_CELLS[g.verdict]} |")  # fmt: skip
    for backend in backends.values():
        backend.close()
    if args.json:
        write_json_atomic(args.json, {"cpu": cpu_line(), "crops": len(inputs),
                                      "people": held.manifest.people, "rows": rows,
                                      "load": [load_before, load_after]})  # fmt: skip


if __name__ == "__main__":
    main()
