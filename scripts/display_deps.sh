#!/usr/bin/env bash
# System packages for the windowed-demo tests (marker `display`): Xvfb and xdotool.
# As root with apt-get, installs them after saying so (5 s to interrupt); never with
# WDS_EDGE_NO_APT=1; otherwise says how to install them. Called by scripts/setup.sh dev.
set -euo pipefail
if { ! command -v Xvfb || ! command -v xdotool; } >/dev/null 2>&1; then
  if [ "${WDS_EDGE_NO_APT:-0}" = 1 ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: Xvfb / xdotool missing: the display tests will be skipped" \
      "(apt-get install xvfb xdotool to run them)"
  else
    echo "setup: running as root: installing the system packages xvfb and xdotool with" \
      "apt-get for the display tests (set WDS_EDGE_NO_APT=1 to skip this); starting in 5 s"
    sleep "${WDS_EDGE_APT_DELAY_S:-5}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb xdotool >/dev/null \
      || echo "setup: could not install Xvfb (display tests will be skipped)"
  fi
fi
