"""Is the second core there right now? A BF16 (AMX / AVX512_BF16) GEMM on 1 thread vs all.

On the shared 2-vCPU VMs the two vCPUs sometimes run on two physical cores and sometimes
share one (issue 25: a BF16 GEMM on two threads ran 1.96x one thread at one moment and
0.7-1.1x for an hour after), and every two-thread latency moves with it. Run this beside a
benchmark and print the ratio with its table.

    python scripts/core_scaling_probe.py [--size 1024] [--repeat 1]

Needs torch (the desktop side); prints one line per repeat.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_limits import finish_load, onednn_gemm_rates  # noqa: E402

from wds_edge.bench.environment import (  # noqa: E402
    LoadWatch,
    environment_report,
    format_environment,
)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    if args.size < 1 or args.repeat < 1:
        ap.error(f"--size and --repeat must be >= 1, got {args.size}, {args.repeat}")
    print(f"# {format_environment(environment_report())}")
    cores = os.cpu_count() or 1
    load = LoadWatch()
    for _ in range(args.repeat):
        rates = onednn_gemm_rates(cores, args.size, ("bf16",))
        if not rates:
            raise SystemExit("error: needs torch (the desktop side: scripts/setup.sh dev)")
        one, alls = rates["bf16_x1"] / 1e12, rates[f"bf16_x{cores}"] / 1e12
        print(f"BF16 GEMM {args.size}^3: 1 thread {one:.2f} TFLOP/s, {cores} threads {alls:.2f} "
              f"TFLOP/s -> scaling {alls / one:.2f}x of {cores}x (load "
              f"{os.getloadavg()[0]:.1f})")  # fmt: skip
    finish_load(load)


if __name__ == "__main__":
    main()
