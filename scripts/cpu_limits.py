"""This CPU's arithmetic limits, measured: clock, FP32 FMA (AVX2, AVX-512), INT8 (AVX2, VNNI).

Compiles a small C kernel (``cc -O2 -mavx2 -mfma``, plus ``-mavx512f`` / ``-mavxvnni`` when
the CPU has them)
and times, per core and on all cores at once:

* the clock: a chain of dependent 64-bit integer multiplies (``imul``: 3 cycles of latency
  on every x86 core since Nehalem and Zen; 10 per loop iteration). Not a chain of ``add $1``:
  newer cores fold such adds at rename, several per cycle (a 2.6 GHz Xeon "ran" at 16 GHz). A
  clock outside :data:`PLAUSIBLE_GHZ` is printed as n/a, and so is the per-cycle column;
* FP32: 12 independent ``vfmadd231ps ymm`` chains (8 lanes x 2 FLOP each), and where
  ``/proc/cpuinfo`` lists ``avx512f`` the same on ``zmm`` (16 lanes, ``-mavx512f``): a core
  with two 512-bit FMA units does twice the 256-bit rate, and the FP32 peak (and the floor
  below) is the higher of the two;
* INT8 on AVX2 without VNNI (what oneDNN's ``jit_avx2`` / ``brgconv_avx2`` int8 kernels
  do): ``vpmaddubsw`` (u8 x s8 -> s16 pairs) + ``vpmaddwd`` with ones (-> s32) +
  ``vpaddd``: 32 multiply-accumulates per three instructions;
* INT8 with ``vpdpbusd`` (AVX-VNNI), only where ``lscpu`` lists ``avx_vnni``.

Each figure is the best of many short repetitions (the machine may be shared: the best
one is what the core does when it is ours) and the median beside it. Then the model's
floor: its GFLOPs over the all-core FP32 peak, and for INT8 the quantized share over the
INT8 peak plus the layers kept in FP32 over the FP32 peak.

    python scripts/cpu_limits.py [--gflops 31.7] [--fp32-share-of-int8 0.25] [--json F]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

C_SOURCE = r"""
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec; }

/* returns work units per second; unit: cycles (clock), FLOP (fp32), int8 MAC x2 (int8) */
/* x = x * x, ten times: each multiply waits for the one before (3 cycles of latency); an odd
   x stays odd, so the check below never prints */
static double clock_rate(long n) {
  uint64_t x = 3; double t = now();
  for (long i = 0; i < n; i++)
    __asm__ volatile("imul %0,%0\n\timul %0,%0\n\timul %0,%0\n\timul %0,%0\n\t"
                     "imul %0,%0\n\timul %0,%0\n\timul %0,%0\n\timul %0,%0\n\t"
                     "imul %0,%0\n\timul %0,%0" : "+r"(x));
  t = now() - t; if (x == 42) puts("");
  return 3.0 * 10.0 * n / t;
}

static double fp32_rate(long n) {
  __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-6f);
  __m256 c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a,
         c10 = a, c11 = a;
  double t = now();
  for (long i = 0; i < n; i++) {
    c0 = _mm256_fmadd_ps(c0, a, b); c1 = _mm256_fmadd_ps(c1, a, b);
    c2 = _mm256_fmadd_ps(c2, a, b); c3 = _mm256_fmadd_ps(c3, a, b);
    c4 = _mm256_fmadd_ps(c4, a, b); c5 = _mm256_fmadd_ps(c5, a, b);
    c6 = _mm256_fmadd_ps(c6, a, b); c7 = _mm256_fmadd_ps(c7, a, b);
    c8 = _mm256_fmadd_ps(c8, a, b); c9 = _mm256_fmadd_ps(c9, a, b);
    c10 = _mm256_fmadd_ps(c10, a, b); c11 = _mm256_fmadd_ps(c11, a, b);
    /* the chains are equal: without this the compiler merges them into one */
    __asm__ volatile("" : "+x"(c0), "+x"(c1), "+x"(c2), "+x"(c3), "+x"(c4), "+x"(c5),
                     "+x"(c6), "+x"(c7), "+x"(c8), "+x"(c9), "+x"(c10), "+x"(c11));
  }
  t = now() - t;
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
             _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
  float o[8]; _mm256_storeu_ps(o, s); if (o[0] == 42.0f) puts("");
  return 12.0 * 16.0 * n / t;
}

