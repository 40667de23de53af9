"""Several models on one OpenVINO precision, interleaved in one process, with paired differences.

``wds-edge bench compare`` interleaves backends for one model, or models on ONNX Runtime /
TensorRT; this script interleaves *models* on OpenVINO (issue 25: the bundled base 16, a
base 8 and the ``space_to_depth`` stem in BF16 on an AMX Xeon). One call of each model per
round, the order rotated; the first round warms up. Per model: p50, min, p90, and the median
of its per-round difference to the first model (back-to-back calls, so a shared VM's slow
stretches hit both sides of a difference alike). The same noise crop for every model (a
dense CNN's latency does not depend on pixels).

    python scripts/models_speed_ab.py --model base16=wds_edge/model/weights/wds_unet_default.onnx \
        --model stem16=runs/s25_stem16/wds_unet_default.onnx [--precision bf16] [--rounds 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from cpu_limits import cpu_line  # noqa: E402

from wds_edge.runtime.openvino import OpenVinoBackend  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", required=True, metavar="NAME=PATH")
    ap.add_argument("--precision", default="bf16")
    ap.add_argument("--rounds", type=int, default=60)
    args = ap.parse_args()
    paths: dict[str, Path] = {}
    for item in args.model:
        name, sep, path = item.partition("=")
        if not sep or not Path(path).is_file():
            raise SystemExit(f"--model wants NAME=PATH of an existing .onnx, got {item!r}")
        paths[name] = Path(path)
    backends = {n: OpenVinoBackend(p, precision=args.precision) for n, p in paths.items()}
    sizes = {b.metadata.input_size_hw[0] for b in backends.values()}
    if len(sizes) != 1:
        raise SystemExit(f"the models take different input sizes {sorted(sizes)}")
    rng = np.random.default_rng(0)
    side = sizes.pop()
    x = (rng.random((1, 3, side, side), dtype=np.float32) * 255.0).astype(np.float32)
    print(f"CPU: {cpu_line()}\nload average before: {os.getloadavg()[0]:.1f}")
    names = list(backends)
    times: dict[str, list[float]] = {n: [] for n in names}
    for i in range(args.rounds + 1):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            t0 = time.perf_counter()
            backends[name].infer(x)
            if i:
                times[name].append((time.perf_counter() - t0) * 1000.0)
    ref = times[names[0]]
    print(f"\n{args.rounds} interleaved rounds, OpenVINO {args.precision.upper()}, load average "
          f"after {os.getloadavg()[0]:.1f}\n")  # fmt: skip
    print("| model | device | GFLOP | p50 ms | min ms | p90 ms | paired difference to the "
          "first, median ms |\n|---|---|---|---|---|---|---|")  # fmt: skip
    for name in names:
        ts, meta = sorted(times[name]), backends[name].metadata
        gflop = meta.architecture.gflops if meta.architecture else None
        paired = statistics.median(a - b for a, b in zip(times[name], ref, strict=True))
        print(f"| {name} | {backends[name].device} | {gflop} | {statistics.median(ts):.1f} | "
              f"{ts[0]:.1f} | {ts[int(0.9 * (len(ts) - 1))]:.1f} | {paired:+.1f} |")  # fmt: skip
    for backend in backends.values():
        backend.close()


if __name__ == "__main__":
    main()
