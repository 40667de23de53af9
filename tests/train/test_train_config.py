"""TrainConfig.validate and resolve_device: values that cannot work are refused up front."""

from __future__ import annotations

import pytest
import torch

from wds_edge.errors import InvalidInputError
from wds_edge_train.loop import TrainConfig, resolve_device, resolve_distributed_device


def _config(**kw: object) -> TrainConfig:
    return TrainConfig(data="d", out="o", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [-1, 255, 300])
def test_mask_threshold_outside_0_254_is_refused(value: int) -> None:
    """255 (or more) would empty every label, -1 would make every pixel a wrinkle."""
    with pytest.raises(InvalidInputError, match=rf"--mask-threshold must be .* 0-254.*got {value}"):
        _config(mask_threshold=value).validate()


def test_mask_threshold_in_range_passes() -> None:
    for value in (None, 0, 127, 254):
        _config(mask_threshold=value).validate()


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("lr", float("nan"), "lr must be a finite number > 0, got nan"),
        ("lr", float("inf"), "lr must be a finite number > 0, got inf"),
        ("lr", 0.0, "lr must be a finite number > 0"),
        ("weight_decay", float("nan"), "weight_decay must be a finite number >= 0, got nan"),
        ("weight_decay", -1e-4, "weight_decay must be a finite number >= 0"),
        ("min_lr", float("nan"), "min_lr must be a finite number >= 0"),
    ],
)
def test_learning_rate_and_weight_decay_must_be_finite(field: str, value: float, says: str) -> None:
    with pytest.raises(InvalidInputError, match=says):
        _config(**{field: value}).validate()


@pytest.mark.parametrize("name", ["GPU", "bogus", "cuda:", "cuda:x", "cpu0", ""])
def test_a_device_that_is_no_device_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidInputError, match="is not a device; use auto"):
        _config(device=name).validate()
    with pytest.raises(InvalidInputError, match="is not a device; use auto"):
        resolve_device(name)


def test_device_names_in_any_case() -> None:
    assert resolve_device("CPU") == torch.device("cpu")
    assert resolve_device(" Cpu ") == torch.device("cpu")
    assert resolve_device("AUTO").type in ("cpu", "cuda")
    _config(device="CUDA:1").validate()  # a valid name; whether it exists is resolve_device's


