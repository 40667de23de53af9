"""Does a distilled student reproduce its teacher on held-out faces? (issue 25)

Applies the rule of docs/starter_model_selection_rule.md, "Issue 25: a distilled, faster copy
of 1.0.0": each photo goes through :class:`~wds_edge.analysis.analyzer.WrinkleAnalyzer`
(ONNX Runtime FP32, default configuration) once with the teacher and once with the student;
both see the same landmarks and therefore the same kiosk crop. Printed per face: status, mask
IoU (whole crop), overall and region scores of both; then the rule's conditions 1-4
(condition 5, BF16 against the student's own FP32, is `wds-edge bench compare`).

  .venv/bin/python scripts/distill_check.py --student runs/distill/student.onnx \\
      --images runs/distill/heldout --landmarker ../shared/models/face_landmarker.task \\
      --json runs/distill/check.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.compare import DEFAULT_REPEATABILITY, Z95
from wds_edge.analysis.config import AnalyzerConfig
from wds_edge.errors import WdsEdgeError
from wds_edge.io import ensure_writable_file, read_image, write_json_atomic
from wds_edge.model.bundled import default_model_path
from wds_edge.model.metrics import mask_iou
from wds_edge_train.selection import spearman_rho

#: Condition 1: 1.0.0's own mask IoU between consecutive clip frames (the rule's yardstick).
MIN_MEAN_IOU = 0.431
#: Conditions 2 and 3: a single photo's change that `wds-edge compare` calls within noise.
_FRAME = DEFAULT_REPEATABILITY["regions"]["overall"]
MAX_ABS_DIFF = Z95 * math.sqrt(2.0) * _FRAME["frame_sd"]
MAX_REL_BIAS = Z95 * math.sqrt(2.0) * _FRAME["frame_cv"]
#: Condition 4.
MIN_RHO = 0.9
SUFFIXES = {".jpg", ".jpeg", ".png"}


def load_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _analyse(model: Path, images: list[Path], landmarker: str | None) -> dict[str, Any]:
    config = AnalyzerConfig(
        model_path=str(model), backend="onnxruntime", precision="fp32", landmarker_path=landmarker
    )
    out = {}
    with WrinkleAnalyzer(config) as analyzer:
        for path in images:
            out[path.name] = analyzer.analyze(read_image(path))
    return out


def face_rows(teacher: Path, student: Path, images: list[Path], landmarker: str | None) -> list:
    """One row per photo: status, mask IoU, teacher and student scores (when scored)."""
    t_res, s_res = _analyse(teacher, images, landmarker), _analyse(student, images, landmarker)
    faces = []
    for path in images:
        t, s = t_res[path.name], s_res[path.name]
        row: dict[str, Any] = {"face": path.name, "status": str(t.status.value)}
        if t.wrinkle_mask is not None and s.wrinkle_mask is not None:
            row["iou"] = mask_iou(t.wrinkle_mask, s.wrinkle_mask)
            row["teacher_mask_px"] = int(t.wrinkle_mask.sum())
            row["student_mask_px"] = int(s.wrinkle_mask.sum())
        if t.ok and t.segmented:
            row["teacher"] = {k: v.wrinkle_ratio for k, v in t.scores.items()}
            row["student"] = {k: v.wrinkle_ratio for k, v in s.scores.items()}
        faces.append(row)
    return faces


def conditions(faces: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The rule's conditions 1-4 over these rows (scored faces only for 2-4)."""
    ious = [f["iou"] for f in faces if "iou" in f]
    scored = [f for f in faces if "teacher" in f]
    if len(scored) < 3:
        raise ValueError(f"{len(scored)} scored faces; the rule needs at least 3")
    t_all = np.array([f["teacher"]["overall"] for f in scored])
    s_all = np.array([f["student"]["overall"] for f in scored])
    max_diff = float(np.abs(s_all - t_all).max())
    ratio = float(s_all.mean() / t_all.mean())
    rho = spearman_rho(t_all, s_all)
    mean_iou = float(np.mean(ious))
    return {
        "1_mean_iou": {"value": mean_iou, "limit": MIN_MEAN_IOU, "met": mean_iou >= MIN_MEAN_IOU},
        "2_max_abs_overall_diff": {
            "value": max_diff,
            "limit": MAX_ABS_DIFF,
            "met": max_diff <= MAX_ABS_DIFF,
        },
        "3_mean_ratio": {
            "value": ratio,
            "limit": [1 - MAX_REL_BIAS, 1 + MAX_REL_BIAS],
            "met": abs(ratio - 1.0) <= MAX_REL_BIAS,
        },
        "4_spearman_rho": {"value": rho, "limit": MIN_RHO, "met": rho >= MIN_RHO},
    }


