"""What the benchmark ran on: CPU (model and the instruction sets that decide the speed),
the load on it, GPU and driver, library versions, the board (a Jetson with its power mode).

Every bench report embeds :func:`environment_report` and a :class:`LoadWatch` (the load
average at the start and the end of the run): benchmarks on a shared machine mislead
quietly (issue 23: under load 12 base 32 came out faster than base 16), so every table
names the CPU and the load beside its figures and says in words when the machine was busy.
Library versions come from package metadata (``importlib.metadata``), so torch and
tensorrt are *not* imported to learn their versions.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

__all__ = [
    "CPU_FLAGS",
    "LoadWatch",
    "cpu_flags",
    "environment_report",
    "format_environment",
    "load_average",
]

#: ``/proc/cpuinfo`` flags that decide CPU inference speed (reported when present).
CPU_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_bf16",
    "amx_int8",
    "avx512_fp16",
    "asimd",
    "sve",
)

#: The device tree's board name (ARM boards); a module constant so tests can point it
#: at another file.
DEVICE_TREE_MODEL = Path("/proc/device-tree/model")
#: L4T's release file: present on every Jetson (JetPack), whatever its device-tree name.
NV_TEGRA_RELEASE = Path("/etc/nv_tegra_release")

_PACKAGES = (
    "wds-edge",
    "numpy",
    "onnxruntime",
    "onnxruntime-gpu",
    "openvino",
    "nncf",
    "opencv-contrib-python",
    "opencv-python",
    "mediapipe",
    "tensorrt",
    "torch",
    "onnx",
)


def _run(cmd: list[str], timeout_s: float = 5.0) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """The :data:`CPU_FLAGS` this CPU has (``/proc/cpuinfo``; empty where unreadable)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("flags", "features")):
                have = set(line.split(":", 1)[1].split())
                return [f for f in CPU_FLAGS if f in have]
    except OSError:
        pass
    return []


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (``None`` where the OS has none)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


class LoadWatch:
    """The 1-minute load average at the start and the end of a benchmark, and whether the
    machine was busy.

    Busy: more than half the usable cores were taken before the run started, or more
    than the benchmark's own threads (``usable cores``) plus half a core at its end.
    """

    def __init__(self) -> None:
        self.cores = _cpu_count_usable()
        self.before = _load1()
        self.after: float | None = None

    def stop(self) -> LoadWatch:
        """Read the load at the end of the run (returns ``self``)."""
        self.after = _load1()
        return self

    @property
    def busy(self) -> bool:
        after = self.after if self.after is not None else 0.0
        return self.before > 0.5 * self.cores or after > self.cores + 0.5

    def to_dict(self) -> dict[str, Any]:
        """``before``, ``after`` (1-minute load averages), ``usable_cores``, ``busy``."""
        return {
            "before": self.before,
            "after": self.after,
            "usable_cores": self.cores,
            "busy": self.busy,
        }

    def describe(self) -> str:
        """``load average 9.4 at the start, 8.1 at the end (2 usable cores)``."""
        end = "-" if self.after is None else f"{self.after:.1f}"
        return (
            f"load average {self.before:.1f} at the start, {end} at the end "
            f"({self.cores} usable cores)"
        )

    def warning(self) -> str | None:
        """A sentence for the console when the machine was busy, else ``None``."""
        if not self.busy:
            return None
        return (
            f"the machine was busy: load average {self.before:.1f} before and "
            f"{self.after or 0.0:.1f} after the run on {self.cores} usable cores. Other work "
            "shared the CPU, so these figures, and even their order, may be wrong; run again "
            "on an idle machine before deciding anything on them"
        )


def _load1() -> float:
    load = load_average()
    return load[0] if load else 0.0


def _cpu_count_usable() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _versions() -> dict[str, str]:
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def _ort_providers() -> list[str]:
    try:
        import onnxruntime as ort

        return list(ort.get_available_providers())
    except ImportError:
        return []


def _gpus() -> list[dict[str, str]]:
    out = _run(
        ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]
    )
    gpus = []
    for line in (out or "").splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            gpus.append({"name": parts[0], "driver": parts[1], "memory": parts[2]})
    return gpus


def _board_model() -> str | None:
    """The board's name from the device tree (ARM boards: Jetson, Raspberry Pi, Rockchip,
    ...), None where there is none (a PC)."""
    try:
        text = DEVICE_TREE_MODEL.read_bytes().rstrip(b"\x00").decode(errors="replace").strip()
    except OSError:
        return None
    return text or None