#ifdef HAVE_AVX512
/* the same with 512-bit FMAs (16 lanes x 2 FLOP each): on cores with two 512-bit FMA units
   (most Xeons since Skylake-SP) twice the 256-bit rate, which is what oneDNN's avx512 and
   AMX-era FP32 kernels use */
static double fp32_avx512_rate(long n) {
  __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-6f);
  __m512 c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a,
         c10 = a, c11 = a;
  double t = now();
  for (long i = 0; i < n; i++) {
    c0 = _mm512_fmadd_ps(c0, a, b); c1 = _mm512_fmadd_ps(c1, a, b);
    c2 = _mm512_fmadd_ps(c2, a, b); c3 = _mm512_fmadd_ps(c3, a, b);
    c4 = _mm512_fmadd_ps(c4, a, b); c5 = _mm512_fmadd_ps(c5, a, b);
    c6 = _mm512_fmadd_ps(c6, a, b); c7 = _mm512_fmadd_ps(c7, a, b);
    c8 = _mm512_fmadd_ps(c8, a, b); c9 = _mm512_fmadd_ps(c9, a, b);
    c10 = _mm512_fmadd_ps(c10, a, b); c11 = _mm512_fmadd_ps(c11, a, b);
    __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4), "+v"(c5),
                     "+v"(c6), "+v"(c7), "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11));
  }
  t = now() - t;
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
             _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)));
  float o[16]; _mm512_storeu_ps(o, s); if (o[0] == 42.0f) puts("");
  return 12.0 * 32.0 * n / t;
}
#endif

#define MADD(acc, u, s) \
  acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), ones))
static double int8_avx2_rate(long n) {
  __m256i ones = _mm256_set1_epi16(1);
  __m256i u0 = _mm256_set1_epi8(3), u1 = _mm256_set1_epi8(5), u2 = _mm256_set1_epi8(9),
          u3 = _mm256_set1_epi8(11), s0 = _mm256_set1_epi8(-2), s1 = _mm256_set1_epi8(7);
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
          a7 = a0;
  double t = now();
  for (long i = 0; i < n; i++) {
    /* eight different (u, s) pairs, re-read every iteration: nothing to merge or hoist */
    __asm__ volatile("" : "+x"(u0), "+x"(u1), "+x"(u2), "+x"(u3), "+x"(s0), "+x"(s1));
    MADD(a0, u0, s0); MADD(a1, u1, s0); MADD(a2, u2, s0); MADD(a3, u3, s0);
    MADD(a4, u0, s1); MADD(a5, u1, s1); MADD(a6, u2, s1); MADD(a7, u3, s1);
    __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5),
                     "+x"(a6), "+x"(a7));
  }
  t = now() - t;
  __m256i s = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3)),
              _mm256_add_epi32(_mm256_add_epi32(a4, a5), _mm256_add_epi32(a6, a7)));
  int o[8]; _mm256_storeu_si256((__m256i *)o, s); if (o[0] == 42) puts("");
  return 8.0 * 32.0 * 2.0 * n / t;
}

#ifdef HAVE_VNNI
#define DP(acc, u, s) acc = _mm256_dpbusd_avx_epi32(acc, u, s)
static double int8_vnni_rate(long n) {
  __m256i u0 = _mm256_set1_epi8(3), s0 = _mm256_set1_epi8(-2);
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
          a7 = a0, a8 = a0, a9 = a0;
  double t = now();
  for (long i = 0; i < n; i++) {
    DP(a0, u0, s0); DP(a1, u0, s0); DP(a2, u0, s0); DP(a3, u0, s0); DP(a4, u0, s0);
    DP(a5, u0, s0); DP(a6, u0, s0); DP(a7, u0, s0); DP(a8, u0, s0); DP(a9, u0, s0);
    __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5),
                     "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9), "+x"(u0), "+x"(s0));
  }
  t = now() - t;
  __m256i s = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3)),
              _mm256_add_epi32(_mm256_add_epi32(a4, a5), _mm256_add_epi32(a6, a7)));
  s = _mm256_add_epi32(s, _mm256_add_epi32(a8, a9));
  int o[8]; _mm256_storeu_si256((__m256i *)o, s); if (o[0] == 42) puts("");
  return 10.0 * 32.0 * 2.0 * n / t;
}
#endif

