"""Does a wrinkle measure track age? Weak labels, classic filters and models side by side.

    python scripts/age_report.py --labels runs/s24/labels_heldout \
        --ages ../shared/data/faces_pd/ages.csv --compare runs/compare24/compare.json \
        --out runs/age_report.json

For every face of a ``wds-edge label --auto`` folder (kiosk crops with their landmarks) it
measures, inside the same skin-only scoring area the analyzer counts (the union of the six
regions minus the exclusion zones, :func:`wds_edge.perception.skin_regions.skin_regions`):

* ``label``: the weak label's density (what the models learned from);
* ``frangi`` and ``gabor``: the classic baselines' density (``wds_edge_train.baselines``, Otsu
  threshold inside the area);
* each model of a ``scripts/compare_models.py`` JSON: its ``overall`` score on the colour photo.

and prints, per measure, Spearman's rho with age and the ratio of the mean of the faces aged
70 and over to the mean of those under 50 (the selection rule's statistics,
:mod:`wds_edge_train.selection`). No threshold is tuned here: it only reports.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wds_edge.io import write_json_atomic  # noqa: E402
from wds_edge.perception.skin_regions import skin_regions  # noqa: E402
from wds_edge_train.baselines import baseline_segment  # noqa: E402
from wds_edge_train.selection import OLD_AGE, YOUNG_AGE, read_ages, spearman_rho  # noqa: E402


def _densities(folder: Path, stem: str) -> dict[str, float]:
    crop = cv2.cvtColor(cv2.imread(str(folder / "images" / f"{stem}.png")), cv2.COLOR_BGR2RGB)
    label = cv2.imread(str(folder / "masks" / f"{stem}.png"), cv2.IMREAD_GRAYSCALE) > 0
    lm = np.asarray(
        json.loads((folder / "landmarks" / f"{stem}.json").read_text())["landmarks_crop_px"]
    )
    area = skin_regions(crop, lm).overall
    n = max(1, int(area.sum()))
    out = {"label": float((label & area).sum() / n)}
    for method in ("frangi", "gabor"):
        pred = baseline_segment(crop, "hessian" if method == "frangi" else "gabor", area=area)
        out[method] = float(pred.sum() / n)
    return out


def _group_ratio(values: dict[str, float], ages: dict[str, float]) -> float:
    old = [v for k, v in values.items() if ages[k] >= OLD_AGE]
    young = [v for k, v in values.items() if ages[k] < YOUNG_AGE]
    if not old or not young or sum(young) == 0:
        return math.nan
    return (sum(old) / len(old)) / (sum(young) / len(young))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--labels", type=Path, required=True, help="wds-edge label --auto folder")
    ap.add_argument("--ages", type=Path, required=True, help="CSV with file,age_years")
    ap.add_argument("--compare", type=Path, help="compare.json of scripts/compare_models.py")
    ap.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = ap.parse_args()
    ages_by_file = read_ages(args.ages)
    ages = {Path(f).stem: a for f, a in ages_by_file.items()}
    stems = sorted(p.stem for p in (args.labels / "masks").glob("*.png") if p.stem in ages)
    measures: dict[str, dict[str, float]] = {"label": {}, "frangi": {}, "gabor": {}}
    for stem in stems:
        for name, value in _densities(args.labels, stem).items():
            measures[name][stem] = value
    if args.compare:
        doc = json.loads(args.compare.read_text())
        for model, entry in doc.items():
            if not isinstance(entry, dict) or "measures" not in entry:
                continue
            measures[f"model {model}"] = {
                Path(m["photo"]).stem: m["score"]
                for m in entry["measures"]
                if m["variant"] == "colour"
                and m["status"] == "ok"
                and Path(m["photo"]).stem in ages
            }
    rows = {}
    for name, values in measures.items():
        keys = sorted(values)
        rho = (
            spearman_rho([ages[k] for k in keys], [values[k] for k in keys])
            if len(keys) >= 3
            else math.nan
        )
        rows[name] = {"rho": rho, "old_young_ratio": _group_ratio(values, ages), "n": len(keys),
                      "values": values}  # fmt: skip
    print("| face | age | " + " | ".join(measures) + " |")
    print("|---|---|" + "---|" * len(measures))
    for stem in sorted(stems, key=lambda s: ages[s]):
        cells = [f"{100 * measures[m][stem]:.2f}" if stem in measures[m] else "-" for m in measures]
        print(f"| {stem} | {ages[stem]:.0f} | " + " | ".join(cells) + " |")
    print("| **rho(age, ·)** | | " + " | ".join(f"{r['rho']:+.2f}" for r in rows.values()) + " |")
    print(
        "| **70+ / under 50** | | "
        + " | ".join(f"{r['old_young_ratio']:.2f}" for r in rows.values())
        + " |"
    )
    if args.out:
        write_json_atomic(args.out, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
