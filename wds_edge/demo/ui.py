"""Drawing the demo's heads-up display, and the OpenCV HighGUI window it shows in.

The HUD is plain OpenCV drawing on the BGR frame (after the wrinkle overlay): the
kiosk prompt in a banner at the bottom, the overlay's status and per-region wrinkle
scores top left (drawn by ``draw_overlay``), FPS / segmentation rate / mask age /
per-stage times (and a capture's progress) top right.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Mapping

import cv2
import numpy as np

from wds_edge.errors import InvalidInputError, MissingDependencyError

__all__ = ["highgui_backend", "check_can_open_window", "draw_hud", "draw_banner", "WindowDisplay"]

_FONT = cv2.FONT_HERSHEY_SIMPLEX
KEY_QUIT = (ord("q"), ord("Q"), 27)  # q, Esc
KEY_SNAPSHOT = (ord("s"), ord("S"))
KEY_SESSION = (ord(" "),)
KEY_BROWS_SESSION = (ord("b"), ord("B"))  # a capture with raised brows (forehead, glabella)


def highgui_backend() -> str | None:
    """The GUI toolkit this OpenCV build was compiled with ("QT5", "GTK3", ...), or None."""
    info = cv2.getBuildInformation()
    for line in info.splitlines():
        stripped = line.strip()
        if stripped.startswith("GUI:"):
            value = stripped.split(":", 1)[1].strip()
            return None if value.upper() in ("", "NONE", "NO") else value
    return None


#: What the demo advises when no window can open (see :func:`check_can_open_window`).
DEMO_NO_WINDOW_ADVICE = (
    "run with --headless (add --record out.mp4, --jsonl out.jsonl and/or --screenshot shot.png)"
)


def check_can_open_window(
    instead: str = DEMO_NO_WINDOW_ADVICE, command: str = "wds-edge demo ..."
) -> None:
    """Raise a clear error if a HighGUI window cannot be opened here: before a model loads
    (OpenCV aborts the whole process at the first ``imshow`` without a display).

    Args:
        instead: what to do without a window, in the error's advice (the demo's default
            names its ``--headless`` outputs; an embedder names its own way, e.g. "leave
            out --show").
        command: the command to run under a virtual display (``xvfb-run COMMAND``), in the
            advice.

    Raises:
        MissingDependencyError: this OpenCV wheel has no GUI toolkit (e.g. a headless wheel).
        InvalidInputError: on Linux, no X / Wayland display is set, or none answers where
            DISPLAY / WAYLAND_DISPLAY point (a usage error: run headless, or under a
            virtual display).
    """
    if highgui_backend() is None:
        raise MissingDependencyError(
            "this OpenCV build has no GUI toolkit (cv2.getBuildInformation() lists GUI: NONE), "
            f"so no window can open; {instead}, or install an OpenCV wheel with HighGUI"
        )
    if not sys.platform.startswith("linux"):
        return
    x_display = os.environ.get("DISPLAY", "")
    wayland = os.environ.get("WAYLAND_DISPLAY", "")
    if not (x_display or wayland):
        raise InvalidInputError(
            f"no display: DISPLAY is not set, so no window can open; {instead}, or run under "
            f"a virtual display: xvfb-run {command}"
        )
    answers = [_x_server_answers(x_display) if x_display else False]
    # a Wayland display counts only for a toolkit that can draw there: the pip OpenCV
    # wheels' Qt ships the xcb (X11) platform plugin alone
    wayland_ok = wayland and _toolkit_speaks_wayland()
    answers.append(_wayland_answers(wayland) if wayland_ok else False)
    if not any(answer is not False for answer in answers):
        if wayland and not wayland_ok and not x_display:
            raise InvalidInputError(
                f"only a Wayland display is set (WAYLAND_DISPLAY={wayland}), and this "
                f"OpenCV's {highgui_backend()} windows need X11 (its Qt has no Wayland "
                "platform plugin): start Xwayland / set DISPLAY, or "
                f"{instead}, or run under a virtual display: xvfb-run {command}"
            )
        which = " and ".join(
            f"{name}={value}" for name, value in (("DISPLAY", x_display),
                                                  ("WAYLAND_DISPLAY", wayland)) if value
        )  # fmt: skip
        raise InvalidInputError(
            f"no display answers at {which}: nothing listens there (or nothing this OpenCV "
            f"can draw on), so the first window would abort the process (a display left over "
            f"from an SSH session or desktop that has ended?); {instead}, or run under a "
            f"virtual display: xvfb-run {command}"
        )


def _toolkit_speaks_wayland() -> bool:
    """Whether this OpenCV's HighGUI can open a window on Wayland: GTK can; Qt only with a
    ``libqwayland*`` platform plugin where its plugins are (the wheel's ``cv2/qt/plugins``,
    ``QT_QPA_PLATFORM_PLUGIN_PATH``); a Qt whose plugins cannot be found is trusted."""
    backend = (highgui_backend() or "").upper()
    if not backend.startswith("QT"):
        return True
    folders = [os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "")]
    folders.append(os.path.join(os.path.dirname(cv2.__file__), "qt", "plugins", "platforms"))
    found = [f for f in folders if f and os.path.isdir(f)]
    if not found:
        return True
    return any(n.startswith("libqwayland") for f in found for n in os.listdir(f))


#: DISPLAY as X11 writes it: [protocol/][host]:display[.screen]
_X_DISPLAY = re.compile(
    r"^(?:(?P<protocol>[a-z0-9]+)/)?(?P<host>[^:/]*):(?P<number>\d+)(?:\.\d+)?$"
)


def _connects(family: int, address: object, timeout_s: float = 2.0) -> bool:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect(address)  # type: ignore[arg-type]
        except OSError:
            return False
        return True


def _x_server_answers(display: str) -> bool | None:
    """Whether an X server accepts connections at ``display`` (its Unix socket, also the
    abstract one, for a local display; TCP port 6000 + n for ``host:n``); None when
    ``display`` is not in a form this can check (then it is trusted)."""
    match = _X_DISPLAY.match(display)
    if match is None:
        return None
    number, host, protocol = int(match["number"]), match["host"], match["protocol"]
    # as libxcb reads it: "unix/" or "local/" is the local socket whatever the host; "tcp/",
    # "inet/" or "inet6/" is TCP (no host: this machine); no protocol: the local socket for
    # no host or "unix", else TCP; any other protocol fails there too
    if protocol in ("unix", "local") or (protocol is None and host in ("", "unix")):
        path = f"/tmp/.X11-unix/X{number}"
        return _connects(socket.AF_UNIX, path) or _connects(socket.AF_UNIX, "\0" + path)
    if protocol not in (None, "tcp", "inet", "inet6"):
        return False  # libxcb knows no other: the first window would fail
    family = socket.AF_INET6 if protocol == "inet6" else socket.AF_INET
    return _connects(family, (host or "localhost", 6000 + number))


def _wayland_answers(name: str) -> bool | None:
    """Whether a Wayland compositor accepts connections at ``name`` (a socket path, or a
    name in $XDG_RUNTIME_DIR); None when there is no runtime dir to look in."""
    if os.path.isabs(name):
        return _connects(socket.AF_UNIX, name)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if not runtime:
        return None
    return _connects(socket.AF_UNIX, os.path.join(runtime, name))


def _text(
    img: np.ndarray,
    text: str,
    org: tuple[int, int],
    scale: float,
    color: tuple[int, ...],
    thickness: int = 1,
) -> None:
    cv2.putText(img, text, org, _FONT, scale, color, thickness, cv2.LINE_AA)


def _shade(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, strength: float = 0.6) -> None:
    """Darken a box (in place) so text on it reads on any background."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 > x0 and y1 > y0:
        img[y0:y1, x0:x1] = (img[y0:y1, x0:x1] * (1.0 - strength)).astype(np.uint8)


