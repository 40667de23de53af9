"""Fixtures for the training tests (the DRIVE subset ``drive_small``: tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    """Tiny models on a shared 2-core CPU: one thread avoids spin-waiting under contention."""
    import torch

    torch.set_num_threads(1)
