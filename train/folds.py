"""Seeded train / validation / test splits and k-fold cross-validation, cut by group.

Images are split in **groups**, never one by one: the frames ``wds-edge frames`` cut from
one video (``<video>_f<index>``: one person, near-identical from frame to frame) are one
group, so they all land in the same split; any other image is a group of its own. Photo
sets with several photos per person name their groups with a CSV (``--groups``: image,
group) or a regular expression on the image name (``--group-by``), see
:func:`image_groups`.

With ``folds = K`` and ``fold = I`` the groups are shuffled with the seed and cut into K
folds of near-equal image counts; fold I is the **test** fold (scored once, at the end,
with the checkpoint selected on validation). The validation split used for model
selection is carved from the remaining groups with the same seed. Without folds there is
no test split. When every group is one image, the splits are the ones cut image by image
before groups existed (same seed, same splits).
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wds_edge.errors import InvalidInputError
from wds_edge.io import read_csv_pairs

log = logging.getLogger(__name__)

__all__ = [
    "FRAME_STEM_RE",
    "image_groups",
    "grouping_record",
    "grouping_rule",
    "groups_csv_rows",
    "members_of",
    "make_splits",
    "shared_groups",
]

#: A frame ``wds-edge frames`` wrote (``wds_edge.capture.extract.frame_file_name``:
#: ``<prefix>_f<index:06d>``): the frames of one video share ``<prefix>``.
FRAME_STEM_RE = re.compile(r"(?P<video>.+)_f\d+")


def _video_group(stem: str) -> str:
    match = FRAME_STEM_RE.fullmatch(stem)
    return match["video"] if match else stem


def _regex_group(pattern: re.Pattern[str], stem: str) -> str:
    """``--group-by``'s group of one stem: the expression's first capture group (the whole
    match when it has none); a stem it does not match is grouped as without it (its video
    for a frame, else itself)."""
    match = pattern.search(stem)
    if match is None:
        return _video_group(stem)
    return (match.group(1) if pattern.groups else match.group(0)) or ""


def _read_groups_csv(path: Path, stems: Sequence[str]) -> dict[str, str]:
    """``image,group`` rows (image = file name or stem; an ``image,group`` header allowed)
    for every stem of ``stems``."""
    mapping = groups_csv_rows(path, stems)
    missing = sorted(set(stems) - set(mapping))
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise InvalidInputError(
            f"--groups {path} does not name the group of {len(missing)} image(s) of the data "
            f"({shown}); add an 'image,group' row for each (a person alone is a group of one)"
        )
    return {s: mapping[s] for s in stems}


def groups_csv_rows(path: Path, stems: Sequence[str]) -> dict[str, str]:
    """Every ``image,group`` row of a ``--groups`` CSV: stem -> group (an image named as in
    ``stems`` kept as it is, any other by its file stem)."""
    wanted = set(stems)
    mapping: dict[str, str] = {}
    for image, group in read_csv_pairs(path, "--groups", "image,group"):
        name = image if image in wanted else Path(image).stem
        if name in mapping and mapping[name] != group:
            raise InvalidInputError(
                f"--groups {path}: {image!r} is in two groups ({mapping[name]!r}, {group!r})"
            )
        mapping[name] = group
    return mapping


def image_groups(
    stems: Sequence[str], *, groups_csv: str | Path | None = None, group_by: str | None = None
) -> dict[str, str]:
    """The group of each image stem (images of one group always share a split).

    Args:
        stems: the data's image stems.
        groups_csv: a CSV of ``image,group`` rows naming every image's group (a person, a
            session): the image as file name or stem, a header row allowed.
        group_by: a regular expression searched in each stem: its first capture group (the
            whole match when it has none) is the group, e.g. ``^([a-z]+)_`` for
            ``anna_01``, ``anna_02``. A stem it does not match is grouped as without it (a
            frame by its video, any other image alone); a frame it matches takes the
            expression's group (which may join a person's photos and videos), but the
            frames of one video must all get one group. A group name the expression gives
            that is also a video's name is one group with that video's frames.
        Neither: the frames of one video (``<video>_f<digits>``, what ``wds-edge frames``
        names them) are one group, any other image a group of its own.

    Raises:
        InvalidInputError: both options, an unreadable / incomplete CSV, a bad expression,
            an expression that matches no image at all, or one that gives the frames of a
            video several groups.
    """
    if groups_csv is not None and group_by is not None:
        raise InvalidInputError("pass one of --groups FILE.csv or --group-by REGEX, not both")
    if groups_csv is not None:
        return _read_groups_csv(Path(groups_csv), stems)
    if group_by is None:
        return {s: _video_group(s) for s in stems}
    try:
        pattern = re.compile(group_by)
    except re.error as exc:
        raise InvalidInputError(
            f"--group-by {group_by!r} is not a regular expression ({exc}); e.g. '^([a-z]+)_' "
            "groups anna_01 and anna_02 as 'anna'"
        ) from None
    out = {s: _regex_group(pattern, s) for s in stems}
    empty = [s for s in stems if not out[s]]
    if empty:
        raise InvalidInputError(
            f"--group-by {group_by!r} gives {empty[0]!r} an empty group; make the group part "
            "match at least one character"
        )
    if not any(pattern.search(s) for s in stems):
        raise InvalidInputError(
            f"--group-by {group_by!r} matches none of the {len(stems)} image names (e.g. "
            f"{sorted(stems)[0]!r}), so it names no group; fix the expression, or leave "
            "--group-by out (frames are then grouped by video, any other image alone)"
        )
    videos: dict[str, set[str]] = {}
    for s in stems:
        if FRAME_STEM_RE.fullmatch(s):
            videos.setdefault(_video_group(s), set()).add(out[s])
    torn = {v: sorted(g) for v, g in sorted(videos.items()) if len(g) > 1}
    if torn:
        video, names = next(iter(torn.items()))
        shown = ", ".join(repr(g) for g in names[:3]) + (", ..." if len(names) > 3 else "")
        raise InvalidInputError(
            f"--group-by {group_by!r} gives the frames of video {video!r} ({video}_f<index>) "
            f"{len(names)} groups ({shown}), but the frames of one video always share a "
            "split; make the expression give all of a video's frames one group, or match no "
            "frame name (frames it does not match are grouped by their video)"
        )
    return out


def shared_groups(
    run_stems: Collection[str],
    stems: Sequence[str],
    *,
    rule: str = "video",
    groups_csv: str | Path | None = None,
    group_by: str | None = None,
) -> dict[str, str]:
    """The images of another folder (``stems``) that are none of the run's images but share
    a group with one of them (``run_stems``): stem -> that group.

    A frame of a video the run holds frames of always shares its group (the frames rule
    holds under every rule: a video is one person). Under the run's ``rule`` ``regex``
    (``group_by``, with the fallbacks of :func:`image_groups`) or ``csv`` (``groups_csv``:
    the rows of the images it names; an unreadable file is logged and only videos are
    compared), an image whose group is one of the run's groups shares it too. ``image`` /
    ``video``: videos only.

    Raises:
        InvalidInputError: a ``group_by`` that is not a regular expression, or a CSV whose
            rows are malformed.
    """
    run = set(run_stems)
    run_videos = {_video_group(s) for s in run}
    pattern = re.compile(group_by) if rule == "regex" and group_by is not None else None
    rows: dict[str, str] = {}
    if rule == "csv" and groups_csv is not None:
        try:
            rows = groups_csv_rows(Path(groups_csv), [*run, *stems])
        except InvalidInputError as exc:
            log.warning("the run's groups cannot be read (%s); comparing videos only", exc)

    def by_rule(stem: str) -> str | None:
        return _regex_group(pattern, stem) if pattern is not None else rows.get(stem)

    run_groups = {by_rule(s) for s in run} - {None, ""}
    out: dict[str, str] = {}
    for stem in stems:
        if stem in run:
            continue
        group = by_rule(stem)
        if group and group in run_groups:
            out[stem] = group
        elif FRAME_STEM_RE.fullmatch(stem) and _video_group(stem) in run_videos:
            out[stem] = _video_group(stem)
    return out


def grouping_record(groups: Mapping[str, str], rule: str) -> dict[str, Any]:
    """What a run stores of its grouping (``config.json``, compared on ``--resume``): the
    rule (``video``, ``csv``, ``regex``; ``image`` for runs split before groups existed),
    the number of groups and the SHA-256 of the sorted ``stem<TAB>group`` lines."""
    lines = "\n".join(f"{s}\t{g}" for s, g in sorted(groups.items()))
    return {
        "rule": rule,
        "n_groups": len(set(groups.values())),
        "sha256": hashlib.sha256(lines.encode()).hexdigest(),
    }


def grouping_rule(groups_csv: str | Path | None, group_by: str | None) -> str:
    """``csv``, ``regex`` or ``video``: which rule :func:`image_groups` applies."""
    return "csv" if groups_csv is not None else "regex" if group_by is not None else "video"


def members_of(groups: Mapping[str, str]) -> dict[str, list[str]]:
    """group -> its sorted stems (what ``folds.json`` records)."""
    out: dict[str, list[str]] = {}
    for stem in sorted(groups):
        out.setdefault(groups[stem], []).append(stem)
    return dict(sorted(out.items()))


def _one_group(names: Sequence[str], keys: Sequence[str]) -> str:
    """Why fewer than 2 groups cannot be split: training needs one group to train on and
    another to select the model on (validation), never the same video / person in both."""
    if len(names) < 2:
        return (
            f"{len(names)} image cannot be split into training and validation images; "
            "training needs at least 2 (from 2 videos or people): add images"
        )
    need = "training needs at least 2 groups, one to train on and another to select the model on"
    if all(_video_group(s) == keys[0] and s != keys[0] for s in names):
        return (
            f"all {len(names)} images are frames of one video ({keys[0]!r}: one person, "
            "near-identical from frame to frame), and a video's frames always share a split; "
            f"{need}: add the frames of another recording or person ('wds-edge frames' of a "
            "second video into the photo folder, then label it again)"
        )
    return (
        f"all {len(names)} images are one group ({keys[0]!r}: one person, by --groups / "
        f"--group-by), and a group's images always share a split; {need}: add the photos of "
        "another person, or give the images their people's groups (--groups FILE.csv of "
        "image,group rows, or --group-by REGEX)"
    )


def _cut(sizes: list[int], folds: int) -> list[int]:
    """Boundaries 0 = p0 < p1 < ... < pK = len(sizes) of K contiguous runs of groups whose
    image counts come nearest to ``np.array_split`` of the images (exactly it when every
    group is one image)."""
    cum = np.concatenate([[0], np.cumsum(sizes)])
    targets = np.cumsum([len(c) for c in np.array_split(np.arange(int(cum[-1])), folds)])
    bounds = [0]
    for i in range(1, folds):
        lo, hi = bounds[-1] + 1, len(sizes) - (folds - i)
        candidates = np.arange(lo, hi + 1)
        bounds.append(int(candidates[np.argmin(np.abs(cum[candidates] - targets[i - 1]))]))
    return [*bounds, len(sizes)]


def make_splits(
    stems: Sequence[str],
    *,
    seed: int = 0,
    folds: int | None = None,
    fold: int | None = None,
    val_fraction: float = 0.2,
    val_count: int | None = None,
    groups: Mapping[str, str] | None = None,
) -> dict[str, list[str]]:
    """Split image stems into ``{"train": [...], "val": [...], "test": [...]}`` (sorted lists).

    Args:
        stems: unique image identifiers.
        seed: shuffling seed (same seed, same stems -> same split).
        folds: number of cross-validation folds K (None: no test split).
        fold: index of the test fold, 0 <= fold < K.
        val_fraction: share of the non-test images used for validation (rounded up, >= 1).
        val_count: number of validation images (overrides ``val_fraction``).
        groups: stem -> group (:func:`image_groups`); a group's images share a split, and
            validation takes whole groups until it holds at least the images asked for.
            None: every image is its own group.

    Raises:
        InvalidInputError: inconsistent arguments, too few images or groups.
    """
    names = sorted(set(stems))
    if len(names) != len(stems):
        raise InvalidInputError("image stems must be unique (two files share a name)")
    if (folds is None) != (fold is None):
        raise InvalidInputError("pass --folds and --fold together (e.g. --folds 6 --fold 0)")
    group_of = dict(groups) if groups is not None else {s: s for s in names}
    ungrouped = [s for s in names if s not in group_of]
    if ungrouped:
        raise InvalidInputError(f"no group given for image(s) {ungrouped[:5]}")
    members = members_of({s: group_of[s] for s in names})
    keys = sorted(members)
    grouped = len(keys) < len(names)
    rng = np.random.default_rng(seed)
    order = [keys[i] for i in rng.permutation(len(keys))]
    test: list[str] = []
    if folds is not None and fold is not None and (folds < 2 or not 0 <= fold < folds):
        raise InvalidInputError(f"need folds >= 2 and 0 <= fold < folds, got {folds=} {fold=}")
    if len(keys) < 2:
        raise InvalidInputError(_one_group(names, keys))
    if folds is not None and fold is not None:
        if len(keys) < folds:
            # Each fold takes at least one group; folds can only go down to 2.
            fewer = (
                f"use --folds {len(keys)} or fewer (at least 2), or "
                if len(keys) > 2
                else "leave out --folds (no test fold), or "
            )
            raise InvalidInputError(
                f"{len(names)} images in {len(keys)} groups (videos / people: a group's images "
                f"always share a fold) cannot make {folds} folds; {fewer}add people"
                if grouped
                else f"{len(names)} images cannot make {folds} folds; {fewer}add images"
            )
        bounds = _cut([len(members[k]) for k in order], folds)
        test = order[bounds[fold] : bounds[fold + 1]]
        order = [k for k in order if k not in set(test)]
    n_rest = sum(len(members[k]) for k in order)
    if val_count is None:
        if not 0 < val_fraction < 1:
            raise InvalidInputError(f"val_fraction must be in (0, 1), got {val_fraction}")
        val_count = max(1, math.ceil(val_fraction * n_rest - 1e-9))
    elif val_count < 1:
        raise InvalidInputError(
            f"--val-count must be >= 1 (the validation images select the checkpoint), got "
            f"{val_count}"
        )
    rest = [order[i] for i in np.random.default_rng(seed + 1).permutation(len(order))]
    taken, n_val = 0, 0
    while taken < len(rest) and n_val < val_count:
        n_val += len(members[rest[taken]])
        taken += 1
    if taken >= len(rest) and len(rest) < 2:
        # Only with --folds (two groups or more were checked above): the test fold took
        # every group but one, and validation needs a group apart from the training one.
        what = "groups" if grouped else "images"
        raise InvalidInputError(
            f"test fold {fold} of {folds} leaves {n_rest} image(s)"
            + (" in 1 group" if grouped else "")
            + f" outside it, and training needs 2 {what} there (one to train on, another to "
            f"select the model on); add {'videos / people' if grouped else 'images'}, "
            + (
                f"use more --folds (at most {len(keys)}: each test fold then holds fewer {what}), "
                if folds is not None and folds < len(keys)
                else ""
            )
            + "or leave out --folds (no test fold)"
        )
    if taken >= len(rest):
        raise InvalidInputError(
            f"cannot carve {val_count} validation image(s) from {n_rest} training image(s)"
            + (f" in {len(rest)} groups (a group's images share a split)" if grouped else "")
            + "; add images or lower --val-count / --val-fraction"
        )
    val = [s for k in rest[:taken] for s in members[k]]
    train = [s for k in rest[taken:] for s in members[k]]
    return {
        "train": sorted(train),
        "val": sorted(val),
        "test": sorted(s for k in test for s in members[k]),
    }
