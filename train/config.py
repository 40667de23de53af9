"""What a training run is given and what it gives back: :class:`TrainConfig` (stored
resolved in ``config.json``), :class:`TrainProgress` (the loop's progress reports) and
:class:`TrainResult`; ``wds_edge_train.loop`` re-exports them.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wds_edge.errors import InvalidInputError
from wds_edge_train.augment import AUGMENT_PROFILES, check_crop_size
from wds_edge_train.losses import LOSS_MODES
from wds_edge_train.model import ACTIVATIONS, DICE_KINDS, INPUT_NORMS, STEMS, size_multiple
from wds_edge_train.recipes import RECIPES, recipe_defaults
from wds_edge_train.wwm import FILL_POLICIES

__all__ = [
    "AUGMENT_CHOICES",
    "DEFAULT_CROP_SIZE",
    "check_device_name",
    "check_face_crop_stem",
    "check_training_crop",
    "resolve_crop_size",
    "TrainConfig",
    "TrainProgress",
    "TrainResult",
    "legacy_augment",
    "resolve_augment",
]


#: ``augment`` values: a profile of :data:`wds_edge_train.augment.AUGMENT_PROFILES`, or ``auto``
#: (resolved when the run starts: ``kiosk`` for face data, ``paper`` for anything else).
AUGMENT_CHOICES = ("auto", *AUGMENT_PROFILES)

#: The random training crop when none is given (the paper's 640 px) on data whose face-crop
#: size is unknown (DRIVE, other data), and the largest one chosen on face labels.
DEFAULT_CROP_SIZE = 640


def check_device_name(name: str) -> str:
    """``name`` as a torch device string: lower case, ``auto`` | ``cpu`` | ``cuda`` |
    ``cuda:N`` | ``mps`` (whether that device exists is checked when the run starts:
    ``wds_edge_train.loop.resolve_device``).

    Raises:
        InvalidInputError: anything else (``GPU``, ``cuda:x``, a typo).
    """
    text = str(name).strip().lower()
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", text):
        raise InvalidInputError(
            f"--device {name!r} is not a device; use auto (CUDA when torch sees a GPU, else "
            "the CPU), cpu, cuda, cuda:N (the N-th GPU, from 0) or mps (Apple GPU)"
        )
    return text


@dataclass
class TrainConfig:
    """Everything a training run depends on (stored resolved in ``config.json``).

    ``recipe`` (:mod:`wds_edge_train.recipes`, ``project`` by default) gives the fields a
    recipe sets (``dice``, ``activation``, ``input_norm``, ``augment``, ``amp``, ``seed``,
    ``wwm_fill``: None until then) the recipe's values, so ``TrainConfig(recipe="official")``
    trains as the official code; a value given for one of them overrides the recipe.
    :meth:`from_recipe` does the same.
    """

    data: str
    out: str
    recipe: str = "project"
    loss: str = "wds"
    dice: str | None = None  # None: the recipe's (as for every field RECIPES sets)
    base_channels: int = 64
    stem: str = "none"
    activation: str | None = None
    epochs: int = 200
    batch_size: int = 4
    #: Side of the random training crop; None: :func:`resolve_crop_size` when the run starts
    #: (the face-crop size of ``wds-edge label`` data, at most 640; else 640). ``config.json``
    #: records the size used.
    crop_size: int | None = None
    lr: float = 0.01
    min_lr: float = 1e-6
    weight_decay: float = 1e-4
    seed: int | None = None
    #: Seed of the train / validation / test split (:func:`wds_edge_train.folds.make_splits`).
    #: No recipe sets it, so runs of several recipes or ``seed`` values share their folds.
    #: Runs written before it existed split with ``seed`` (:meth:`from_dict` reads that back).
    split_seed: int = 0
    folds: int | None = None
    fold: int | None = None
    val_fraction: float = 0.2
    val_count: int | None = None
    #: Images that share a split (:func:`wds_edge_train.folds.image_groups`): a CSV of
    #: ``image,group`` rows, or a regular expression whose first group names the group;
    #: neither: the frames of one video (``<video>_f<digits>``) are one group.
    groups: str | None = None
    group_by: str | None = None
    augment: str | None = None
    input_norm: str | None = None
    wwm_fill: str | None = None
    zone_weight: float = 1.0
    region_balance: bool = False
    mask_threshold: int | None = None
    threshold: float = 0.5
    device: str = "auto"
    workers: int = 0
    amp: bool | None = None
    tensorboard: bool = True

    def __post_init__(self) -> None:
        # The recipe's value for each field it sets and the caller left unset: the recipe a
        # config records is the one it trains with (a recipe named here was recorded but
        # trained with the project's settings).
        for name, value in recipe_defaults(self.recipe).items():
            if getattr(self, name) is None:
                setattr(self, name, value)

    def validate(self) -> None:
        """Raise :class:`InvalidInputError` on values that cannot work."""
        if self.loss not in LOSS_MODES:
            raise InvalidInputError(f"--loss must be one of {LOSS_MODES}, got {self.loss!r}")
        if self.dice not in DICE_KINDS:
            raise InvalidInputError(f"--dice must be one of {tuple(DICE_KINDS)}, got {self.dice!r}")
        if self.activation not in ACTIVATIONS:
            raise InvalidInputError(f"--activation must be one of {ACTIVATIONS}")
        if self.augment not in AUGMENT_CHOICES:
            raise InvalidInputError(
                f"--augment must be one of {AUGMENT_CHOICES}, got {self.augment!r}"
            )
        if self.input_norm not in INPUT_NORMS:
            raise InvalidInputError(
                f"--input-norm must be one of {tuple(INPUT_NORMS)}, got {self.input_norm!r}"
            )
        if self.recipe not in RECIPES:
            raise InvalidInputError(f"--recipe must be one of {tuple(RECIPES)}")
        if self.wwm_fill not in FILL_POLICIES:
            raise InvalidInputError(f"wwm_fill must be one of {FILL_POLICIES}")
        if self.stem not in STEMS:
            raise InvalidInputError(f"--stem must be one of {tuple(STEMS)}, got {self.stem!r}")
        if self.crop_size is not None:  # None: chosen from the data when the run starts
            check_training_crop(self.crop_size, self.stem)
        for name in ("base_channels", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise InvalidInputError(f"{name} must be >= 1, got {getattr(self, name)}")
        for flag, value in (("--seed", self.seed), ("--split-seed", self.split_seed)):
            if not 0 <= value < 2**32:
                # numpy and torch take seeds in [0, 2**32): anything else was a traceback.
                raise InvalidInputError(
                    f"{flag} must be a whole number from 0 to {2**32 - 1}, got {value} "
                    f"(e.g. {flag} 0)"
                )
        if self.val_count is not None and self.val_count < 1:
            raise InvalidInputError(
                f"--val-count must be >= 1 (the validation images select best.pt), got "
                f"{self.val_count}; leave it out to hold out --val-fraction of the images"
            )
        if not 0.0 <= self.zone_weight <= 100.0:
            raise InvalidInputError(
                f"--zone-weight must be in [0, 100] (1 = zones count like any pixel), got "
                f"{self.zone_weight}"
            )
        for name, positive in (("lr", True), ("min_lr", False), ("weight_decay", False)):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0 or (positive and value == 0):
                raise InvalidInputError(
                    f"{name} must be a finite number {'> 0' if positive else '>= 0'}, got "
                    f"{value} (e.g. --lr 0.01, --weight-decay 1e-4)"
                )
        check_device_name(self.device)
        if self.workers < 0:
            raise InvalidInputError(f"--workers must be >= 0, got {self.workers}")
        if self.mask_threshold is not None and not 0 <= self.mask_threshold <= 254:
            raise InvalidInputError(
                f"--mask-threshold must be a grey value in 0-254 (a mask pixel above it is "
                f"foreground, e.g. 127), got {self.mask_threshold}"
            )

    @classmethod
    def from_recipe(cls, recipe: str, **settings: Any) -> TrainConfig:
        """A configuration that starts from ``recipe`` (:mod:`wds_edge_train.recipes`); ``settings``
        (``data``, ``out`` and any field) override it."""
        return cls(**{**recipe_defaults(recipe), **settings})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of the resolved dict (``config.json``): ``data`` may be the nested dict.

        Runs written before the augmentation profiles stored ``augment`` as a bool: ``true``
        was the paper's augmentation plus the kiosk camera effects (``kiosk``), ``false``
        none. Runs written before ``split_seed`` existed cut their splits with ``seed``.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if "split_seed" not in kw and kw.get("seed") is not None:
            kw["split_seed"] = kw["seed"]
        if isinstance(kw.get("data"), dict):
            kw["data"] = kw["data"]["path"]
        if isinstance(kw.get("augment"), bool):
            kw["augment"] = legacy_augment(kw["augment"])
        return cls(**kw)


def check_training_crop(crop_size: int, stem: str) -> None:
    """Raise :class:`InvalidInputError` unless ``crop_size`` suits a U-Net with ``stem``: a
    multiple of its size multiple (16; 32 for ``space_to_depth``), at least twice it. The
    sizes a message suggests pass both checks."""
    multiple = size_multiple(stem)
    smallest = 2 * multiple
    lower = crop_size // multiple * multiple
    near = [c for c in (lower, lower + multiple) if c >= smallest and c != crop_size]
    suggest = " or ".join(str(c) for c in (near or [smallest]))
    if crop_size < 16 or crop_size % multiple:
        why = (
            f"a multiple of {multiple} (the {stem} stem halves it before the U-Net pools four "
            "times)"
            if multiple != 16
            else "a positive multiple of 16 (the U-Net pools four times)"
        )
        raise InvalidInputError(
            f"crop size {crop_size} px is not {why}, of at least {smallest} px; use e.g. "
            f"--crop-size {suggest}"
        )
    if crop_size < smallest:
        # The deepest layer would be 1x1: BatchNorm cannot train on one value per channel,
        # so any batch of one image (--batch-size 1, a last batch of one) would fail.
        raise InvalidInputError(
            f"crop size {crop_size} px leaves the U-Net's deepest layer 1x1 px (the "
            f"input is divided by {multiple}), too small for BatchNorm to train on; use "
            f"--crop-size {smallest} or more"
        )
    check_crop_size(crop_size)


def check_face_crop_stem(face_crop_px: int | None, stem: str, data: str | Path) -> None:
    """Refuse, before training, face labels whose crop size the model's ``stem`` cannot take
    as its input: ``wds-edge export`` makes the face-crop size (``face_crop_px``, from
    ``labels.json``) the model's input size, which must be a multiple of
    :func:`~wds_edge_train.model.size_multiple` (32 for ``space_to_depth``). Unknown
    (None): no check.

    Raises:
        InvalidInputError: such labels (the message names ``wds-edge label --crop-size``).
    """
    multiple = size_multiple(stem)
    if face_crop_px is None or face_crop_px % multiple == 0:
        return
    lower = max(multiple, face_crop_px // multiple * multiple)
    other = ", or train with --stem none" if stem != "none" else ""
    raise InvalidInputError(
        f"{data} holds {face_crop_px} px face crops (labels.json: 'wds-edge label --crop-size "
        f"{face_crop_px}'), but a model with --stem {stem} takes inputs of a multiple of "
        f"{multiple} px, and 'wds-edge export' makes the face-crop size its input: the "
        f"trained model could not be exported. Label the photos again at a --crop-size that is "
        f"a multiple of {multiple} (e.g. 'wds-edge label --crop-size {lower}' or "
        f"{lower + multiple}){other}"
    )


def resolve_crop_size(
    crop_size: int | None, face_crop_px: int | None, stem: str, data: str | Path
) -> int:
    """The random training crop of a new run.

    Face labels (``face_crop_px`` known: every image is a square face crop of that side):
    ``crop_size`` None is the face-crop size, at most :data:`DEFAULT_CROP_SIZE` (rounded down
    to the stem's multiple); a given crop larger than the face crops is refused, since all
    but ``face_crop_px**2 / crop_size**2`` of each crop would be mirrored copies of the face
    (reflect padding) at that much more cost. Other data: ``crop_size``, or
    :data:`DEFAULT_CROP_SIZE` when None (DRIVE's 565 x 584 images are padded to it, as
    before).

    Raises:
        InvalidInputError: a crop larger than the face crops.
    """
    if face_crop_px is None:
        return DEFAULT_CROP_SIZE if crop_size is None else crop_size
    if crop_size is None:
        multiple = size_multiple(stem)
        return min(DEFAULT_CROP_SIZE, max(multiple, face_crop_px // multiple * multiple))
    if crop_size > face_crop_px:
        real = (face_crop_px / crop_size) ** 2
        raise InvalidInputError(
            f"--crop-size {crop_size} is larger than the {face_crop_px} px face crops of {data} "
            f"(labels.json: 'wds-edge label --crop-size {face_crop_px}'): each training crop "
            f"would be {1 - real:.0%} mirrored copies of the face (reflect padding, the labels "
            f"mirrored with it) at {1 / real:.1f}x the cost per step. Pass --crop-size "
            f"{face_crop_px} or less, leave --crop-size out (the face-crop size, at most "
            f"{DEFAULT_CROP_SIZE}), or label the photos at 'wds-edge label --crop-size "
            f"{crop_size}'"
        )
    return crop_size


def resolve_augment(augment: str, layout: str, data_dir: str | Path) -> str:
    """The profile ``augment`` means for this data: ``auto`` is ``kiosk`` for face data (a
    generic-layout folder written by ``wds-edge label``, recognised by its ``labels.json``)
    and ``paper`` for anything else (DRIVE, other people's data); a profile is itself."""
    if augment != "auto":
        return augment
    from wds_edge_train.labeling.runner import SUMMARY_NAME

    is_faces = layout == "generic" and (Path(data_dir) / SUMMARY_NAME).is_file()
    return "kiosk" if is_faces else "paper"


def legacy_augment(value: bool | str) -> str:
    """The profile a pre-profile run's ``augment`` bool meant (``True`` -> ``kiosk``)."""
    if isinstance(value, bool):
        return "kiosk" if value else "none"
    return value


@dataclass
class TrainProgress:
    """What the loop reports to its ``progress`` callback (the CLI draws a bar from it).

    ``kind``: ``"start"`` (``steps`` = steps per epoch), ``"step"``, ``"epoch"`` (``row`` =
    the log.csv row), ``"test"`` (``metrics``) or ``"done"``.
    """

    kind: str
    epoch: int
    epochs: int
    step: int = 0
    steps: int = 0
    loss: float | None = None
    row: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None


@dataclass
class TrainResult:
    """Where a finished run wrote its files and what it measured."""

    out_dir: Path
    best_path: Path
    last_path: Path
    best_epoch: int
    metrics: dict[str, Any]
    log: list[dict[str, Any]] = field(default_factory=list)
    #: Side in px of the face crops the model was trained on (``labels.json`` of the data:
    #: the kiosk must crop faces at this size), None where unknown (DRIVE, other data).
    face_crop_px: int | None = None
