"""The starter model's selection rule of issue 24 (``docs/starter_model_selection_rule.md``),
as code: a verdict from :class:`wds_edge_train.placement.FaceMeasure` values and the faces' ages.

The rule was written down before any candidate was trained; this module only evaluates it.
Conditions, on the held-out faces a model scored (colour status ``ok``):

1. Spearman rho(age, score) >= :data:`MIN_RHO`;
2. mean score of the faces aged >= :data:`OLD_AGE` >= :data:`MIN_OLD_YOUNG_RATIO` x the mean
   score of the faces under :data:`YOUNG_AGE`;
3. pooled placement: ``inside`` >= :data:`MIN_INSIDE` and ``off`` <= :data:`MAX_OFF`;
4. per face, grey and cool variants within a factor of 2 of the colour score, or refused
   with a status (no silent zero).

With more than :data:`MAX_LEFT_OUT` faces left out (colour not ``ok``) the rule cannot be
applied. :func:`width_choice` is the rule's base-8 vs base-16 decision.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from wds_edge.errors import InvalidInputError
from wds_edge_train.placement import FaceMeasure, pooled_placement

__all__ = [
    "MIN_RHO",
    "MIN_OLD_YOUNG_RATIO",
    "MIN_INSIDE",
    "MAX_OFF",
    "OLD_AGE",
    "YOUNG_AGE",
    "MAX_LEFT_OUT",
    "read_ages",
    "spearman_rho",
    "rule_verdict",
    "width_choice",
]

MIN_RHO = 0.5
MIN_OLD_YOUNG_RATIO = 1.5
MIN_INSIDE = 0.80
MAX_OFF = 0.10
OLD_AGE = 70
YOUNG_AGE = 50
MAX_LEFT_OUT = 3
#: Base 8 ships instead of base 16 when it keeps within these margins of base 16.
RHO_MARGIN = 0.10
RATIO_MARGIN = 0.85
INSIDE_MARGIN = 0.05


def read_ages(csv_path: str | Path) -> dict[str, float]:
    """``{file name: age in years}`` from an ``ages.csv`` (columns ``file``, ``age_years``)."""
    path = Path(csv_path)
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            if not {"file", "age_years"} <= set(reader.fieldnames or ()):
                raise KeyError(f"columns are {reader.fieldnames}")
            return {row["file"]: float(row["age_years"]) for row in reader}
    except (OSError, KeyError, ValueError) as exc:
        raise InvalidInputError(
            f"{path}: expected a CSV with columns file,age_years ({exc})"
        ) from exc


def spearman_rho(x: Iterable[float], y: Iterable[float]) -> float:
    """Spearman's rank correlation (ties get their mean rank), via SciPy."""
    from scipy.stats import spearmanr

    xs, ys = list(x), list(y)
    if len(xs) != len(ys) or len(xs) < 3:
        raise InvalidInputError(f"need >= 3 paired values, got {len(xs)} and {len(ys)}")
    rho = spearmanr(xs, ys).statistic
    return float(rho) if rho == rho else math.nan  # constant input: NaN


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else (math.inf if a > 0 else math.nan)


def rule_verdict(measures: list[FaceMeasure], ages: dict[str, float]) -> dict[str, Any]:
    """Evaluate the rule on one model's measures (colour, grey and cool variants).

    Returns:
        A JSON-able dict: ``faces`` / ``left_out``, ``rho``, ``old_young_ratio`` (with the
        group means), ``inside`` / ``off``, ``grey_ok`` / ``cool_ok`` (with the failing
        faces), one boolean per condition and ``passes``.
    """
    colour = {m.photo: m for m in measures if m.variant == "colour"}
    unknown = sorted(p for p in colour if p not in ages)
    if unknown:
        raise InvalidInputError(f"no age for {unknown}; add them to the ages CSV")
    scored = {p: m for p, m in colour.items() if m.status == "ok"}
    left_out = sorted(set(colour) - set(scored))
    applicable = len(left_out) <= MAX_LEFT_OUT and len(scored) >= 3
    names = sorted(scored)
    rho = spearman_rho([ages[p] for p in names], [scored[p].score for p in names]) if (
        len(names) >= 3) else math.nan  # fmt: skip
    old = [scored[p].score for p in names if ages[p] >= OLD_AGE]
    young = [scored[p].score for p in names if ages[p] < YOUNG_AGE]
    old_mean = sum(old) / len(old) if old else math.nan
    young_mean = sum(young) / len(young) if young else math.nan
    ratio = _ratio(old_mean, young_mean) if old and young else math.nan
    place = pooled_placement([scored[p] for p in names], "colour")
    failing: dict[str, list[str]] = {"grey": [], "cool": []}
    for variant in failing:
        for m in measures:
            if m.variant != variant or m.photo not in scored or m.status != "ok":
                continue  # refused with a status: no silent zero
            if not 0.5 <= _ratio(m.score, scored[m.photo].score) <= 2.0:
                failing[variant].append(m.photo)
    seen = {v: {m.photo for m in measures if m.variant == v} for v in failing}
    checks = {
        "age": bool(rho >= MIN_RHO),
        "older_vs_younger": bool(ratio >= MIN_OLD_YOUNG_RATIO),
        "placement": bool(place["inside"] >= MIN_INSIDE and place["off"] <= MAX_OFF),
        "grey": not failing["grey"] and seen["grey"] >= set(scored),
        "cool": not failing["cool"] and seen["cool"] >= set(scored),
    }
    return {
        "faces": names, "left_out": left_out, "applicable": applicable,
        "rho": rho, "old_mean": old_mean, "young_mean": young_mean, "old_young_ratio": ratio,
        "n_old": len(old), "n_young": len(young),
        "inside": place["inside"], "off": place["off"],
        "grey_failing": failing["grey"], "cool_failing": failing["cool"],
        **checks, "passes": applicable and all(checks.values()),
    }  # fmt: skip


def width_choice(base8: dict[str, Any] | None, base16: dict[str, Any] | None) -> str:
    """Which candidate ships: ``"base8"``, ``"base16"`` or ``"none"`` (1.0.0 stays).

    Both pass: base 8 if rho8 >= rho16 - 0.10, ratio8 >= 0.85 x ratio16 and inside8 >=
    inside16 - 5 points, else base 16. One passes: that one. None: ``"none"``.
    """
    ok8 = bool(base8 and base8["passes"])
    ok16 = bool(base16 and base16["passes"])
    if ok8 and ok16 and base8 is not None and base16 is not None:
        within = (
            base8["rho"] >= base16["rho"] - RHO_MARGIN
            and base8["old_young_ratio"] >= RATIO_MARGIN * base16["old_young_ratio"]
            and base8["inside"] >= base16["inside"] - INSIDE_MARGIN
        )
        return "base8" if within else "base16"
    return "base8" if ok8 else "base16" if ok16 else "none"