def report_of(faces: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """Rows + conditions; a fold with fewer than 3 scored faces keeps its rows for --pool."""
    try:
        conds = conditions(faces)
    except ValueError as exc:
        return {**fields, "faces": faces, "conditions": None, "all_met": False, "note": str(exc)}
    return {
        **fields,
        "faces": faces,
        "conditions": conds,
        "all_met": all(c["met"] for c in conds.values()),
    }


def main(argv: list[str] | None = None) -> int:
    """The command; a wds-edge error (a missing model or landmarker, an unreadable photo)
    is one line on stderr and exit status 2."""
    try:
        return _main(argv)
    except WdsEdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--student", type=Path, default=None)
    ap.add_argument("--teacher", type=Path, default=None, help="default: the bundled model")
    ap.add_argument("--images", type=Path, default=None, help="folder of held-out photos")
    ap.add_argument(
        "--pool", nargs="+", type=Path, default=None, help="pool the rows of these --json reports"
    )
    ap.add_argument("--landmarker", default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    for path in args.pool or []:
        if not path.is_file():
            ap.error(f"--pool {path}: no such report")
    if args.json is not None:
        ensure_writable_file(args.json, "JSON report")  # before two models run
    if args.pool:
        faces = []
        for path in args.pool:
            faces += [
                dict(f, face=f"{path.parent.name}/{f['face']}") for f in load_json(path)["faces"]
            ]
        report = report_of(faces, pooled=[str(p) for p in args.pool])
    else:
        if args.student is None or args.images is None:
            ap.error("give --student and --images, or --pool REPORT.json ...")
        if not args.images.is_dir():
            ap.error(f"--images {args.images}: no such folder (a folder of held-out photos)")
        for option, model in (("--student", args.student), ("--teacher", args.teacher)):
            if model is not None and not model.is_file():
                ap.error(f"{option} {model}: no such model file")
        images = sorted(p for p in args.images.iterdir() if p.suffix.lower() in SUFFIXES)
        if not images:
            ap.error(f"{args.images} holds no .jpg / .png photos")
        teacher = args.teacher or Path(default_model_path())
        faces = face_rows(teacher, args.student, images, args.landmarker)
        report = report_of(faces, teacher=str(teacher), student=str(args.student))
    regions = ["forehead", "glabella", "left_crows_feet", "right_crows_feet"]
    regions += ["left_under_eye", "right_under_eye"]
    print(
        "| face | status | mask IoU | overall teacher / student (%) | regions teacher / student |"
    )
    print("|---|---|---|---|---|")
    for f in report["faces"]:
        scores = "-"
        if "teacher" in f:
            t, s = f["teacher"], f["student"]
            ov = f"{100 * t['overall']:.2f} / {100 * s['overall']:.2f}"
            scores = ", ".join(f"{100 * t.get(r, 0):.1f}/{100 * s.get(r, 0):.1f}" for r in regions)
        else:
            ov = "-"
        iou_text = f"{f['iou']:.3f}" if "iou" in f else "-"
        print(f"| {f['face']} | {f['status']} | {iou_text} | {ov} | {scores} |")
    if report["conditions"] is None:
        print(f"conditions not computed: {report['note']} (pool this report with others)")
    for name, c in (report["conditions"] or {}).items():
        print(f"{name}: {c['value']:.4f} (limit {c['limit']}) -> {'met' if c['met'] else 'FAILS'}")
    print("all met" if report["all_met"] else "not all met: the teacher stays")
    if args.json:
        write_json_atomic(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
