"""Load a script of the repository (``scripts/``, ``benchmarks/``) as a module, for tests of
its functions: scripts are files, not packages, so they cannot be imported by name."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def load_script(relative_path: str | Path, *, register: bool = False) -> ModuleType:
    """The module of ``REPO / relative_path`` (e.g. ``"scripts/distill_check.py"``), named by
    its file; ``register`` puts it in ``sys.modules`` first (dataclasses and pickling look
    their module up there)."""
    path = REPO / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module
