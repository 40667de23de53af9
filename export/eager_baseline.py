"""The "without this SDK" baseline of ``bench compare``: PyTorch eager FP32, per frame.

What a developer would write with the training code alone: the numpy texture map
(paper Eq. 1) and 4-channel input built on the host, then ``model(x)`` under
``torch.no_grad()`` in FP32. It lives on the desktop side (``wds_edge`` never imports
torch, ``train`` or ``export``): the CLI passes this module to
:func:`wds_edge.bench.compare.bench_compare` as its ``baseline`` (the
:class:`~wds_edge.bench.compare.EagerBaseline` interface), and ``bench compare`` notes a
skip when it cannot be imported.

Latency of a dense CNN does not depend on its weight values, so models built from a
seed (untrained) time the same as trained ones; the exported ONNX and the eager model
share that seed and therefore the same weights.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import numpy as np

from wds_edge._deps import install_hint, require
from wds_edge.errors import MissingDependencyError

__all__ = ["torch_baseline_available", "EagerModel", "export_width_model"]

logger = logging.getLogger(__name__)


def torch_baseline_available() -> tuple[bool, str]:
    """(True, "") when torch and the desktop ``train`` package import, else (False, why)."""
    for module, hint in (("torch", install_hint("torch")), ("wds_edge_train.model", "")):
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return False, (
                f"PyTorch-eager baseline skipped: '{module}' is not importable"
                + (f" ({hint})" if hint else " (needs the wds-edge source checkout)")
            )
    return True, ""


def _build(base_channels: int, seed: int) -> Any:
    torch = require("torch", "the PyTorch-eager baseline of bench compare")
    try:
        from wds_edge_train.model import WrinkleUNet
    except ImportError as exc:
        raise MissingDependencyError(
            f"the PyTorch-eager baseline needs the desktop 'train' package ({exc}); run it from "
            "a wds-edge source checkout with `pip install -e .[train]`"
        ) from exc
    torch.manual_seed(seed)
    return WrinkleUNet(in_channels=4, base_channels=base_channels).eval()


def export_width_model(
    base_channels: int, size_px: int, out_dir: str | Path, seed: int = 0
) -> Path:
    """Export an untrained (seeded) base-``base_channels`` model to ``out_dir`` (cached).

    Returns the ``.onnx`` path; an existing file of that name is reused.
    """
    path = Path(out_dir) / f"wds_unet_b{base_channels}_{size_px}_seed{seed}.onnx"
    if path.is_file():
        return path
    require("onnx", "exporting comparison models")
    from wds_edge_export.onnx_export import export_model

    export_model(_build(base_channels, seed), path, input_size_px=size_px, batch=1)
    logger.info("exported %s", path)
    return path


class EagerModel:
    """A seeded :class:`WrinkleUNet` run the plain PyTorch way (FP32, eager, no_grad).

    Args:
        base_channels: network width.
        seed: weight seed (same as :func:`export_width_model` for the same weights).
        num_threads: ``torch.set_num_threads`` (None: torch's default, all cores).
    """

    def __init__(self, base_channels: int, seed: int = 0, num_threads: int | None = None) -> None:
        self._torch = require("torch", "the PyTorch-eager baseline of bench compare")
        if num_threads is not None:
            self._torch.set_num_threads(num_threads)
        self.model = _build(base_channels, seed)
        self.base_channels = base_channels

    def infer(self, batch_nchw: np.ndarray) -> np.ndarray:
        """float32 (N, 4, S, S) ``[R, G, B, T] / 255`` -> float32 (N, 1, S, S) probability."""
        torch = self._torch
        with torch.no_grad():
            return self.model(torch.from_numpy(batch_nchw)).numpy()

    def segment_crop(self, crop_rgb: np.ndarray) -> np.ndarray:
        """uint8 RGB S x S crop -> float32 S x S probability (numpy texture map + eager)."""
        from wds_edge.model.preprocessing import Preprocessing, model_input

        return self.infer(model_input(crop_rgb, Preprocessing.TEXTURE_OUTSIDE))[0, 0]
