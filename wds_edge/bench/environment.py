"""What the benchmark ran on: CPU, GPU and driver, library versions, Jetson power mode.

Every bench report embeds :func:`environment_report`. Library versions come from
package metadata (``importlib.metadata``), so torch and tensorrt are *not* imported
to learn their versions.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["environment_report", "format_environment"]

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


def _jetson() -> dict[str, str] | None:
    model = Path("/proc/device-tree/model")
    if not model.exists() and shutil.which("nvpmodel") is None:
        return None
    info: dict[str, str] = {}
    with contextlib.suppress(OSError):
        info["model"] = model.read_bytes().rstrip(b"\x00").decode(errors="replace")
    power = _run(["nvpmodel", "-q"])
    if power:
        info["power_mode"] = " / ".join(line.strip() for line in power.splitlines() if line.strip())
    return info or None


def environment_report() -> dict[str, Any]:
    """Describe this machine and software stack as a JSON-able dict.

    Keys: ``cpu`` (model, logical cores, usable cores), ``machine`` (OS, arch, Python),
    ``gpus`` (list of name/driver/memory from ``nvidia-smi``, empty without one),
    ``jetson`` (model and ``nvpmodel -q`` power mode, or None), ``packages``
    (name -> version of the relevant libraries that are installed),
    ``onnxruntime_providers``, ``threads_env`` (OMP/ORT thread variables if set).
    """
    return {
        "cpu": {
            "model": _cpu_model(),
            "logical_cores": os.cpu_count() or 1,
            "usable_cores": _cpu_count_usable(),
        },
        "machine": {
            "system": f"{platform.system()} {platform.release()}",
            "arch": platform.machine(),
            "python": platform.python_version(),
        },
        "gpus": _gpus(),
        "jetson": _jetson(),
        "packages": _versions(),
        "onnxruntime_providers": _ort_providers(),
        "threads_env": {
            k: os.environ[k] for k in ("OMP_NUM_THREADS", "ORT_NUM_THREADS") if k in os.environ
        },
    }


def format_environment(env: dict[str, Any]) -> str:
    """One short paragraph for a table caption / RESULTS.md."""
    cpu = env["cpu"]
    parts = [f"CPU {cpu['model']} ({cpu['usable_cores']}/{cpu['logical_cores']} cores usable)"]
    if env["gpus"]:
        parts.append("GPU " + ", ".join(f"{g['name']} (driver {g['driver']})" for g in env["gpus"]))
    else:
        parts.append("no GPU")
    if env.get("jetson"):
        parts.append(f"Jetson {env['jetson']}")
    pk = env["packages"]
    libs = ", ".join(f"{k} {v}" for k, v in pk.items())
    parts.append(libs)
    if env["onnxruntime_providers"]:
        parts.append("ORT providers " + "/".join(env["onnxruntime_providers"]))
    parts.append(f"Python {env['machine']['python']} on {env['machine']['system']}")
    return "; ".join(parts)