def _power_mode(text: str) -> str:
    """``nvpmodel -q``'s answer (``NV Power Mode: MAXN`` and the mode number on the next
    line) as ``MAXN (mode 0)``; other text as its lines joined."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    name = next(
        (ln.split(":", 1)[1].strip() for ln in lines if ln.lower().startswith("nv power mode")),
        "",
    )
    number = next((ln for ln in lines if ln.isdigit()), "")
    if name:
        return f"{name} (mode {number})" if number else name
    return " / ".join(lines)


def _jetson(board: str | None) -> dict[str, str] | None:
    """A Jetson's model and power mode (``nvpmodel -q``), or None on any other machine.

    A Jetson: the device tree's model names NVIDIA or Jetson, or L4T's release file
    (:data:`NV_TEGRA_RELEASE`) exists. Other boards with a device tree (a Raspberry Pi, a
    Rockchip board) are not Jetsons: :func:`environment_report` names them as ``board``.
    """
    named = board is not None and any(w in board.lower() for w in ("nvidia", "jetson"))
    if not named and not NV_TEGRA_RELEASE.exists():
        return None
    info: dict[str, str] = {"model": board or "Jetson"}
    power = _run(["nvpmodel", "-q"])
    if power:
        info["power_mode"] = _power_mode(power)
    return info


def _jetson_text(jetson: dict[str, str]) -> str:
    """``Jetson <model>, power mode <mode>`` for the caption (the model said once)."""
    model = jetson.get("model") or "Jetson"
    text = model if "jetson" in model.lower() else f"Jetson {model}"
    if jetson.get("power_mode"):
        text += f", power mode {jetson['power_mode']}"
    return text


def environment_report() -> dict[str, Any]:
    """Describe this machine and software stack as a JSON-able dict.

    Keys: ``cpu`` (model, the :data:`CPU_FLAGS` it has, logical cores, usable cores),
    ``load_average`` (1 / 5 / 15 minutes, now), ``machine`` (OS, arch, Python),
    ``gpus`` (list of name/driver/memory from ``nvidia-smi``, empty without one),
    ``jetson`` (model and ``nvpmodel -q`` power mode on a Jetson, else None), ``board``
    (the device tree's board name of any other board, e.g. a Raspberry Pi, else None),
    ``packages
    (name -> version of the relevant libraries that are installed),
    ``onnxruntime_providers``, ``threads_env`` (OMP/ORT thread variables if set).
    """
    board = _board_model()
    jetson = _jetson(board)
    return {
        "cpu": {
            "model": _cpu_model(),
            "flags": cpu_flags(),
            "logical_cores": os.cpu_count() or 1,
            "usable_cores": _cpu_count_usable(),
        },
        "load_average": load_average(),
        "machine": {
            "system": f"{platform.system()} {platform.release()}",
            "arch": platform.machine(),
            "python": platform.python_version(),
        },
        "gpus": _gpus(),
        "jetson": jetson,
        "board": None if jetson is not None else board,
        "packages": _versions(),
        "onnxruntime_providers": _ort_providers(),
        "threads_env": {
            k: os.environ[k] for k in ("OMP_NUM_THREADS", "ORT_NUM_THREADS") if k in os.environ
        },
    }


def format_environment(env: dict[str, Any], load: LoadWatch | None = None) -> str:
    """One short paragraph for a table caption / RESULTS.md: the CPU and its instruction
    sets first, then the load (``load``'s start / end readings, else the report's), GPU,
    libraries."""
    cpu = env["cpu"]
    flags = ", ".join(cpu.get("flags") or []) or "no AVX2"
    parts = [
        f"CPU {cpu['model']} ({flags}; {cpu['usable_cores']}/{cpu['logical_cores']} cores usable)"
    ]
    if load is not None:
        parts.append(load.describe())
    elif env.get("load_average"):
        parts.append("load average " + " / ".join(f"{v:.1f}" for v in env["load_average"]))
    if env["gpus"]:
        parts.append("GPU " + ", ".join(f"{g['name']} (driver {g['driver']})" for g in env["gpus"]))
    else:
        parts.append("no GPU")
    if env.get("jetson"):
        parts.append(_jetson_text(env["jetson"]))
    elif env.get("board"):
        parts.append(f"board {env['board']}")
    pk = env["packages"]
    libs = ", ".join(f"{k} {v}" for k, v in pk.items())
    parts.append(libs)
    if env["onnxruntime_providers"]:
        parts.append("ORT providers " + "/".join(env["onnxruntime_providers"]))
    parts.append(f"Python {env['machine']['python']} on {env['machine']['system']}")
    return "; ".join(parts)
