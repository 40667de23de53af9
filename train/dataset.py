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

from wds_edge.errors import InvalidInputError
from wds_edge.model.preprocessing import network_channels, texture_map
from wds_edge.perception.regions import REGION_NAMES, region_masks
from wds_edge_train.augment import (
    AugmentConfig,
    augment_sample,
    check_crop_size,
    official_augment,
    random_crop,
)
from wds_edge_train.data import LoadedSample

__all__ = ["MAX_REGION_WEIGHT", "CropDataset", "region_id_map", "region_weights", "sample_tensors",
           "seed_worker"]  # fmt: skip

#: ``--region-balance`` raises a sparsely labelled region's pixels by at most this factor.
MAX_REGION_WEIGHT = 10.0


def sample_tensors(
    image_rgb: np.ndarray,
    mask: np.ndarray,
    fov: np.ndarray | None,
    texture_rgb: np.ndarray | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Network input and targets of one (cropped) sample.

    Args:
        texture_rgb: the image the texture channel is computed from when it is not
            ``image_rgb`` itself (the ``official`` profile: the crop before the colour jitter).

    Returns:
        ``x`` float32 4 x H x W ``[R, G, B, T] / 255`` (texture map of Eq. 1 computed by
        :func:`wds_edge.model.preprocessing.network_channels` on exactly this image), ``mask``
        float32 1 x H x W 0 / 1 and ``fov`` float32 1 x H x W: the loss's per-pixel weight
        (0 / 1 for a field-of-view mask, all ones when absent; a float map passes through).
    """
    channels = network_channels(image_rgb)
    if texture_rgb is not None:
        channels[:, :, 3] = texture_map(texture_rgb) * (1.0 / 255.0)
    x = torch.from_numpy(channels.transpose(2, 0, 1).copy())
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
            elsewhere)``. Another value than 1 needs zones on at least one sample.
        region_balance: weight each facial region's pixels (:func:`region_weights`, from the
            samples' landmarks) so that a region whose labels are sparse over the training set
            (the glabella's few short lines) is not outweighed in the one Dice of a batch by
            a densely labelled one (the under-eyes). The item's ``fov`` carries it too.

    Raises:
        InvalidInputError: ``zone_weight`` other than 1 where no sample has zones;
            ``region_balance`` on a sample without landmarks (:func:`region_id_map`).
    """

    def __init__(
        self,
        samples: list[LoadedSample],
        crop_size: int,
        augment: str = "none",
        seed: int = 0,
        augment_config: AugmentConfig | None = None,
        zone_weight: float = 1.0,
        region_balance: bool = False,
    ) -> None:
        check_crop_size(crop_size)
        self.samples = samples
        self.crop_size = crop_size
        self.seed = seed
        self.augment_config = dataclasses.replace(
            augment_config or AugmentConfig(), profile=augment
        )
        self.zone_weight = float(zone_weight)
        if self.zone_weight != 1.0 and not any(s.zones is not None for s in samples):
            # It would be recorded with the run but weigh nothing.
            raise InvalidInputError(
                f"--zone-weight {zone_weight:g} needs the zones/ masks that 'wds-edge label "
                f"--auto' writes, and none of the {len(samples)} training image(s) has one "
                "(DATA/zones/<stem>.png); label the data with --auto, or leave --zone-weight "
                "at 1"
            )
        self.epoch = 0
        self.region_maps: list[np.ndarray] | None = None
        #: ``{region: weight}`` of ``region_balance`` (empty when off).
        self.region_weights: dict[str, float] = {}
        if region_balance:
            self.region_maps = [region_id_map(s) for s in samples]
            self.region_weights = region_weights(samples, self.region_maps)
            self._weight_by_id = np.ones(len(REGION_NAMES) + 1, np.float32)
            for i, name in enumerate(REGION_NAMES, start=1):
                self._weight_by_id[i] = self.region_weights[name]

    def set_epoch(self, epoch: int) -> None:
        """Select the random stream of ``epoch`` (call before iterating)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s = self.samples[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        image, mask, fov = s.image_rgb, s.mask, s.fov
        regions = self.region_maps[index] if self.region_maps is not None else None
        packed = s.zones is not None or regions is not None
        if packed:  # FOV, zones and regions share the geometry: one bit-packed mask
            base = np.ones_like(s.mask) if fov is None else fov
            fov = base.astype(np.uint8)
            if s.zones is not None:
                fov |= s.zones.astype(np.uint8) << 1
            if regions is not None:
                fov |= regions << 2  # region ids 1-6 in bits 2-4
        texture_rgb = None
        if self.augment_config.profile == "official":
            image, texture_rgb, mask, fov = official_augment(
                image, mask, fov, rng, self.augment_config
            )
            # one crop window for the jittered image and the one its texture comes from
            both, mask, fov = random_crop(
                np.concatenate([image, texture_rgb], axis=2), mask, fov, self.crop_size, rng
            )
            image, texture_rgb = (
                np.ascontiguousarray(both[:, :, :3]),
                np.ascontiguousarray(both[:, :, 3:]),
            )
        else:
            if self.augment_config.profile != "none":
                image, mask, fov = augment_sample(image, mask, fov, rng, self.augment_config)
            image, mask, fov = random_crop(image, mask, fov, self.crop_size, rng)
        if packed:
            weight = np.where(fov & 2, np.float32(self.zone_weight), np.float32(1.0))
            if regions is not None:
                weight = weight * self._weight_by_id[fov >> 2]
            fov = (fov & 1).astype(np.float32) * weight
        return sample_tensors(image, mask, fov, texture_rgb)


def region_id_map(sample: LoadedSample) -> np.ndarray:
    """uint8 ``H x W`` map of a sample's facial regions: 0 outside, ``k`` inside the k-th of
    :data:`REGION_NAMES` (the polygons of :func:`region_masks`, which never overlap), drawn
    from its landmarks.

    Raises:
        InvalidInputError: no landmarks, or an image that is not a square kiosk crop.
    """
    h, w = sample.mask.shape
    if sample.landmarks is None or h != w:
        what = "no landmarks/<stem>.json" if sample.landmarks is None else f"a {w}x{h} image"
        raise InvalidInputError(
            f"--region-balance needs the square face crops and landmarks that 'wds-edge label "
            f"--auto' writes; sample '{sample.stem}' has {what}"
        )
    ids = np.zeros((h, w), np.uint8)
    masks = region_masks(sample.landmarks, h)
    for k, name in enumerate(REGION_NAMES, start=1):
        ids[masks[name]] = k
    return ids


def region_weights(
    samples: list[LoadedSample], region_maps: list[np.ndarray], cap: float = MAX_REGION_WEIGHT
) -> dict[str, float]:
    """Per-region loss weights that give each region's labels a like share of the Dice.

    ``L_r`` = labelled pixels inside region ``r`` over all samples; a region's weight is
    ``mean_r(L_r) / L_r``, never below 1 (a densely labelled region keeps its weight) nor
    above ``cap``; a region with no labelled pixel gets ``cap`` only if some other region
    has labels (otherwise 1).

    Returns:
        ``{region: weight}`` in :data:`REGION_NAMES` order.
    """
    counts = np.zeros(len(REGION_NAMES), np.float64)
    for sample, ids in zip(samples, region_maps, strict=True):
        labelled = ids[sample.mask]
        counts += np.bincount(labelled, minlength=len(REGION_NAMES) + 1)[1:]
    mean = counts.mean()
    weights = {}
    for name, count in zip(REGION_NAMES, counts, strict=True):
        if mean == 0:
            weights[name] = 1.0
        else:
            weights[name] = float(np.clip(mean / count if count else cap, 1.0, cap))
    return weights


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: seed numpy / random from torch's per-worker seed."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)
