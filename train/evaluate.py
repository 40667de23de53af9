"""Whole-image evaluation: pad to a multiple of 16 (reflect), predict, crop back, score.

Metrics (JSI Eq. 7, accuracy, sensitivity, specificity Eqs. 8-10, from
:mod:`wds_edge.model.metrics`) are reported pooled over all pixels of the set (the paper's
protocol) and as a per-image mean, restricted to the field-of-view mask when the data set
has one (DRIVE: ``mask/``; faces: the skin region).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wds_edge.errors import DataError, InvalidInputError, WdsEdgeError
from wds_edge.model.metrics import MetricAccumulator, segmentation_metrics
from wds_edge_train.augment import pad_to_multiple
from wds_edge_train.baselines import AreaScores, FairAreas, score_areas
from wds_edge_train.data import (
    LoadedSample,
    Sample,
    content_digests,
    discover_samples,
    load_sample,
    sample_digests,
)
from wds_edge_train.dataset import sample_tensors
from wds_edge_train.folds import grouping_record, groups_csv_rows, image_groups, shared_groups
from wds_edge_train.labeling.runner import labelled_face_crop_px
from wds_edge_train.model import wrinkle_probability

__all__ = ["predict_probability", "evaluate_samples", "evaluate_checkpoint"]

logger = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]


def pad_multiple(model: torch.nn.Module) -> int:
    """The side multiple a whole image is padded to for ``model``: 16 (four poolings), 32
    with the ``space_to_depth`` stem (a DDP-wrapped model is looked through)."""
    return int(getattr(model, "module", model).size_multiple)


def _padded_tensors(
    s: LoadedSample, multiple: int = 16
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    fov = s.fov if s.fov is not None else np.ones_like(s.mask)
    h, w = s.mask.shape
    image = pad_to_multiple(s.image_rgb, multiple)
    mask = pad_to_multiple(s.mask, multiple)
    # The padding is excluded from the loss: FOV is zero there.
    fov_padded = np.zeros(mask.shape, dtype=bool)
    fov_padded[:h, :w] = fov
    return sample_tensors(image, mask, fov_padded)


def predict_probability(
    model: torch.nn.Module, image_rgb: np.ndarray, device: str | torch.device = "cpu"
) -> np.ndarray:
    """F1 wrinkle probability of a whole uint8 RGB image (any size) -> float32 HxW in [0, 1]."""
    h, w = image_rgb.shape[:2]
    padded = pad_to_multiple(image_rgb, pad_multiple(model))
    x, _, _ = sample_tensors(padded, np.zeros((1, 1), bool), None)
    model.eval()
    with torch.no_grad():
        logits = model.forward_f1(x[None].to(device))
    return wrinkle_probability(logits.float())[0, 0, :h, :w].cpu().numpy()


def _cut_from(pred: np.ndarray) -> Callable[[slice, slice, np.ndarray], np.ndarray]:
    """:func:`score_areas`'s ``predict`` for a whole-image prediction."""
    return lambda rows, cols, _area: pred[rows, cols]


