"""The setup scripts' header comments name every system package they apt-get install.

scripts/setup.sh's and scripts/test.sh's headers said apt installs xvfb and xdotool only;
setup.sh dev also installs chromium and chromium-driver (the kiosk-page browser test).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"


def _apt_packages(script: Path) -> set[str]:
    """The packages of every ``apt-get install -y`` a script runs (messages that advise an
    install, and the options, left out)."""
    packages = set()
    for line in script.read_text().splitlines():
        if line.lstrip().startswith("#"):
            continue
        found = re.search(r"apt-get install -y ((?:-\S+\s+)*)([a-z0-9][a-z0-9 .+-]*)", line)
        if found:
            packages |= set(found.group(2).split())
    return packages


def _header(script: Path) -> str:
    """The script's leading comment block, as one line of text."""
    lines = []
    for line in script.read_text().splitlines()[1:]:
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(lines)


# setup.sh dev installs its own apt packages and display_deps.sh's; test.sh runs setup.sh dev
INSTALLED = {
    "setup.sh": ("setup.sh", "display_deps.sh"),
    "test.sh": ("setup.sh", "display_deps.sh"),
}


@pytest.mark.parametrize("name", sorted(INSTALLED))
def test_the_header_names_every_apt_package(name: str) -> None:
    packages = set().union(*(_apt_packages(SCRIPTS / s) for s in INSTALLED[name]))
    assert {"chromium", "chromium-driver", "xvfb", "xdotool"} <= packages, packages
    header = _header(SCRIPTS / name)
    missing = sorted(p for p in packages if not re.search(rf"\b{re.escape(p)}\b", header))
    assert not missing, f"scripts/{name}'s header does not name {missing}: {header[:300]}"
