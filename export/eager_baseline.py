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

The network is the model file's own: :func:`network_config` turns the architecture its
metadata records (:class:`~wds_edge.model.metadata.ArchitectureInfo`: width, stem, input
normalisation, activation, output kind) into :class:`WrinkleUNet`'s constructor arguments,
as a checkpoint's ``model_config`` is (``WrinkleUNet(**model_config)``).
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
from pathlib import Path
from typing import Any

import numpy as np

from wds_edge._deps import install_hint, require
from wds_edge.errors import InvalidInputError, MissingDependencyError, ModelError

__all__ = ["torch_baseline_available", "EagerModel", "export_width_model", "network_config"]

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


def _unet() -> Any:
    """The desktop :class:`WrinkleUNet` class."""
    try:
        from wds_edge_train.model import WrinkleUNet
    except ImportError as exc:
        raise MissingDependencyError(
            f"the PyTorch-eager baseline needs the desktop 'train' package ({exc}); run it from "
            "a wds-edge source checkout with `pip install -e .[train]`"
        ) from exc
    return WrinkleUNet


def network_config(architecture: Any) -> dict[str, Any]:
    """:class:`WrinkleUNet`'s constructor arguments (the keys of its ``config()``) from the
    architecture a model file's metadata records (an
    :class:`~wds_edge.model.metadata.ArchitectureInfo`); a setting it does not record keeps
    the constructor's default (``out_channels`` 1: the binary head, all older files had).

    Raises:
        ModelError: not a wds-edge U-Net (another ``name``).
    """
    info = architecture.model_dump()
    default_name = type(architecture).model_fields["name"].default
    if info.get("name") != default_name:
        raise ModelError(
            f"its architecture is {info.get('name')!r}, not the wds-edge U-Net "
            f"({default_name!r}) the PyTorch-eager baseline builds"
        )
    arguments = [n for n in inspect.signature(_unet()).parameters if n != "self"]
    return {name: info[name] for name in arguments if name in info}


def _build(base_channels: int, seed: int, architecture: Any = None) -> Any:
    """A seeded :class:`WrinkleUNet` in eval mode: ``architecture``'s network
    (:func:`network_config`), or without one the plain base-``base_channels`` U-Net.

    Raises:
        ModelError: ``architecture`` describes no network :class:`WrinkleUNet` can build.
    """
    torch = require("torch", "the PyTorch-eager baseline of bench compare")
    unet = _unet()
    config = (
        {"in_channels": 4, "base_channels": base_channels}
        if architecture is None
        else network_config(architecture)
    )
    torch.manual_seed(seed)
    try:
        return unet(**config).eval()
    except InvalidInputError as exc:  # an activation, stem, ... this code does not know
        raise ModelError(f"its architecture {config} cannot be built in PyTorch: {exc}") from exc


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
        base_channels: network width (without ``architecture``).
        seed: weight seed (same as :func:`export_width_model` for the same weights).
        num_threads: ``torch.set_num_threads`` (None: torch's default, all cores).
        architecture: a model file's :class:`~wds_edge.model.metadata.ArchitectureInfo`:
            build that network (:func:`network_config`; its width, not ``base_channels``);
            None: the plain U-Net of :func:`export_width_model`.

    Raises:
        ModelError: ``architecture`` describes no network :class:`WrinkleUNet` can build.
    """

    def __init__(
        self,
        base_channels: int,
        seed: int = 0,
        num_threads: int | None = None,
        architecture: Any = None,
    ) -> None:
        self._torch = require("torch", "the PyTorch-eager baseline of bench compare")
        self.model = _build(base_channels, seed, architecture)
        if num_threads is not None:
            self._torch.set_num_threads(num_threads)
        self.base_channels = self.model.base_channels
        #: the network's constructor arguments (equal for two files of one network)
        self.network: dict[str, object] = self.model.config()

    def gflops(self, size_px: int) -> float:
        """GFLOPs per ``size_px`` image of this network as it runs here: 2 x the MACs of
        its convolutions (the definition of the exported files' ``gflops``), counted on one
        forward pass of zeros."""
        torch = self._torch
        macs = 0

        def count(module: Any, _inputs: Any, output: Any) -> None:
            nonlocal macs  # output elements of one image x C_in / groups x kH x kW
            macs += int(output[0].numel()) * int(module.weight[0].numel())

        convs = [m for m in self.model.modules() if isinstance(m, torch.nn.Conv2d)]
        hooks = [m.register_forward_hook(count) for m in convs]
        try:
            with torch.no_grad():
                self.model(torch.zeros(1, self.model.in_channels, size_px, size_px))
        finally:
            for hook in hooks:
                hook.remove()
        return round(2 * macs / 1e9, 3)

    def infer(self, batch_nchw: np.ndarray) -> np.ndarray:
        """float32 (N, 4, S, S) ``[R, G, B, T] / 255`` -> float32 (N, 1, S, S) probability."""
        torch = self._torch
        with torch.no_grad():
            return self.model(torch.from_numpy(batch_nchw)).numpy()

    def segment_crop(self, crop_rgb: np.ndarray) -> np.ndarray:
        """uint8 RGB S x S crop -> float32 S x S probability (numpy texture map + eager)."""
        from wds_edge.model.preprocessing import Preprocessing, model_input

        return self.infer(model_input(crop_rgb, Preprocessing.TEXTURE_OUTSIDE))[0, 0]