def evaluate_samples(
    model: torch.nn.Module,
    samples: Sequence[LoadedSample],
    device: str | torch.device = "cpu",
    threshold: float = 0.5,
    loss_fn: torch.nn.Module | None = None,
    progress: ProgressFn | None = None,
    tta_flip: bool = False,
    areas: FairAreas | None = None,
) -> dict[str, Any]:
    """Score a model on whole images (the model is moved to ``device``).

    ``tta_flip``: average the F1 probability of the image and of its horizontal mirror
    (mirrored back) before thresholding (test-time augmentation; the loss is unaffected).

    ``areas``: score only inside these areas of each image (the fair protocol of the
    baselines, paper Table 3: forehead / eyes from the landmarks, cut to the fov); the
    model still sees the whole image. Images whose areas cannot be found (no face) are
    listed in ``"problems"`` and not scored.

    Returns:
        ``{"pooled": {jsi, accuracy, sensitivity, specificity}, "per_image_mean": {...},
        "per_image": [{"stem", metrics...}], "images": [stems], "threshold": float,
        "loss": mean loss per image (only with ``loss_fn``)}``, ``"warnings"`` (only when no
        scored image has a wrinkle pixel: JSI and sensitivity are then undefined); with
        ``areas`` also
        ``"per_area"`` (pooled metrics of each area), ``"areas"`` (what was measured) and
        ``"problems"`` ({stem: why it was not scored}).

    Raises:
        InvalidInputError: no samples, a threshold outside (0, 1), or (``areas``) no image
            could be scored.
        DataError: a sample whose FOV mask has no pixels.
    """
    if not samples:
        raise InvalidInputError("no images to evaluate")
    if not 0.0 < threshold < 1.0:
        raise InvalidInputError(f"threshold must be in (0, 1), got {threshold}")
    model.to(device)
    model.eval()
    acc = MetricAccumulator()
    per_image: list[dict[str, Any]] = []
    losses: list[float] = []
    in_areas, problems = AreaScores(), {}
    for i, s in enumerate(samples):
        if s.fov is not None and not s.fov.any():  # metrics of no pixels would read 1.0
            raise DataError(
                f"sample '{s.stem}': its field-of-view mask has no pixels, so nothing can be "
                "scored; give it an FOV with the valid area set, or none (the whole image)"
            )
        h, w = s.mask.shape
        x, m, f = _padded_tensors(s, pad_multiple(model))
        with torch.no_grad():
            heads = model.forward_heads(x[None].to(device))
            if loss_fn is not None:
                losses.append(float(loss_fn(heads, m[None].to(device), f[None].to(device))))
        prob_t = wrinkle_probability(heads[0].float())
        if tta_flip:
            with torch.no_grad():
                mirrored = model.forward_f1(torch.flip(x[None].to(device), dims=(-1,)))
            prob_t = 0.5 * (prob_t + torch.flip(wrinkle_probability(mirrored.float()), (-1,)))
        prob = prob_t[0, 0, :h, :w].cpu().numpy()
        pred = prob > threshold
        if areas is None:
            acc.add(pred, s.mask, s.fov)
            per_image.append({"stem": s.stem, **segmentation_metrics(pred, s.mask, s.fov)})
        else:
            try:
                found, _ = areas.areas(s.image_rgb, s.fov, s.landmarks)
                in_areas.add(s.stem, score_areas(found, s.mask, _cut_from(pred)))
            except WdsEdgeError as exc:
                problems[s.stem] = str(exc)
                logger.warning("%s: not scored: %s", s.stem, exc)
        if progress is not None:
            progress(i + 1, len(samples))
    if areas is not None:
        if not in_areas.images:
            raise InvalidInputError(
                f"no image could be scored in the areas {areas.description} ({len(problems)} "
                f"failed); first problem: {next(iter(problems.values()))}"
            )
        out: dict[str, Any] = {
            "pooled": in_areas.pooled(),
            "per_image_mean": in_areas.per_image_mean(),
            "per_image": in_areas.images,
            "images": [m["stem"] for m in in_areas.images],
            "per_area": in_areas.per_area(),
            "areas": areas.description,
            "problems": problems,
        }
    else:
        out = {
            "pooled": acc.pooled(),
            "per_image_mean": acc.per_image_mean(),
            "per_image": per_image,
            "images": [s.stem for s in samples],
        }
    out["threshold"] = threshold
    scored_stems = set(out["images"])
    scored = [s for s in samples if s.stem in scored_stems]
    if not any((s.mask if s.fov is None else s.mask[s.fov]).any() for s in scored):
        # JSI and sensitivity of no true pixel read 1.0 by the metrics' convention (0 / 0)
        # for a model that marks nothing: say so rather than let 1.0 pass for a score
        message = (
            f"none of the {len(scored)} scored images has a wrinkle pixel in its ground truth: "
            "JSI and sensitivity are not defined here (they read 1.0 when nothing is marked, "
            "0 otherwise); score images with labelled wrinkles"
        )
        logger.warning("%s", message)
        out["warnings"] = [message]
    if loss_fn is not None:
        out["loss"] = float(np.mean(losses))
    return out


