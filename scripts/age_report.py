"""Does a wrinkle measure track age? Weak labels, classic filters and models side by side.

    python scripts/age_report.py --labels runs/s24/labels_heldout \
        --ages ../shared/data/faces_pd/ages.csv --compare runs/compare24/compare.json \
        --out runs/age_report.json
    python scripts/age_report.py --labels runs/s24/labels_heldout --labels runs/s24/labels_train \
        --ages ../shared/data/faces_pd/ages.csv --by-region --no-baselines

For every face of a ``wds-edge label --auto`` folder (kiosk crops with their landmarks) it
measures, inside the same skin-only scoring area the analyzer counts (the union of the six
regions minus the exclusion zones, :func:`wds_edge.perception.skin_regions.skin_regions`):

* ``label``: the weak label's density (what the models learned from);
* ``frangi`` and ``gabor``: the classic baselines' density (``wds_edge_train.baselines``, Otsu
  threshold inside the area);
* each model of a ``scripts/compare_models.py`` JSON: its ``overall`` score on the colour photo.

With ``--by-region`` the weak label's density (and each model's ratio) is also given per
counted region: which part of the face carries the age signal, and which marks every face
alike. ``--labels`` may be given more than once (e.g. the held-out and the training faces).

It prints, per measure, Spearman's rho with age and the ratio of the mean of the faces aged
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
from wds_edge.perception.regions import REGION_NAMES  # noqa: E402
from wds_edge.perception.skin_regions import skin_regions  # noqa: E402
from wds_edge_train.baselines import baseline_segment  # noqa: E402
from wds_edge_train.selection import OLD_AGE, YOUNG_AGE, read_ages, spearman_rho  # noqa: E402


def _densities(folder: Path, stem: str, by_region: bool, baselines: bool) -> dict[str, float]:
    crop = cv2.cvtColor(cv2.imread(str(folder / "images" / f"{stem}.png")), cv2.COLOR_BGR2RGB)
    label = cv2.imread(str(folder / "masks" / f"{stem}.png"), cv2.IMREAD_GRAYSCALE) > 0
    lm = np.asarray(
        json.loads((folder / "landmarks" / f"{stem}.json").read_text())["landmarks_crop_px"]
    )
    regions = skin_regions(crop, lm)
    area = regions.overall
    n = max(1, int(area.sum()))
    out = {"label": float((label & area).sum() / n)}
    if by_region:
        for name in REGION_NAMES:
            region = regions.masks[name]
            out[f"label {name}"] = float((label & region).sum() / max(1, int(region.sum())))
    for method in ("frangi", "gabor") if baselines else ():
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
    ap.add_argument(
        "--labels", type=Path, action="append", required=True,
        help="wds-edge label --auto folder (repeat for several)",
    )  # fmt: skip
    ap.add_argument("--ages", type=Path, required=True, help="CSV with file,age_years")
    ap.add_argument("--compare", type=Path, help="compare.json of scripts/compare_models.py")
    ap.add_argument("--out", type=Path, help="write the figures as JSON here")
    ap.add_argument("--by-region", action="store_true", help="also per counted region")
    ap.add_argument("--no-baselines", action="store_true", help="skip the Frangi / Gabor rows")
    args = ap.parse_args()
    ages_by_file = read_ages(args.ages)
    ages = {Path(f).stem: a for f, a in ages_by_file.items()}
    folders = {  # the first folder holding a face wins
        p.stem: folder
        for folder in reversed(args.labels)
        for p in (folder / "masks").glob("*.png")
        if p.stem in ages
    }
    stems = sorted(folders)
    measures: dict[str, dict[str, float]] = {}
    for stem in stems:
        densities = _densities(folders[stem], stem, args.by_region, not args.no_baselines)
        for name, value in densities.items():
            measures.setdefault(name, {})[stem] = value
    if args.compare:
        doc = json.loads(args.compare.read_text())
        for model, entry in doc.items():
            if not isinstance(entry, dict) or "measures" not in entry:
                continue
            ok = [
                m
                for m in entry["measures"]
                if m["variant"] == "colour"
                and m["status"] == "ok"
                and Path(m["photo"]).stem in ages
            ]
            measures[f"model {model}"] = {Path(m["photo"]).stem: m["score"] for m in ok}
            for name in REGION_NAMES if args.by_region else ():
                measures[f"model {model} {name}"] = {
                    Path(m["photo"]).stem: m["region_ratios"][name] for m in ok
                }
    rows = {}
    for name, values in measures.items():
        keys = sorted(values)
        rho = (
            spearman_rho([ages[k] for k in keys], [values[k] for k in keys])
            if len(keys) >= 3
            else math.nan
        )
        mean = float(np.mean(list(values.values()))) if values else math.nan
        rows[name] = {"rho": rho, "old_young_ratio": _group_ratio(values, ages), "n": len(keys),
                      "mean": mean, "values": values}  # fmt: skip
    # Faces x whole-area measures (the per-region ones would make it unreadably wide) ...
    whole = [m for m in measures if not any(m.endswith(f" {r}") for r in REGION_NAMES)]
    print("| face | age | " + " | ".join(whole) + " |")
    print("|---|---|" + "---|" * len(whole))
    for stem in sorted(stems, key=lambda s: ages[s]):
        cells = [f"{100 * measures[m][stem]:.2f}" if stem in measures[m] else "-" for m in whole]
        print(f"| {stem} | {ages[stem]:.0f} | " + " | ".join(cells) + " |")
    # ... then every measure's statistics, one row each.
    print("\n| measure | rho(age, ·) | 70+ / under 50 | mean % | faces |\n|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['rho']:+.2f} | {r['old_young_ratio']:.2f} | {100 * r['mean']:.2f} "
              f"| {r['n']} |")  # fmt: skip
    if args.out:
        write_json_atomic(args.out, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
