"""The SDK version (one place: ``wds_edge.__version__`` and the desktop packages read it)."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
