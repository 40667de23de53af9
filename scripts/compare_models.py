"""Old vs new starter model on face photos: placement, region scores, grey / cool / small faces.

    python scripts/compare_models.py --model old=wds_edge/model/weights/wds_unet_default.onnx \
        --model new=runs/starter16/wds_unet_default.onnx \
        --photos ../shared/data/faces/obama2.jpg ../shared/data/faces/ffhq_00016.png \
        --landmarker ../shared/models/face_landmarker.task --out runs/compare

Prints one markdown table per model (and the selection rule's verdict for each,
docs/starter_model_selection_rule.md) and writes OUT/compare.json and small overlay PNGs
(OUT/<model>_<photo>.png: the 640 crop at 256 px, predicted wrinkles in green).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from train.placement import FaceMeasure, measure_photos, pooled_placement  # noqa: E402
from wds_edge.io import write_image_atomic, write_json_atomic  # noqa: E402

OLDER = ("obama2.jpg",)
YOUNG = ("ffhq_00016.png", "ffhq_00117.png")


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def verdict(measures: list[FaceMeasure]) -> dict[str, object]:
    """The selection rule (docs/starter_model_selection_rule.md) on one model's measures."""
    by = {(m.photo, m.variant): m for m in measures}
    place = pooled_placement(measures, "colour")
    r1 = place["inside"] >= 0.80 and place["off"] <= 0.10
    old = [by[(p, "colour")].score for p in OLDER if (p, "colour") in by]
    young = [by[(p, "colour")].score for p in YOUNG if (p, "colour") in by]
    r2 = bool(old and young and min(old) > max(young))
    checks: dict[str, bool] = {}
    for variant in ("grey", "cool"):
        measured = [(photo, m) for (photo, v), m in by.items() if v == variant]
        ok = bool(measured)  # a variant that was not run does not pass
        for photo, m in measured:
            colour = by[(photo, "colour")].score
            if m.status != "ok":
                continue  # a status that says why is no silent zero
            ok &= 0.5 <= _ratio(m.score, colour) <= 2.0
        checks[variant] = ok
    return {
        "inside": place["inside"], "off": place["off"], "rule1_placement": r1,
        "rule2_older_higher": r2, "rule3_grey": checks.get("grey", False),
        "rule4_cool": checks.get("cool", False),
        "passes": r1 and r2 and checks.get("grey", False) and checks.get("cool", False),
    }  # fmt: skip


def table(name: str, measures: list[FaceMeasure]) -> str:
    by = {(m.photo, m.variant): m for m in measures}
    lines = [
        f"### {name}",
        "",
        "| photo | variant | status | score % | x colour | predicted px | inside % | off % "
        "| forehead | glabella | crow's feet L/R | under-eye L/R |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in measures:
        colour = by[(m.photo, "colour")].score if (m.photo, "colour") in by else math.nan
        r = m.region_ratios

        def pct(k: str, r: dict[str, float] = r) -> str:
            return f"{100 * r[k]:.2f}" if k in r else "-"

        lines.append(
            f"| {m.photo} | {m.variant} | {m.status} | {100 * m.score:.2f} | "
            f"{_ratio(m.score, colour):.2f} | {m.predicted_px} | "
            f"{100 * _ratio(m.inside_px, m.predicted_px):.1f} | "
            f"{100 * _ratio(m.off_px, m.predicted_px):.1f} | {pct('forehead')} | "
            f"{pct('glabella')} | {pct('left_crows_feet')}/{pct('right_crows_feet')} | "
            f"{pct('left_under_eye')}/{pct('right_under_eye')} |"
        )
    v = verdict(measures)
    lines += [
        "",
        f"pooled colour placement: inside {100 * v['inside']:.1f} %, off {100 * v['off']:.1f} %; "
        f"rule: placement {v['rule1_placement']}, older higher {v['rule2_older_higher']}, "
        f"grey {v['rule3_grey']}, cool {v['rule4_cool']} -> passes {v['passes']}",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", action="append", required=True, help="NAME=path.onnx (repeat)")
    ap.add_argument("--photos", nargs="+", required=True)
    ap.add_argument("--landmarker", default=None)
    ap.add_argument("--variants", default="colour,grey,cool,small,glasses")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    doc: dict[str, object] = {}
    for spec in args.model:
        name, _, path = spec.partition("=")
        overlays: dict[tuple[str, str], object] = {}
        ms = measure_photos(
            path, args.photos, args.landmarker, args.variants.split(","), masks_out=overlays
        )
        for (photo, variant), over in overlays.items():
            if variant == "colour":
                small = cv2.resize(over, (256, 256), interpolation=cv2.INTER_AREA)
                write_image_atomic(args.out / f"{name}_{Path(photo).stem}.png", small)
        doc[name] = {"model": path, "measures": [m.to_dict() for m in ms], "verdict": verdict(ms)}
        print(table(name, ms), "\n", flush=True)
    write_json_atomic(args.out / "compare.json", doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