def _named_images_changed(
    config: dict[str, Any], split: str, samples: list[Sample], folder: list[Sample],
    data_dir: str | Path, layout: str,
) -> str | None:  # fmt: skip
    """Why the ``samples`` of the run's ``split`` scored from ``data_dir`` may not be the
    images the run had under those names (a warning), None when they are or it cannot tell.

    A run records each validation and test image's digests (``config["split_digests"]``):
    an image, mask or fov of other content under the name is named. A run from before that
    has only its data folder's ``content_sha256``: a folder of other content is named."""
    if split not in ("train", "val", "test") or not samples:
        return None
    recorded = (config.get("split_digests") or {}).get(split)
    if isinstance(recorded, dict) and recorded:
        differ = []
        for s in samples:
            was, now = recorded.get(s.stem), sample_digests(s)
            if was is None:
                continue
            files = [k for k in ("image", "mask", "fov") if was.get(k) != now[k]]
            if files:
                differ.append(f"{s.stem} ({', '.join(files)})")
        if not differ:
            return None
        return (
            f"{data_dir}: {len(differ)} of the {len(samples)} images named as the run's {split} "
            f"images hold other files than the run's did: {', '.join(differ[:8])}"
            + (", ..." if len(differ) > 8 else "")
            + f". These are not the run's {split} scores; pass the run's data folder as --data "
            "(or score this folder as held out with --split all)"
        )
    data = config.get("data")
    was = data.get("content_sha256") if isinstance(data, dict) else None
    if not isinstance(was, dict):
        return None

    now = content_digests(Path(data_dir), folder)
    if all(was.get(k) == now.get(k) for k in ("images", "masks", "fov")):
        return None
    return (
        f"{data_dir}: the checkpoint records no per-image digests (a run from before they "
        f"were recorded), and this folder's images / masks differ from those the run trained "
        f"on ({data.get('path')}): the {len(samples)} images scored as its {split} images by "
        "name may be other images. Pass the run's data folder as --data (or score this "
        "folder as held out with --split all)"
    )


def _check_face_scale(
    config: dict[str, Any], checkpoint: str | Path, data_dir: str | Path, allow: bool
) -> None:
    """Refuse (unless ``allow``) a ``wds-edge label`` folder whose face crops are another
    size than those the checkpoint was trained on (``export`` refuses that size too): the
    model would score faces at a scale it did not learn. Unknown on either side: no check."""
    trained, labelled = config.get("face_crop_px"), labelled_face_crop_px(data_dir)
    if trained is None or labelled is None or trained == labelled:
        return
    scale = labelled / trained
    if not allow:
        raise InvalidInputError(
            f"{data_dir} holds labels of {labelled} px face crops (labels.json) but "
            f"{checkpoint} was trained on {trained} px face crops: the model would see its "
            f"faces at {scale:.2f}x the scale it learned, not as the kiosk shows it faces "
            f"(cropped at {trained} px), so the figures would not be the model's. Label the "
            f"photos again with 'wds-edge label --crop-size {trained}', or pass "
            "--allow-scale-mismatch to score them anyway"
        )
    logger.warning(
        "scoring %d px face-crop labels with a model trained on %d px face crops "
        "(--allow-scale-mismatch): faces at %.2fx the scale it learned", labelled, trained, scale,
    )  # fmt: skip


def _shared_with_run(
    config: dict[str, Any], run_stems: set[str], stems: Sequence[str]
) -> dict[str, str]:
    """The images of ``stems`` that are not the run's but share a group (video, person)
    with one of ``run_stems``, by the grouping the run recorded (runs split image by image
    before groups existed: videos only; :func:`_run_grouping` settles the ``--groups`` file
    first)."""
    rule = (config.get("grouping") or {}).get("rule", "image")
    return shared_groups(
        run_stems, stems, rule=rule, groups_csv=config.get("groups"),
        group_by=config.get("group_by"),
    )  # fmt: skip


#: How a run's ``grouping.rule`` grouped its images, for messages.
_RULE_WORDS = {
    "video": "the frames of each video, any other image alone",
    "regex": "its --group-by expression",
    "image": "none: it was split image by image",
}


def _run_grouping(
    config: dict[str, Any],
    run_stems: set[str],
    checkpoint: str | Path,
    groups: str | Path | None,
) -> tuple[dict[str, Any], str | None]:
    """The run's config as eval compares a folder with it, and why its people cannot be
    compared (None when they can).

    A run grouped by a ``--groups`` CSV names its people only there: ``groups`` (``eval
    --groups NEWPATH``, for a file that has moved) replaces the path it recorded once it
    gives the run's images the groups the run trained with (the digest in ``grouping``, as
    ``train --resume`` checks). Without it, a recorded file that cannot be read is warned
    about once and only videos are compared (the reason is returned).

    Raises:
        InvalidInputError: ``groups`` for a run not grouped by a CSV, or one whose rows give
            the run's images other groups than it trained with (or cannot be read).
    """
    grouping = config.get("grouping") or {}
    rule = grouping.get("rule", "image")
    if groups is not None:
        if rule != "csv":
            raise InvalidInputError(
                f"--groups {groups}: the run of {checkpoint} was not grouped by a --groups "
                f"file (its groups: {_RULE_WORDS.get(rule, rule)}), so there is no file to "
                "replace; leave out --groups"
            )
        now = grouping_record(image_groups(sorted(run_stems), groups_csv=groups), "csv")
        if now["sha256"] != grouping.get("sha256"):
            raise InvalidInputError(
                f"--groups {groups} does not give the run's {len(run_stems)} images the groups "
                f"the run of {checkpoint} was trained with ({grouping.get('n_groups')} groups, "
                f"from {config.get('groups')}; this file gives {now['n_groups']}, not the same "
                "ones); pass that file where it is now (the run's folds.json lists its groups)"
            )
        return {**config, "groups": str(groups)}, None
    if rule == "csv":
        try:
            groups_csv_rows(Path(str(config.get("groups"))), sorted(run_stems))
        except InvalidInputError as exc:
            reason = (
                f"the run's --groups file cannot be read ({exc}), so only videos were "
                "compared, not its people"
            )
            logger.warning(
                "%s; pass --groups NEWPATH (the run's file where it is now) to compare them",
                reason,
            )
            return {**config, "grouping": {**grouping, "rule": "video"}}, reason
    return config, None


