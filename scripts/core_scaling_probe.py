"""Is the second core there right now? A BF16 (AMX / AVX512_BF16) GEMM on 1 thread vs all.

On the shared 2-vCPU VMs the two vCPUs sometimes run on two physical cores and sometimes
share one (issue 25: a BF16 GEMM on two threads ran 1.96x one thread at one moment and
0.7-1.1x for an hour after), and every two-thread latency moves with it. Run this beside a
benchmark and print the ratio with its table.

    python scripts/core_scaling_probe.py [--seconds 1.5] [--size 1024] [--repeat 1]

Needs torch (the desktop side); prints one line per repeat.
"""

from __future__ import annotations

import argparse
import os
import time


def rate(threads: int, size: int, seconds: float) -> float:
    """BF16 GEMM TFLOP/s on ``threads`` threads over about ``seconds``."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(size, size).bfloat16(), torch.randn(size, size).bfloat16()
    a @ b
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        a @ b
        n += 1
    return 2.0 * size**3 * n / (time.perf_counter() - start) / 1e12


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.5)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    for _ in range(args.repeat):
        one = rate(1, args.size, args.seconds)
        alls = rate(cores, args.size, args.seconds)
        print(f"BF16 GEMM {args.size}^3: 1 thread {one:.2f} TFLOP/s, {cores} threads {alls:.2f} "
              f"TFLOP/s -> scaling {alls / one:.2f}x of {cores}x (load "
              f"{os.getloadavg()[0]:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
