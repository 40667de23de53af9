"""Starter models side by side on held-out faces: the issue-24 selection rule's figures.

    python scripts/compare_models.py --model old=wds_edge/model/weights/wds_unet_default.onnx \
        --model base16=runs/s24_16/wds_unet_default.onnx \
        --model base8=runs/s24_8/wds_unet_default.onnx \
        --photos ../shared/data/faces_pd/C001131.jpg ... \
        --ages ../shared/data/faces_pd/ages.csv \
        --landmarker ../shared/models/face_landmarker.task --out runs/compare24

Runs every photo (colour, grey, cool; ``--variants`` adds small / glasses) through
``WrinkleAnalyzer`` with each model (:func:`wds_edge_train.placement.measure_photos`), prints one
Markdown table per model with the rule's verdict (:func:`wds_edge_train.selection.rule_verdict`)
and,
when models named ``base8`` and ``base16`` are both given, which one the rule ships
(:func:`wds_edge_train.selection.width_choice`). Writes OUT/compare.json and small overlays
(OUT/<model>_<photo>.png: the 640 crop at 256 px, predicted wrinkles in green).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wds_edge.errors import WdsEdgeError  # noqa: E402
from wds_edge.io import ensure_writable_dir, write_image_atomic, write_json_atomic  # noqa: E402
from wds_edge_train.placement import FaceMeasure, measure_photos  # noqa: E402
from wds_edge_train.selection import read_ages, rule_verdict, width_choice  # noqa: E402


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def table(name: str, measures: list[FaceMeasure], ages: dict[str, float]) -> str:
    by = {(m.photo, m.variant): m for m in measures}
    lines = [
        f"### {name}",
        "",
        "| photo | age | variant | status | score % | x colour | predicted px | inside % | off % "
        "| forehead | glabella | crow's feet L/R | under-eye L/R |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in measures:
        colour = by[(m.photo, "colour")].score if (m.photo, "colour") in by else math.nan
        r = m.region_ratios

        def pct(k: str, r: dict[str, float] = r) -> str:
            return f"{100 * r[k]:.2f}" if k in r else "-"

        lines.append(
            f"| {m.photo} | {ages.get(m.photo, math.nan):.0f} | {m.variant} | {m.status} | "
            f"{100 * m.score:.2f} | "
            f"{_ratio(m.score, colour):.2f} | {m.predicted_px} | "
            f"{100 * _ratio(m.inside_px, m.predicted_px):.1f} | "
            f"{100 * _ratio(m.off_px, m.predicted_px):.1f} | {pct('forehead')} | "
            f"{pct('glabella')} | {pct('left_crows_feet')}/{pct('right_crows_feet')} | "
            f"{pct('left_under_eye')}/{pct('right_under_eye')} |"
        )
    v = rule_verdict(measures, ages)
    lines += [
        "",
        f"rho(age, score) {v['rho']:.3f} (>= 0.5: {v['age']}); 70+ / under-50 "
        f"{v['old_young_ratio']:.2f} ({100 * v['old_mean']:.3f} % / {100 * v['young_mean']:.3f} %, "
        f">= 1.5: {v['older_vs_younger']}); placement inside {100 * v['inside']:.1f} %, off "
        f"{100 * v['off']:.1f} % ({v['placement']}); grey {v['grey']}, cool {v['cool']}; left out "
        f"{v['left_out'] or 'none'} -> passes {v['passes']}",
    ]
    return "\n".join(lines)


def parse_models(specs: list[str]) -> dict[str, str]:
    """``NAME=path.onnx`` entries -> {name: path}.

    Raises:
        ValueError: an entry without a name, a name given twice, no such file.
    """
    models: dict[str, str] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--model {spec!r}: expected NAME=path.onnx, e.g. base16={spec}")
        if name in models:
            raise ValueError(f"--model names must differ: {name!r} is given twice")
        if not Path(path).is_file():
            raise ValueError(f"--model {spec!r}: {path}: no such file")
        models[name] = path
    return models


def main(argv: list[str] | None = None) -> int:
    """The command; a wds-edge error (a missing landmarker, an unreadable photo) is one line on
    stderr and exit status 2."""
    try:
        return _main(argv)
    except WdsEdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", action="append", required=True, help="NAME=path.onnx (repeat)")
    ap.add_argument("--photos", nargs="+", required=True)
    ap.add_argument("--landmarker", default=None)
    ap.add_argument("--variants", default="colour,grey,cool")
    ap.add_argument("--ages", type=Path, required=True, help="CSV with file,age_years")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    try:
        models = parse_models(args.model)
    except ValueError as exc:
        ap.error(str(exc))
    missing = [p for p in [args.ages, *args.photos] if not Path(p).is_file()]
    if missing:
        ap.error(f"no such file: {', '.join(map(str, missing))}")
    ensure_writable_dir(args.out, "comparison")  # before every model has run
    ages = read_ages(args.ages)
    doc: dict[str, dict[str, object]] = {}
    for name, path in models.items():
        overlays: dict[tuple[str, str], object] = {}
        ms = measure_photos(
            path, args.photos, args.landmarker, args.variants.split(","), masks_out=overlays
        )
        for (photo, variant), over in overlays.items():
            if variant == "colour":
                small = cv2.resize(over, (256, 256), interpolation=cv2.INTER_AREA)
                write_image_atomic(args.out / f"{name}_{Path(photo).stem}.png", small)
        verdict = rule_verdict(ms, ages)
        doc[name] = {"model": path, "measures": [m.to_dict() for m in ms], "verdict": verdict}
        print(table(name, ms, ages), "\n", flush=True)
    if "base8" in doc and "base16" in doc:
        choice = width_choice(doc["base8"]["verdict"], doc["base16"]["verdict"])  # type: ignore[arg-type]
        doc["width_choice"] = {"ships": choice}
        print(f"width: the rule ships {choice}")
    write_json_atomic(args.out / "compare.json", doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