def test_a_device_this_machine_lacks_is_refused() -> None:
    if torch.cuda.is_available():
        with pytest.raises(InvalidInputError, match=r"torch sees \d+ CUDA GPU\(s\)"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")
    else:
        with pytest.raises(InvalidInputError, match="torch sees no CUDA GPU; use cpu"):
            resolve_device("CUDA:0")
    if not torch.backends.mps.is_available():
        with pytest.raises(InvalidInputError, match="no Apple GPU"):
            resolve_device("mps")


@pytest.mark.parametrize(
    ("stem", "crop", "expected"),
    [("space_to_depth", 48, ["64"]), ("none", 20, ["32"]), ("none", 8, ["32"]),
     ("none", 100, ["96", "112"]), ("space_to_depth", 144, ["128", "160"]),
     ("space_to_depth", 40, ["64"])],
)  # fmt: skip
def test_a_refused_crop_size_suggests_only_sizes_that_pass(
    stem: str, crop: int, expected: list[str]
) -> None:
    """--stem space_to_depth --crop-size 48 suggested "e.g. 32", which was then refused as
    less than 64; --crop-size 20 suggested "16 or 32", and 16 was refused."""
    import re

    with pytest.raises(InvalidInputError) as exc:
        _config(stem=stem, crop_size=crop).validate()
    suggested = re.search(r"--crop-size ([\d or]+)$", str(exc.value))
    assert suggested is not None, str(exc.value)
    sizes = suggested.group(1).split(" or ")
    assert sizes == expected
    for size in sizes:
        _config(stem=stem, crop_size=int(size)).validate()


@pytest.mark.parametrize(
    ("stem", "crop", "smallest"), [("none", 16, 32), ("space_to_depth", 32, 64)]
)
def test_a_crop_whose_deepest_layer_is_one_pixel_is_refused(
    stem: str, crop: int, smallest: int
) -> None:
    """BatchNorm cannot train on one value per channel: a batch of one such crop crashed."""
    with pytest.raises(InvalidInputError, match=rf"deepest layer 1x1 px.*--crop-size {smallest}"):
        _config(stem=stem, crop_size=crop).validate()
    _config(stem=stem, crop_size=smallest).validate()


@pytest.mark.parametrize("seed", [-1, 2**32, 2**40])
def test_a_seed_numpy_and_torch_cannot_take_is_refused(seed: int) -> None:
    with pytest.raises(InvalidInputError, match=rf"--seed must be a whole number from 0 to "
                       rf"{2**32 - 1}, got {seed}"):  # fmt: skip
        _config(seed=seed).validate()
    _config(seed=2**32 - 1).validate()


def test_no_validation_image_is_refused_up_front() -> None:
    with pytest.raises(InvalidInputError, match="--val-count must be >= 1.*got 0; leave it out"):
        _config(val_count=0).validate()
    _config(val_count=1).validate()


def test_the_device_of_a_torchrun_process() -> None:
    """Under torchrun --device was ignored: cuda:3 ran on a CPU-only machine and cpu on a GPU
    machine used NCCL / CUDA. cpu is honoured (gloo); other devices must exist."""
    assert resolve_distributed_device("CPU", 1) == torch.device("cpu")
    with pytest.raises(InvalidInputError, match="no Apple GPU \\(MPS\\) backend.*--device cpu"):
        resolve_distributed_device("mps", 0)
    with pytest.raises(InvalidInputError, match="is not a device"):
        resolve_distributed_device("gpu", 0)
    if not torch.cuda.is_available():
        assert resolve_distributed_device("auto", 1) == torch.device("cpu")
        with pytest.raises(InvalidInputError, match="--device cuda:3 .*torch sees no CUDA GPU"):
            resolve_distributed_device("cuda:3", 0)
        return
    count = torch.cuda.device_count()
    assert resolve_distributed_device("auto", 0) == torch.device("cuda", 0)
    assert resolve_distributed_device("cuda", count - 1) == torch.device("cuda", count - 1)
    with pytest.raises(InvalidInputError, match=r"GPU of its LOCAL_RANK.*CUDA_VISIBLE_DEVICES"):
        resolve_distributed_device("cuda:0", 1)
    with pytest.raises(InvalidInputError, match=rf"LOCAL_RANK {count} has no GPU of its own"):
        resolve_distributed_device("cuda", count)


@pytest.mark.parametrize("recipe", ["project", "paper", "official"])
def test_a_recipe_named_is_the_recipe_trained(recipe: str) -> None:
    """TrainConfig(recipe="official") recorded 'official' but trained with the project's
    settings (only from_recipe applied it); a value given still overrides the recipe."""
    from wds_edge_train.recipes import recipe_defaults

    config = _config(recipe=recipe)
    assert config == TrainConfig.from_recipe(recipe, data="d", out="o")
    for name, value in recipe_defaults(recipe).items():
        assert getattr(config, name) == value, name
    mixed = _config(recipe=recipe, activation="leaky_relu", seed=7, amp=True)
    assert (mixed.activation, mixed.seed, mixed.amp) == ("leaky_relu", 7, True)
    assert mixed.dice == recipe_defaults(recipe)["dice"]


def test_the_defaults_are_the_project_recipe() -> None:
    config = _config()
    assert (config.recipe, config.dice, config.activation, config.input_norm) == (
        "project", "binary", "leaky_relu", "unit"
    )  # fmt: skip
    assert (config.augment, config.amp, config.seed, config.wwm_fill) == (
        "auto", True, 0, "nonzero_mean"
    )  # fmt: skip


def test_the_training_crop_follows_the_face_labels() -> None:
    """Left out, the crop is the labels' face-crop size up to 640 (rounded down to the
    stem's multiple); 640 where that size is unknown (DRIVE, other data). A given crop
    larger than the face crops is refused (it was reflect-padded: 256 px faces in 640 px
    crops are 84 % mirrored copies at 6x the cost); one as large or smaller is kept."""
    from wds_edge_train.config import DEFAULT_CROP_SIZE, resolve_crop_size

    assert _config().crop_size is None  # resolved when the run starts, from the data
    _config().validate()
    assert DEFAULT_CROP_SIZE == 640
    assert resolve_crop_size(None, 256, "none", "labels") == 256
    assert resolve_crop_size(None, 800, "none", "labels") == 640
    assert resolve_crop_size(None, 208, "space_to_depth", "labels") == 192
    assert resolve_crop_size(None, None, "none", "drive") == 640
    assert resolve_crop_size(592, None, "none", "drive584") == 592  # DRIVE pads on purpose
    assert resolve_crop_size(128, 256, "none", "labels") == 128
    assert resolve_crop_size(256, 256, "none", "labels") == 256
    with pytest.raises(
        InvalidInputError,
        match=r"--crop-size 640 is larger than the 256 px face crops of labels \(labels.json: "
        r"'wds-edge label --crop-size 256'\): each training crop would be 84% mirrored .* "
        r"6.2x the cost .*Pass --crop-size 256 or less, leave --crop-size out",
    ):
        resolve_crop_size(640, 256, "none", "labels")


def test_space_to_depth_needs_face_crops_of_a_multiple_of_32() -> None:
    from wds_edge_train.config import check_face_crop_stem

    check_face_crop_stem(240, "none", "labels")  # a multiple of 16: the plain U-Net takes it
    check_face_crop_stem(256, "space_to_depth", "labels")
    check_face_crop_stem(None, "space_to_depth", "drive")  # unknown: export decides
    with pytest.raises(
        InvalidInputError,
        match=r"labels holds 240 px face crops .*--stem space_to_depth takes inputs of a "
        r"multiple of 32 px.*could not be exported.*'wds-edge label --crop-size 224' or 256\), "
        r"or train with --stem none",
    ):
        check_face_crop_stem(240, "space_to_depth", "labels")