def _not_held_out(data_dir: str | Path, folder: Sequence[str], shared: dict[str, str]) -> str:
    """Why a folder none of whose images is the run's is still not held out."""
    groups = sorted(set(shared.values()))
    shown = ", ".join(groups[:3]) + (", ..." if len(groups) > 3 else "")
    return (
        f"{data_dir}: none of its {len(folder)} images is one of the run's, but {len(shared)} "
        f"of them share a group with the run's images ({shown}: other frames of a video, or "
        "photos of a person, the run trained or selected its model on), so the folder is not "
        "held out and its scores would be optimistic; score a folder of other videos / "
        "people, or pass --split all to score every image anyway"
    )


def evaluate_checkpoint(
    checkpoint: str | Path,
    data_dir: str | Path,
    *,
    threshold: float = 0.5,
    split: str = "all",
    device: str = "cpu",
    mask_threshold: int | None = None,
    progress: ProgressFn | None = None,
    regions: str | None = None,
    landmarker_path: str | Path | None = None,
    allow_scale_mismatch: bool = False,
    groups: str | Path | None = None,
) -> dict[str, Any]:
    """Evaluate a checkpoint on a data folder (``wds-edge eval``).

    Args:
        checkpoint: ``best.pt`` / ``last.pt`` from ``wds-edge train``.
        data_dir: generic or DRIVE layout folder.
        threshold: probability threshold (paper: 0.5).
        split: ``"all"`` images of the folder, or ``"val"`` / ``"test"`` / ``"train"``: only
            the stems the run put in that split (stored in the checkpoint); ``"auto"``
            (what ``wds-edge eval`` uses) is ``"val"`` when the checkpoint records its
            splits, ``"all"`` when none of the folder's images is in any of them nor shares
            a group with them (a held-out folder: ``"held_out": True``), else ``"all"``
            with a warning (training images would be scored). A folder none of whose images
            is the run's but some share a group with its images (other frames of a video
            it trained on; the run's ``--group-by`` / ``--groups`` person) is refused: not
            held out, nor the run's validation images.
        device: torch device string.
        mask_threshold: threshold for non-binary masks (see :mod:`wds_edge_train.data`).
        regions: score only in these areas, as ``wds-edge baseline`` scores the classic
            filters (:class:`wds_edge_train.baselines.FairAreas`): ``"forehead,eyes"``
            (landmark areas: saved ``landmarks/`` or detected), ``"forehead"``, ``"eyes"``
            or ``"none"`` (the fov / whole image, reported as one area). None: the fov /
            whole image, no areas.
        landmarker_path: FaceLandmarker model for images without saved landmarks.
        allow_scale_mismatch: score labels made at another face-crop size than the one the
            checkpoint was trained on (``labels.json``'s ``crop_size_px`` against the run's
            ``face_crop_px``; logged) instead of refusing them.
        groups: where the run's ``--groups`` CSV is now, when it has moved (checked against
            the grouping the run recorded). Without it, a run's CSV that cannot be read
            leaves its people uncompared (warned once): a folder that would be held out is
            scored whole with ``"held_out": None`` and the reason in
            ``"held_out_unverified"``.

    Raises:
        InvalidInputError: a bad split or area, labels of another face-crop size than the
            model learned (``allow_scale_mismatch`` false), a folder that is neither the
            run's split asked for nor held out, or a ``groups`` file that is not the run's.

    Returns:
        :func:`evaluate_samples` output plus ``"checkpoint"``, ``"data"``, ``"split"`` and
        ``"trained_on"``: the scored images in the run's training split (``None`` when the
        checkpoint records no split), ``"trained_group"``: the other scored images that
        share a group (a video, a person) with the run's training images, and
        ``"held_out"``: True when ``"auto"`` found none of the folder's images in the run's
        splits nor in their groups, and so scored all of them (None: it found none, but
        the run's people could not be compared), ``"held_out_unverified"``: why not (else
        None), and ``"warnings"`` when there is something to warn about: no wrinkle pixel
        in the ground truth, or images named as the run's ``train`` / ``val`` / ``test``
        images whose files differ from the run's (its per-image digests; for a checkpoint
        without them, its data folder's content digest).
    """
    from wds_edge_train.baselines import parse_regions
    from wds_edge_train.checkpoint import load_checkpoint

    parse_regions(regions)  # an unknown area is refused before the model is loaded
    ckpt = load_checkpoint(checkpoint, map_location=device)
    layout, samples = discover_samples(data_dir)
    all_samples = samples
    if layout == "generic":
        _check_face_scale(ckpt.config, checkpoint, data_dir, allow_scale_mismatch)
    splits = (ckpt.raw.get("extra") or {}).get("splits") or {}
    folder = [s.stem for s in samples]
    run_images = {stem for names in splits.values() for stem in names}
    config, unverified = _run_grouping(ckpt.config, run_images, checkpoint, groups)
    held_out: bool | None = False
    if split == "auto":
        if splits.get("val") and not run_images & set(folder):
            shared = _shared_with_run(config, run_images, folder)
            if shared:
                raise InvalidInputError(_not_held_out(data_dir, folder, shared))
            # A folder the run never saw (kept out of its data set): all of it is held out.
            split, held_out = "all", True if unverified is None else None
            logger.info(
                "%s: none of its %d images is in the run's data set (train / val / test): "
                "scoring all of them as held-out images", data_dir, len(samples),
            )  # fmt: skip
        else:
            split = "val" if splits.get("val") else "all"
        if split == "all" and held_out is False:
            logger.warning(
                "%s records no validation split: scoring every image of %s, training images "
                "included (pass --split all to silence this)", checkpoint, data_dir,
            )  # fmt: skip
    if split != "all":
        if split not in splits:
            raise InvalidInputError(
                f"split must be 'all', 'train', 'val' or 'test'; {checkpoint} has {sorted(splits)}"
            )
        wanted = set(splits[split])
        if not wanted:
            why = " (trained without --folds)" if split == "test" else ""
            others = " or ".join(f"--split {k}" for k in ("val", "test") if splits.get(k))
            raise InvalidInputError(
                f"{checkpoint}: this run has no {split} split{why}; use "
                + (f"{others} or --split all" if others else "--split all")
            )
        samples = [s for s in samples if s.stem in wanted]
        if not samples:
            if run_images & set(folder):
                raise InvalidInputError(
                    f"{data_dir}: none of the run's {split} images {sorted(wanted)[:5]} are in "
                    "it, but some of its images are in the run's other splits; to score every "
                    "image anyway, pass --split all (a folder of held-out images only, none of "
                    "them the run's, is scored whole by default)"
                )
            shared = _shared_with_run(config, run_images, folder)
            if shared:
                raise InvalidInputError(_not_held_out(data_dir, folder, shared))
            raise InvalidInputError(
                f"{data_dir}: none of its {len(folder)} images is one of the run's, so none is "
                f"in its {split} split; leave out --split to score this held-out folder whole "
                "(a folder none of whose images is the run's is scored whole by default)"
            )
    changed = _named_images_changed(ckpt.config, split, samples, all_samples, data_dir, layout)
    loaded = [load_sample(s, mask_threshold) for s in samples]
    if regions is None:
        result = evaluate_samples(ckpt.model, loaded, device, threshold, progress=progress)
    else:
        has_fov = any(s.fov is not None for s in loaded)
        with FairAreas(regions, has_fov, landmarker_path) as areas:
            result = evaluate_samples(
                ckpt.model, loaded, device, threshold, progress=progress, areas=areas
            )
    # Which scored images the run trained on (None: the checkpoint does not say).
    trained = splits.get("train")
    trained_on = sorted(set(result["images"]) & set(trained)) if trained is not None else None
    # ... and which others are frames of a video / images of a person it trained on.
    akin = _shared_with_run(config, set(trained), result["images"]) if trained else {}
    if changed is not None:
        logger.warning("%s", changed)
        result["warnings"] = [*result.get("warnings", []), changed]
    result.update({"checkpoint": str(checkpoint), "data": str(data_dir), "split": split,
                   "trained_on": trained_on, "trained_group": sorted(akin),
                   "held_out": held_out,
                   "held_out_unverified": unverified if held_out is None else None})  # fmt: skip
    return result