def draw_banner(
    img: np.ndarray,
    text: str,
    color: tuple[int, int, int] = (255, 255, 255),
    bg: tuple[int, int, int] = (40, 40, 40),
) -> None:
    """Draw ``text`` in a translucent bar along the bottom of ``img`` (in place)."""
    h, w = img.shape[:2]
    scale = max(0.5, w / 1400.0)
    bar_h = int(44 * scale / 0.9)
    roi = img[h - bar_h : h]
    roi[:] = (roi * 0.35 + np.array(bg, np.float32) * 0.65).astype(np.uint8)
    (tw, th), _ = cv2.getTextSize(text, _FONT, scale, 2)
    _text(img, text, ((w - tw) // 2, h - (bar_h - th) // 2), scale, color, 2)


def draw_hud(
    image_bgr: np.ndarray,
    *,
    prompt: str,
    ok: bool,
    display_fps: float,
    seg_rate_hz: float,
    seg_age_frames: int | None,
    stage_ms: Mapping[str, float],
    region_ratios: Mapping[str, float] | None = None,
    extra_lines: tuple[str, ...] = (),
) -> np.ndarray:
    """Draw the HUD on ``image_bgr`` (uint8 BGR, modified in place and returned).

    Timings go top right, the prompt in a banner at the bottom (the overlay's status
    and region scores stay top left).

    Args:
        prompt: kiosk prompt shown in the bottom banner (green when ``ok``).
        display_fps: frames shown per second.
        seg_rate_hz: segmentation updates per second.
        seg_age_frames: frames since the shown mask was segmented (None: no mask shown).
        stage_ms: stage name -> recent mean milliseconds.
        region_ratios: region -> wrinkle ratio (paper Eq. 12) of the shown mask.
        extra_lines: more lines under the timings (capture session progress, ...).
    """
    h, w = image_bgr.shape[:2]
    scale = max(0.45, w / 2400.0)
    step = int(26 * scale / 0.5)
    lines = [f"display {display_fps:5.1f} FPS   segmentation {seg_rate_hz:4.1f}/s"]
    lines.append("mask age " + ("-" if seg_age_frames is None else f"{seg_age_frames} frames"))
    lines += [f"{name}: {ms:.1f} ms" for name, ms in stage_ms.items()]
    lines += list(extra_lines)
    # Top right: draw_overlay puts the status and the region scores top left.
    if region_ratios:
        lines += [f"{name} {100 * ratio:5.2f}%" for name, ratio in region_ratios.items()]
    col_w = max(cv2.getTextSize(line, _FONT, scale, 1)[0][0] for line in lines)
    x = w - col_w - 16
    _shade(image_bgr, x - 8, 4, w - 4, 14 + step * len(lines))
    for i, line in enumerate(lines):
        _text(image_bgr, line, (x, 4 + step * (i + 1)), scale, (255, 255, 255))
    draw_banner(image_bgr, prompt, color=(140, 255, 140) if ok else (80, 200, 255))
    return image_bgr


class WindowDisplay:
    """An OpenCV HighGUI window: :meth:`show` draws a frame and returns the key pressed.

    Raises:
        MissingDependencyError / InvalidInputError: see :func:`check_can_open_window`.
    """

    def __init__(self, title: str = "wds-edge demo") -> None:
        check_can_open_window()
        self.title = title
        self._open = True
        cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE)

    def show(self, image_bgr: np.ndarray, wait_ms: int = 1) -> int:
        """Show a frame; returns the key code pressed (-1 for none)."""
        cv2.imshow(self.title, image_bgr)
        return int(cv2.waitKey(max(1, wait_ms)))

    @property
    def closed_by_user(self) -> bool:
        """The user closed the window with its close button."""
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:
            return True

    def close(self) -> None:
        if self._open:
            self._open = False
            try:
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)
            except cv2.error:
                pass