typedef double (*kernel_t)(long);
struct job { kernel_t k; long n; int reps; double best, median; };
static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
/* many short runs: on a shared machine the best ones ran without being preempted */
static void *run_job(void *p) {
  struct job *j = p; double *r = malloc(sizeof(double) * j->reps);
  for (int i = 0; i < j->reps; i++) r[i] = j->k(j->n);
  qsort(r, j->reps, sizeof(double), cmp);
  j->best = r[j->reps - 1]; j->median = r[j->reps / 2]; free(r); return NULL; }

int main(int argc, char **argv) {
  const char *which = argv[1]; long n = atol(argv[2]); int threads = atoi(argv[3]);
  int reps = atoi(argv[4]);
  kernel_t k = !strcmp(which, "clock") ? clock_rate : !strcmp(which, "fp32") ? fp32_rate
#ifdef HAVE_AVX512
             : !strcmp(which, "fp32_avx512") ? fp32_avx512_rate
#endif
#ifdef HAVE_VNNI
             : !strcmp(which, "int8_vnni") ? int8_vnni_rate
#endif
             : int8_avx2_rate;
  pthread_t th[64]; struct job jobs[64];
  for (int i = 0; i < threads; i++) { jobs[i].k = k; jobs[i].n = n; jobs[i].reps = reps;
    pthread_create(&th[i], NULL, run_job, &jobs[i]); }
  double best = 0, median = 0;
  for (int i = 0; i < threads; i++) { pthread_join(th[i], NULL); best += jobs[i].best;
    median += jobs[i].median; }
  printf("%.6e %.6e\n", best, median);
  return 0;
}
"""

#: Loop iterations per kernel for about 1 ms per run at ~3 GHz (shorter than a scheduler
#: time slice, so that some runs are not preempted on a loaded machine).
ITERATIONS = {
    "clock": 100_000,
    "fp32": 500_000,
    "fp32_avx512": 500_000,
    "int8_avx2": 250_000,
    "int8_vnni": 500_000,
}
#: The FP32 kernels, widest last: the FP32 peak is the best 1-core rate of those that ran.
FP32_KERNELS = ("fp32", "fp32_avx512")
#: Clock rates (GHz) a core can run at; a measured rate outside is no clock (a kernel the
#: core ran faster than its dependency chain allows, a broken timer): reported as None / n/a.
PLAUSIBLE_GHZ = (0.3, 6.5)


def clock_ghz(cycles_per_s: float) -> float | None:
    """The clock rate in GHz, or ``None`` outside :data:`PLAUSIBLE_GHZ`."""
    ghz = cycles_per_s / 1e9
    return ghz if PLAUSIBLE_GHZ[0] <= ghz <= PLAUSIBLE_GHZ[1] else None


def nominal_mhz() -> float | None:
    """``cpu MHz`` of ``/proc/cpuinfo`` (the first core; a VM often reports the base clock)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return float(line.split(":", 1)[1])
    except (OSError, ValueError):
        pass
    return None


def cpu_line() -> str:
    """``lscpu`` model name, the ISA flags that matter, core count."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or platform.machine()
    fields = dict(
        (k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in out.splitlines())
    )
    flags = set(fields.get("Flags", "").split())
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16",
              "amx_int8")  # fmt: skip
    have = [f for f in wanted if f in flags]
    missing = [f for f in wanted if f not in flags]
    return (
        f"{fields.get('Model name', '?')} (family {fields.get('CPU family', '?')} model "
        f"{fields.get('Model', '?')}), {os.cpu_count()} vCPUs; has {' '.join(have)}; "
        f"lacks {' '.join(missing)}"
    )


def per_cycle(rate: float, ghz: float | None) -> str:
    """Work units per clock cycle, ``n/a`` without a clock."""
    return "n/a" if ghz is None else f"{rate / 1e9 / ghz:.1f}"


def _build(tmp: Path, vnni: bool, avx512: bool = False) -> Path:
    """The kernels, compiled: AVX2 + FMA always; ``vnni``: the AVX-VNNI INT8 kernel;
    ``avx512``: the 512-bit FP32 kernel (``-mavx512f``; only where the CPU has AVX-512F)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        sys.exit("no C compiler (cc / gcc) on PATH: apt-get install gcc")
    src, exe = tmp / "limits.c", tmp / "limits"
    src.write_text(C_SOURCE)
    flags = ["-O2", "-mavx2", "-mfma", "-pthread"] + (["-mavxvnni", "-DHAVE_VNNI"] if vnni else [])
    flags += ["-mavx512f", "-DHAVE_AVX512"] if avx512 else []
    subprocess.run([cc, *flags, str(src), "-o", str(exe)], check=True)
    return exe


