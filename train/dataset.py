"""Torch data sets: augmented random crops for training, whole images for evaluation.

Samples are decoded once (and validated) up front, so a bad file fails before the first
step. The random stream of a training item depends only on ``(seed, epoch, index)``
(:meth:`CropDataset.set_epoch`), so results do not depend on the number of DataLoader
workers and a resumed run sees the same augmentations as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import torch
from torch.utils.data import Dataset

from wds_edge.model.preprocessing import network_channels
from wds_edge_train.augment import AugmentConfig, augment_sample, check_crop_size, random_crop
from wds_edge_train.data import LoadedSample

__all__ = ["CropDataset", "sample_tensors", "seed_worker"]


def sample_tensors(
    image_rgb: np.ndarray, mask: np.ndarray, fov: np.ndarray | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Network input and targets of one (cropped) sample.

    Returns:
        ``x`` float32 4 x H x W ``[R, G, B, T] / 255`` (texture map of Eq. 1 computed by
        :func:`wds_edge.model.preprocessing.network_channels` on exactly this image), ``mask``
        float32 1 x H x W 0 / 1 and ``fov`` float32 1 x H x W: the loss's per-pixel weight
        (0 / 1 for a field-of-view mask, all ones when absent; a float map passes through).
    """
    x = torch.from_numpy(network_channels(image_rgb).transpose(2, 0, 1).copy())
    m = torch.from_numpy(mask.astype(np.float32))[None]
    f = torch.ones_like(m) if fov is None else torch.from_numpy(fov.astype(np.float32))[None]
    return x, m, f


class CropDataset(Dataset):
    """Random ``crop_size`` crops of loaded samples, augmented by a profile.

    Item ``i`` is ``(x, mask, fov)`` as :func:`sample_tensors` returns them, each with
    spatial size ``crop_size`` x ``crop_size``.

    Args:
        augment: the augmentation profile, one of :data:`wds_edge_train.augment.AUGMENT_PROFILES`.
        seed: with the epoch and the index, seeds each item's random stream.
        augment_config: other ranges than :class:`wds_edge_train.augment.AugmentConfig`'s defaults
            (its ``profile`` is replaced by ``augment``).
        zone_weight: the loss weight of pixels inside a sample's ``zones`` (hard-negative
            structures: a predicted wrinkle there costs this much more); 1 = like any pixel,
            0 = ignored. The item's ``fov`` carries it: ``fov x (zone_weight inside zones, 1
            elsewhere)``.
    """

    def __init__(
        self,
        samples: list[LoadedSample],
        crop_size: int,
        augment: str = "none",
        seed: int = 0,
        augment_config: AugmentConfig | None = None,
        zone_weight: float = 1.0,
    ) -> None:
        check_crop_size(crop_size)
        self.samples = samples
        self.crop_size = crop_size
        self.seed = seed
        self.augment_config = dataclasses.replace(
            augment_config or AugmentConfig(), profile=augment
        )
        self.zone_weight = float(zone_weight)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the random stream of ``epoch`` (call before iterating)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s = self.samples[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        image, mask, fov = s.image_rgb, s.mask, s.fov
        if s.zones is not None:  # FOV and zones share the geometry: one bit-packed mask
            base = np.ones_like(s.mask) if fov is None else fov
            fov = base.astype(np.uint8) | (s.zones.astype(np.uint8) << 1)
        if self.augment_config.profile != "none":
            image, mask, fov = augment_sample(image, mask, fov, rng, self.augment_config)
        image, mask, fov = random_crop(image, mask, fov, self.crop_size, rng)
        if s.zones is not None:
            weight = np.where(fov & 2, np.float32(self.zone_weight), np.float32(1.0))
            fov = (fov & 1).astype(np.float32) * weight
        return sample_tensors(image, mask, fov)


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: seed numpy / random from torch's per-worker seed."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)
