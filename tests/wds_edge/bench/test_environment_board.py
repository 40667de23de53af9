"""The board a benchmark ran on: a Jetson only when it is one (the device tree names NVIDIA /
Jetson, or L4T's release file exists); any other board with a device tree (a Raspberry Pi,
a Rockchip board) is a ``board``; the caption says both in words, not as a raw dict."""

from __future__ import annotations

from pathlib import Path

import pytest

from wds_edge.bench import environment
from wds_edge.bench.environment import environment_report, format_environment


def _board(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model: str | None, l4t: bool):
    tree = tmp_path / "model"
    if model is not None:
        tree.write_bytes(model.encode() + b"\x00")  # the device tree ends it with a NUL
    release = tmp_path / "nv_tegra_release"
    if l4t:
        release.write_text("# R36 (release), REVISION: 4.0\n")
    monkeypatch.setattr(environment, "DEVICE_TREE_MODEL", tree)
    monkeypatch.setattr(environment, "NV_TEGRA_RELEASE", release)
    env = environment_report()
    return env, format_environment(env)


@pytest.mark.parametrize(
    "model", ["Raspberry Pi 4 Model B Rev 1.4", "Radxa ROCK 5B", "Rockchip RK3588 EVB"]
)
def test_another_board_is_not_a_jetson(
    model: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env, caption = _board(monkeypatch, tmp_path, model, l4t=False)
    assert env["jetson"] is None and env["board"] == model
    assert f"; board {model};" in caption and "Jetson" not in caption and "{" not in caption


def test_a_jetson_by_its_device_tree_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model = "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super"
    env, caption = _board(monkeypatch, tmp_path, model, l4t=False)
    assert env["jetson"]["model"] == model and env["board"] is None
    assert f"; {model}" in caption and "board" not in caption and "{" not in caption


def test_a_jetson_by_its_l4t_release_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env, caption = _board(monkeypatch, tmp_path, "p3768-0000+p3767-0005", l4t=True)
    assert env["jetson"]["model"] == "p3768-0000+p3767-0005" and env["board"] is None
    assert "; Jetson p3768-0000+p3767-0005" in caption


def test_a_pc_has_neither(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env, caption = _board(monkeypatch, tmp_path, None, l4t=False)
    assert env["jetson"] is None and env["board"] is None
    assert "Jetson" not in caption and "board" not in caption


def test_the_power_mode_is_said_in_words() -> None:
    assert environment._power_mode("NV Power Mode: MAXN\n0\n") == "MAXN (mode 0)"
    assert environment._power_mode("NV Power Mode: 15W\n") == "15W"
    env = environment_report()
    env["jetson"] = {"model": "NVIDIA Jetson AGX Orin", "power_mode": "MAXN (mode 0)"}
    assert "; NVIDIA Jetson AGX Orin, power mode MAXN (mode 0);" in format_environment(env)