def has_flag(cpuinfo: str, flag: str) -> bool:
    """Whether ``/proc/cpuinfo``'s text lists the ISA flag ``flag`` (a whole word)."""
    return bool(re.search(rf"\b{re.escape(flag)}\b", cpuinfo))


def fp32_peak(rates: dict[str, dict[str, float]], cores: int) -> tuple[float, str]:
    """(``cores`` x the best 1-core FP32 rate, the kernel that gave it) over
    :data:`FP32_KERNELS` that ran (``rates`` as :func:`main` collects them): the 256-bit
    kernel alone halves the peak of a core with two 512-bit FMA units."""
    ran = [k for k in FP32_KERNELS if f"{k}_x1" in rates]
    best = max(ran, key=lambda k: rates[f"{k}_x1"]["best"])
    return cores * rates[f"{best}_x1"]["best"], best


def _rates(exe: Path, kernel: str, threads: int, reps: int) -> tuple[float, float]:
    """(best, median) rate summed over ``threads`` threads, each running ``reps`` short runs."""
    cmd = [str(exe), kernel, str(ITERATIONS[kernel]), str(threads), str(reps)]
    best, median = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
    return float(best), float(median)


def onednn_gemm_rates(
    cores: int, n: int = 2048, dtypes: tuple[str, ...] = ("fp32", "bf16")
) -> dict[str, float]:
    """FP32 and / or BF16 matrix products through torch (oneDNN: AMX / AVX512_BF16 where
    there are), on 1 and all cores, in FLOP/s (best of 10), keyed ``"bf16_x2"`` etc.; empty
    when torch is not installed (the desktop side has it, a kiosk need not). The C kernels
    above cannot reach AMX tiles; this is the rate a well-shaped convolution can hope for.
    """
    try:
        import torch
    except ImportError:
        return {}
    rates: dict[str, float] = {}
    threads_before = torch.get_num_threads()
    try:
        for threads in sorted({1, cores}):
            torch.set_num_threads(threads)
            for name in dtypes:
                dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[name]
                a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
                for _ in range(2):
                    a @ b
                best = float("inf")
                for _ in range(10):
                    t0 = time.perf_counter()
                    a @ b
                    best = min(best, time.perf_counter() - t0)
                rates[f"{name}_x{threads}"] = 2.0 * n**3 / best
    finally:
        torch.set_num_threads(threads_before)
    return rates


def finish_load(load: Any) -> dict[str, Any]:
    """Stop ``load`` (a :class:`wds_edge.bench.environment.LoadWatch` started before the
    measurements), print its busy-machine warning when the machine was busy, and return its
    dict for the JSON report (the scripts beside this one use it too)."""
    load.stop()
    if load.warning():
        print(f"# warning: {load.warning()}")
    return load.to_dict()


