"""Aggregate DRIVE ablation results: mean / std per mode and per-seed paired differences.

Reads any number of ``results.json`` files written by ``benchmarks/drive_ablation.py``
(e.g. two invocations that ran side by side), groups the runs by (dice, mode), and prints
with rich, for the validation JSI of the best and of the last-epoch checkpoint (and their
flip-TTA variants when present):

* mean and sample standard deviation over the seeds of every (dice, mode);
* the per-seed paired differences ``wds - ds`` and ``wds - plain`` (same split, same
  initialisation), their mean and standard deviation.

Runs are only grouped and paired with runs of the same settings: each run's own resolved
configuration (:func:`run_settings`: width, crop, epochs, recipe, augmentation ... and the 584
padding; a file written before runs recorded theirs lends its file-level ``settings``), never
the file's. A group's name holds its augmentation profile (recorded since the profiles exist;
older files can name it with ``--augment-of FILE=PROFILE``) and every setting in which the
groups differ, e.g. ``binary/wds [paper]``, ``binary/wds [paper, epochs=50]``. Two runs of
the same seed, mode and settings (the same run given twice, or run twice) are refused: one
would silently replace the other. The data a run trained on is one of its settings
(``data_content``: a digest of its config's ``data.content_sha256``, the images and masks
under their names): runs on other images are never paired, and the summary's ``unpaired``
says, for each run left without a partner of its seed, in which settings the partners differ.

``--by-config`` prints instead one row per run with its own configuration (width, crop,
epochs, 584 padding, loss) and its difference to the first file's run of the same seed and
mode: the one-factor-at-a-time comparison of configurations (issue 10, item 4).

Usage::

    python benchmarks/drive_summary.py runs/A/results.json runs/B/results.json \\
        --out runs/drive_summary.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from wds_edge.errors import InvalidInputError  # noqa: E402

SCORES = ("best", "last", "best_tta_flip", "last_tta_flip")
PAIRS = (("wds", "ds"), ("wds", "plain"), ("ds", "plain"))
#: Fields of a run's ``config`` (its resolved TrainConfig) that name the run or the machine,
#: or that a group already holds (seed, loss, Dice; split_seed, which the ablation sets to
#: the seed and which runs from before it existed lack; split_digests, its validation
#: images' digests, which follow the seed): not settings of the experiment.
NOT_SETTINGS = frozenset(
    {
        "out", "data", "seed", "split_seed", "loss", "dice", "device", "workers",
        "tensorboard", "provenance", "split_digests",
    }
)  # fmt: skip
#: The settings a table names first (the others are compared, and named when they differ).
SHOWN = ("base_channels", "crop_size", "epochs", "batch_size", "pad_584", "augment", "recipe")


def run_settings(
    run: dict[str, Any], data: dict[str, Any] | None = None, augment_named: str | None = None
) -> dict[str, Any]:
    """What ``run`` was trained with besides its seed, loss and Dice.

    Its own ``config`` (every field but :data:`NOT_SETTINGS`), its augmentation profile and
    whether DRIVE was padded to 584 px. A run written before runs recorded their
    configuration takes its file's (``data``) ``settings`` and recipe.
    """
    data = data or {}
    config = run.get("config")
    if config:
        out = {k: v for k, v in config.items() if k not in NOT_SETTINGS}
    else:
        out = dict(data.get("settings") or {})
        recipe = run.get("recipe", data.get("recipe"))
        if recipe is not None:
            out["recipe"] = recipe
    out["augment"] = _augment(run, data, augment_named)
    out["pad_584"] = bool(run.get("pad_584", data.get("pad_584", False)))
    out["data_content"] = data_content(run)
    return out


def data_content(run: dict[str, Any]) -> str | None:
    """A short digest (12 hex digits) of what ``run`` trained on: its config's
    ``data.content_sha256`` (images, masks, fov ... under their names); None for a run that
    did not record it. Runs on other images are neither grouped nor paired."""
    data = (run.get("config") or {}).get("data")
    content = data.get("content_sha256") if isinstance(data, dict) else None
    if not isinstance(content, dict):
        return None
    text = json.dumps(content, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def settings_key(settings: dict[str, Any]) -> str:
    """A hashable form of :func:`run_settings` (equal settings, equal keys)."""
    return json.dumps(settings, sort_keys=True, default=str)


def varying(all_settings: list[dict[str, Any]]) -> list[str]:
    """The settings that differ between any two of ``all_settings``, :data:`SHOWN` first."""
    keys = {k for s in all_settings for k in s}
    differ = {k for k in keys if len({json.dumps(s.get(k), default=str) for s in all_settings}) > 1}
    return [k for k in SHOWN if k in differ] + sorted(differ - set(SHOWN))


def _stats(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "mean": statistics.fmean(values) if values else None,
        "std": statistics.stdev(values) if len(values) > 1 else None,
        "values": values,
    }


def _augment(run: dict[str, Any], data: dict[str, Any], named: str | None) -> str | None:
    return run.get("augment") or data.get("augment") or named


def _group(dice: str, mode: str, settings: dict[str, Any], shown: list[str]) -> str:
    """``dice/mode [augment, key=value ...]``: the augmentation when known, and the settings
    in which the groups differ (``shown``)."""
    parts = [settings["augment"]] if settings.get("augment") else []
    parts += [f"{k}={settings.get(k)}" for k in shown if k != "augment"]
    return f"{dice}/{mode}" + (f" [{', '.join(parts)}]" if parts else "")


def summarize(result_files: list[Path], augment_of: dict[str, str] | None = None) -> dict[str, Any]:
    """The summary as a JSON-compatible dict (see the module docstring).

    ``augment_of``: file path -> augmentation profile, for files written before runs
    recorded their own.

    Raises:
        InvalidInputError: two runs of the same seed, mode, Dice and settings.
    """
    runs: list[dict[str, Any]] = []
    sources = []
    for path in result_files:
        data = json.loads(Path(path).read_text())
        sources.append({"file": str(path), "settings": data.get("settings"),
                        "wall_s": data.get("wall_s")})  # fmt: skip
        named = (augment_of or {}).get(str(path))
        for r in data["runs"]:
            settings = run_settings(r, data, named)
            runs.append({**r, "augment": settings["augment"], "settings": settings,
                         "file": str(path)})  # fmt: skip
    by_key: dict[tuple[str, str, str], dict[int, dict[str, Any]]] = {}
    settings_of: dict[str, dict[str, Any]] = {}
    for r in runs:
        key = settings_key(r["settings"])
        settings_of[key] = r["settings"]
        seeds = by_key.setdefault((r["dice"], r["mode"], key), {})
        seed = int(r["seed"])
        if seed in seeds:
            raise InvalidInputError(
                f"{seeds[seed]['file']} and {r['file']} both hold seed {seed} of "
                f"{r['dice']}/{r['mode']} with the same settings: one would replace the other; "
                "give only one of those runs (the same file twice? a run repeated?)"
            )
        seeds[seed] = r
    shown = varying(list(settings_of.values()))
    modes: dict[str, Any] = {}
    for (dice, mode, key), seeds in sorted(by_key.items()):
        augment = settings_of[key]["augment"]
        entry: dict[str, Any] = {"dice": dice, "mode": mode, "augment": augment,
                                 "settings": settings_of[key], "seeds": sorted(seeds)}  # fmt: skip
        for score in SCORES:
            vals = [seeds[s][score]["jsi"] for s in sorted(seeds) if score in seeds[s]]
            if vals:
                entry[score] = _stats(vals)
        for k in ("accuracy", "sensitivity", "specificity"):
            entry[f"best_{k}"] = _stats([seeds[s]["best"][k] for s in sorted(seeds)])
        entry["wall_s"] = [seeds[s].get("train_s", seeds[s]["wall_s"]) for s in sorted(seeds)]
        entry["best_epoch"] = [seeds[s]["best_epoch"] for s in sorted(seeds)]
        modes[_group(dice, mode, settings_of[key], shown)] = entry
    paired: dict[str, Any] = {}
    for dice, key in sorted({(d, k) for d, _, k in by_key}):  # same settings only
        for a, b in PAIRS:
            sa, sb = by_key.get((dice, a, key), {}), by_key.get((dice, b, key), {})
            common = sorted(set(sa) & set(sb))
            if not common:
                continue
            entry = {"seeds": common}
            for score in SCORES:
                if all(score in sa[s] and score in sb[s] for s in common):
                    diffs = [sa[s][score]["jsi"] - sb[s][score]["jsi"] for s in common]
                    entry[score] = _stats(diffs)
            paired[_group(dice, f"{a}-{b}", settings_of[key], shown)] = entry
    return {"sources": sources, "modes": modes, "paired": paired, "unpaired": unpaired(runs)}


def unpaired(runs: list[dict[str, Any]]) -> list[str]:
    """Why runs that a pair (:data:`PAIRS`) would join are left unpaired: for each run with no
    partner of the same seed, Dice and settings, the settings in which the partners of its
    seed and Dice differ (their data, epochs, ...); one line each."""
    lines = []
    for a, b in PAIRS:
        for r in (r for r in runs if r["mode"] == a):
            partners = [
                p for p in runs
                if p["mode"] == b and p["dice"] == r["dice"] and int(p["seed"]) == int(r["seed"])
            ]  # fmt: skip
            if not partners or any(p["settings"] == r["settings"] for p in partners):
                continue
            for p in partners:
                differ = [
                    f"{k} {r['settings'].get(k)!r} vs {p['settings'].get(k)!r}"
                    for k in sorted(set(r["settings"]) | set(p["settings"]))
                    if r["settings"].get(k) != p["settings"].get(k)
                ]
                other_data = r["settings"].get("data_content") != p["settings"].get("data_content")
                lines.append(
                    f"seed {r['seed']} {r['dice']}/{a} ({r['file']}) is not paired with "
                    f"{b} ({p['file']}): their settings differ: {'; '.join(differ)}"
                    + (" (trained on other data)" if other_data else "")
                )
    return lines


def config_rows(
    result_files: list[Path], augment_of: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """One row per run: its own configuration (:func:`run_settings`), its scores, and
    ``delta`` = its JSI minus the JSI of the first file's run with the same seed and mode
    (per score; ``None`` without one)."""
    rows: list[dict[str, Any]] = []
    for path in result_files:
        data = json.loads(Path(path).read_text())
        named = (augment_of or {}).get(str(path))
        for r in data["runs"]:
            settings = run_settings(r, data, named)
            rows.append({
                "file": str(path), "seed": int(r["seed"]), "mode": r["mode"], "dice": r["dice"],
                "base": settings.get("base_channels"), "crop": settings.get("crop_size"),
                "epochs": settings.get("epochs"), "pad_584": settings["pad_584"],
                "augment": settings["augment"], "settings": settings,
                "best_epoch": r["best_epoch"], "wall_s": r.get("train_s", r["wall_s"]),
                "scores": {k: r[k]["jsi"] for k in SCORES if k in r},
                "sensitivity": r["best"]["sensitivity"], "specificity": r["best"]["specificity"],
            })  # fmt: skip
    first = str(result_files[0])
    reference = {(r["seed"], r["mode"], r["dice"]): r for r in rows if r["file"] == first}
    for r in rows:
        ref = reference.get((r["seed"], r["mode"], r["dice"]))
        r["delta"] = {
            k: (v - ref["scores"][k] if ref is not None and k in ref["scores"] else None)
            for k, v in r["scores"].items()
        }
    return rows


def config_markdown(rows: list[dict[str, Any]]) -> str:
    """:func:`config_rows` as a Markdown table (difference to the first file in brackets)."""
    header = ("run", "base", "crop", "epochs", "pad 584", "augment", "loss", "seed", "JSI best",
              "JSI last",
              "best + flip", "last + flip", "sens (best)", "spec (best)", "best epoch", "min",
              "s / epoch")  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for r in rows:
        pad = "yes" if r["pad_584"] else "no"
        cells = [Path(r["file"]).parent.name, str(r["base"]), str(r["crop"]), str(r["epochs"]),
                 pad, r["augment"] or "?", f"{r['dice']}/{r['mode']}", str(r["seed"])]  # fmt: skip
        for k in SCORES:
            if k not in r["scores"]:
                cells.append("-")
                continue
            d = r["delta"][k]
            delta = "" if d is None or r["file"] == rows[0]["file"] else f" ({d:+.4f})"
            cells.append(f"{r['scores'][k]:.4f}{delta}")
        per_epoch = f"{r['wall_s'] / r['epochs']:.1f}" if r["epochs"] else "-"
        cells += [f"{r['sensitivity']:.4f}", f"{r['specificity']:.4f}", str(r["best_epoch"]),
                  f"{r['wall_s'] / 60:.1f}", per_epoch]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(stats: dict[str, Any] | None, signed: bool = False) -> str:
    if not stats or stats["mean"] is None:
        return "-"
    mean = f"{stats['mean']:+.4f}" if signed else f"{stats['mean']:.4f}"
    return mean if stats["std"] is None else f"{mean} ± {stats['std']:.4f}"


def markdown(summary: dict[str, Any]) -> str:
    """The two tables as Markdown (for benchmarks/RESULTS.md)."""
    lines = ["| dice / mode | seeds | JSI best | JSI last | best + flip | last + flip | "
             "sens (best) | spec (best) | per seed (best) | best epochs | min per run |",
             "|---" * 11 + "|"]  # fmt: skip
    for key, m in summary["modes"].items():
        cells = [key, ",".join(map(str, m["seeds"])), *(_fmt(m.get(s)) for s in SCORES),
                 _fmt(m["best_sensitivity"]), _fmt(m["best_specificity"]),
                 " ".join(f"{v:.4f}" for v in m["best"]["values"]),
                 " ".join(map(str, m["best_epoch"])),
                 " ".join(f"{w / 60:.1f}" for w in m["wall_s"])]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| paired difference | seeds | JSI best | JSI last | best + flip | last + flip | "
              "per seed (best) |", "|---" * 7 + "|"]  # fmt: skip
    for key, p in summary["paired"].items():
        per_seed = " ".join(f"{v:+.4f}" for v in p["best"]["values"]) if "best" in p else "-"
        cells = [key, ",".join(map(str, p["seeds"])),
                 *(_fmt(p.get(s), signed=True) for s in SCORES), per_seed]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    lines += [f"\nUnpaired: {line}" for line in summary.get("unpaired", [])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, nargs="+", help="results.json files")
    parser.add_argument("--out", type=Path, help="write the summary JSON here")
    parser.add_argument("--markdown", action="store_true", help="also print Markdown tables")
    parser.add_argument(
        "--augment-of", action="append", default=[], metavar="FILE=PROFILE",
        help="the augmentation of a file's runs written before runs recorded it (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--by-config", action="store_true",
        help="one row per run and configuration, against the first file's run",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.by_config:
        rows = config_rows(args.results, dict(item.split("=", 1) for item in args.augment_of))
        print(config_markdown(rows))
        if args.out:
            from wds_edge.io import write_json_atomic

            write_json_atomic(args.out, {"runs": rows})
        return 0

    from rich.console import Console
    from rich.table import Table

    augment_of = dict(item.split("=", 1) for item in args.augment_of)
    try:
        summary = summarize(args.results, augment_of)
    except InvalidInputError as exc:
        parser.error(str(exc))
    console = Console(width=160)
    table = Table(title="DRIVE ablation: validation JSI (4 images per seed), mean ± std over seeds")
    for col in ("dice / mode", "seeds", "best", "last", "best + flip", "last + flip",
                "sens (best)", "spec (best)", "per seed (best)"):  # fmt: skip
        table.add_column(col, justify="right")
    for key, m in summary["modes"].items():
        table.add_row(
            key, ",".join(map(str, m["seeds"])), *(_fmt(m.get(s)) for s in SCORES),
            _fmt(m["best_sensitivity"]), _fmt(m["best_specificity"]),
            " ".join(f"{v:.4f}" for v in m["best"]["values"]),
        )  # fmt: skip
    console.print(table)
    pairs = Table(title="Paired differences (same seed = same split and initialisation)")
    for col in ("pair", "seeds", "best", "last", "best + flip", "last + flip", "per seed (best)"):
        pairs.add_column(col, justify="right")
    for key, p in summary["paired"].items():
        pairs.add_row(
            key, ",".join(map(str, p["seeds"])), *(_fmt(p.get(s), signed=True) for s in SCORES),
            " ".join(f"{v:+.4f}" for v in p["best"]["values"]) if "best" in p else "-",
        )  # fmt: skip
    console.print(pairs)
    for line in summary["unpaired"]:
        console.print(f"unpaired: {line}", markup=False, highlight=False)
    if args.markdown:
        print(markdown(summary))
    if args.out:
        from wds_edge.io import write_json_atomic

        write_json_atomic(args.out, summary)
        console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