def main(argv: list[str] | None = None) -> None:
    from wds_edge.bench.environment import LoadWatch
    from wds_edge.errors import OutputError
    from wds_edge.io import ensure_writable_file, write_json_atomic

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gflops", type=float, default=31.7, help="model GFLOPs per image")
    ap.add_argument("--fp32-share-of-int8", type=float, default=0.25,
                    help="share of the model's FLOPs an INT8 model keeps in FP32")  # fmt: skip
    ap.add_argument("--reps", type=int, default=2000, help="short runs per kernel")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if args.reps < 1:
        ap.error(f"--reps must be >= 1, got {args.reps}")
    if args.json is not None:
        try:
            ensure_writable_file(args.json, "JSON report")  # before minutes of kernels
        except OutputError as exc:
            ap.error(str(exc))
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    vnni, avx512 = has_flag(flags, "avx_vnni"), has_flag(flags, "avx512f")
    print(f"CPU: {cpu_line()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    load = LoadWatch()
    cores = os.cpu_count() or 1
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        exe = _build(Path(tmp), vnni, avx512)
        kernels = ["clock", "fp32", *(["fp32_avx512"] if avx512 else []), "int8_avx2"] + (
            ["int8_vnni"] if vnni else []
        )
        for kernel in kernels:
            for threads in (1, cores):
                best, median = _rates(exe, kernel, threads, args.reps)
                out[f"{kernel}_x{threads}"] = {"best": best, "median": median}
    ghz = clock_ghz(out["clock_x1"]["best"])
    mhz = nominal_mhz()
    listed = f" (/proc/cpuinfo: {mhz:.0f} MHz)" if mhz else ""
    if ghz is None:
        print(
            f"clock (dependent multiplies, 1 core): n/a: measured "
            f"{out['clock_x1']['best'] / 1e9:.2f} GHz, outside {PLAUSIBLE_GHZ} GHz{listed}"
        )
    else:
        print(f"clock (dependent multiplies, 1 core): {ghz:.2f} GHz best, "
              f"{out['clock_x1']['median'] / 1e9:.2f} median{listed}")  # fmt: skip
    print("| kernel | 1 core best | 1 core median | per cycle | all cores best | all median |")
    print("|---|---|---|---|---|---|")
    for kernel in kernels[1:]:
        one, alls = out[f"{kernel}_x1"], out[f"{kernel}_x{cores}"]
        print(f"| {kernel} | {one['best'] / 1e9:.1f} G/s | {one['median'] / 1e9:.1f} G/s | "
              f"{per_cycle(one['best'], ghz)} | {alls['best'] / 1e9:.1f} G/s | "
              f"{alls['median'] / 1e9:.1f} G/s |")  # fmt: skip
    fp32_peak_flop_s, fp32_kernel = fp32_peak(out, cores)
    int8_kernel = "int8_vnni" if vnni else "int8_avx2"
    int8_peak = cores * out[f"{int8_kernel}_x1"]["best"]
    share = args.fp32_share_of_int8
    fp32_ms = args.gflops * 1e9 / fp32_peak_flop_s * 1e3
    int8_ms = (
        args.gflops * (1 - share) / int8_peak + args.gflops * share / fp32_peak_flop_s
    ) * 1e12
    print(f"{cores} cores x the best 1-core rate: FP32 ({fp32_kernel}) "
          f"{fp32_peak_flop_s / 1e9:.0f} GFLOP/s, INT8 ({int8_kernel}) "
          f"{int8_peak / 1e9:.0f} GOP/s")  # fmt: skip
    print(f"model floor: {args.gflops} GFLOP in FP32 -> {fp32_ms:.1f} ms; INT8 with "
          f"{share:.0%} of the FLOPs kept FP32 -> {int8_ms:.1f} ms (arithmetic only)")  # fmt: skip
    gemm = onednn_gemm_rates(cores)
    if gemm:
        print("oneDNN GEMM through torch (2048^3, best of 10; the library's practical peak):")
        for key, rate in gemm.items():
            print(f"  {key}: {rate / 1e12:.2f} TFLOP/s")
        bf16 = gemm.get(f"bf16_x{cores}")
        if bf16:
            print(f"model floor in BF16 at that rate: {args.gflops / (bf16 / 1e9) * 1e3:.1f} ms")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    load_report = finish_load(load)
    if args.json:
        report = {"cpu": cpu_line(), "ghz": ghz, "rates": out, "load_average": load_report,
                  "fp32_peak_flop_s": fp32_peak_flop_s, "fp32_kernel": fp32_kernel,
                  "int8_peak_op_s": int8_peak, "model_fp32_floor_ms": fp32_ms,
                  "model_int8_floor_ms": int8_ms, "onednn_gemm_flop_s": gemm}  # fmt: skip
        write_json_atomic(args.json, report)


if __name__ == "__main__":
    main()
